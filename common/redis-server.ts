/**
 * Starts a real `redis-server` as a child process: for test suites (each on its own port),
 * and for `agora up`, whose registry and frameworks' state live in it.
 *
 * Without `dir` nothing is persisted (`--save ''`, no AOF) and its dir is a private temp dir,
 * removed on stop. With `dir` it keeps an append-only file there (`appendonly yes`), never
 * removed: started again on the same dir it loads every acknowledged write back, a SIGKILL in
 * between included. Ready means it said "Ready to accept connections" and answered PING (after
 * AUTH, with a password) — no polling.
 *
 * **Why `appendfsync always` is the default** (bench/redis-fsync.bench.ts, docs/benchmarks.md,
 * "Redis AOF fsync"): Agora's rule is that nothing acknowledged may be lost. With `always`
 * Redis fsyncs the AOF before it answers a write, so an acknowledged write survives a crash of
 * the process and of the host. `everysec` answers once the write is in the kernel's page
 * cache: a killed redis-server loses nothing, but a power loss or kernel crash loses up to
 * about a second of acknowledged writes — for the services framework a launch it stored, so
 * after the host comes back it could launch that instance twice. Measured on the development
 * machine (one run, all three modes side by side): a stored launch, one at a time, waits a
 * median 0.35 ms under `always` against 0.05 ms under `everysec` (p99 3.2 against 0.3 ms) —
 * a fraction of a millisecond on a launch that takes tens to hundreds — and sixteen in flight
 * share their fsyncs (Redis fsyncs once for all the writes of an event-loop turn): 300 took
 * 26 ms against 23 ms. So the safe mode is the default; `agora up --redis URL` is for those
 * who choose otherwise (docs/production-redis.md).
 *
 * A password (`requirepass`) is given to redis-server on its standard input, never on its
 * command line (which every user of the machine can read in `ps`).
 *
 * With `replicaOf` it starts as a replica of that primary, authenticating with the same
 * password (`masterauth`; every node of a replicated set shares one). `startRedisProcess` is
 * the spawn-and-wait-until-ready underneath, reused for `redis-server --sentinel`
 * (common/redis-sentinel.ts).
 */
import { spawn, type ChildProcess } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'fs';
import { createConnection } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort, stopChild } from './nats-server';

/** How often Redis fsyncs its append-only file (redis.conf `appendfsync`). */
export type AppendFsync = 'always' | 'everysec' | 'no';
export const APPEND_FSYNC_MODES: readonly AppendFsync[] = ['always', 'everysec', 'no'];
/** See the header: nothing acknowledged may be lost, and the bench says it costs little. */
export const DEFAULT_APPEND_FSYNC: AppendFsync = 'always';

export interface RedisServerOptions {
  port?: number;
  bin?: string;
  /** Where it keeps its append-only file, kept across restarts; none: nothing persisted, a temp dir. */
  dir?: string;
  /** With `dir`: how often the AOF is fsynced (default DEFAULT_APPEND_FSYNC). */
  appendfsync?: AppendFsync;
  /** Every client must AUTH with it (`requirepass`); it is in `url`. */
  password?: string;
  /**
   * A process group of its own: a Ctrl-C at the terminal then reaches only `agora up`, which
   * stops Redis last, after everything that writes to it.
   */
  detached?: boolean;
  /** Start as a replica of this primary (`replicaof`), authenticating with `password` (`masterauth`). */
  replicaOf?: { host: string; port: number };
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, with `:<password>@` when it has one. */
  url: string;
  port: number;
  pid: number;
  /** Stops it (SIGTERM: Redis fsyncs its AOF and exits), then removes its dir if it was a temp one. */
  stop(): Promise<void>;
  /** SIGKILL, resolved once it has exited: a crash, for tests and chaos. Its dir stays (`stop` removes a temp one). */
  kill(): Promise<void>;
}

export class RedisServerError extends Error {
  override readonly name = 'RedisServerError';
}

/** The redis.conf lines for these options; the password goes on stdin, so it is here and nowhere else. */
export function redisServerConfig(port: number, dir: string, o: Pick<RedisServerOptions, 'dir' | 'appendfsync' | 'password' | 'replicaOf'>): string {
  const fsync = o.appendfsync ?? DEFAULT_APPEND_FSYNC;
  if (!APPEND_FSYNC_MODES.includes(fsync)) {
    throw new RedisServerError(`appendfsync must be one of ${APPEND_FSYNC_MODES.join(', ')}, got '${String(fsync)}'`);
  }
  if (o.password !== undefined && !/^[\x21-\x7e]+$/.test(o.password)) {
    throw new RedisServerError('a Redis password must be printable ASCII without spaces');
  }
  const primary = o.replicaOf;
  if (primary && (!/^[\w.:-]+$/.test(primary.host) || !Number.isInteger(primary.port) || primary.port < 1 || primary.port > 65535)) {
    throw new RedisServerError(`replicaOf must be a host and a port in 1..65535, got ${JSON.stringify(primary)}`);
  }
  return [
    `port ${port}`, 'bind 127.0.0.1', 'save ""', `dir ${JSON.stringify(dir)}`, 'loglevel notice',
    ...(o.dir ? ['appendonly yes', `appendfsync ${fsync}`] : ['appendonly no']),
    ...(o.password !== undefined ? [`requirepass ${JSON.stringify(o.password)}`, `masterauth ${JSON.stringify(o.password)}`] : []),
    // A replica (re)attaching gets its full sync at once, not after Redis's default 5 s wait for others.
    'repl-diskless-sync-delay 0',
    ...(primary ? [`replicaof ${primary.host} ${primary.port}`] : []),
    '',
  ].join('\n');
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePort());
  redisServerConfig(port, '', opts); // bad options fail here, before any dir is made
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'agora-redis-'));
  const removeDir = () => { if (!opts.dir) rmSync(dir, { recursive: true, force: true }); };
  if (opts.dir) mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  // `-`: the config comes on stdin (the password with it), ended at once.
  const started = await startRedisProcess({ ...opts, port, args: ['-'], stdin: redisServerConfig(port, dir, opts) }).catch((err: unknown) => {
    removeDir();
    throw err;
  });
  const auth = opts.password !== undefined ? `:${encodeURIComponent(opts.password)}@` : '';
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    pid: started.pid,
    kill: started.kill,
    stop: async () => {
      await started.stop();
      removeDir();
    },
  };
}

export interface RedisProcessOptions {
  port: number;
  /** redis-server's arguments: `['-']` with the config on `stdin`, or a config file (and `--sentinel`). */
  args: string[];
  stdin?: string;
  /** AUTH with it before the ready PING. */
  password?: string;
  bin?: string;
  detached?: boolean;
}

/** A running redis-server (or Sentinel) process. */
export interface RedisProcess {
  pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolved once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL; resolved once it has exited. */
  kill(): Promise<void>;
}

/**
 * Spawns redis-server and resolves once it logged that it is up ("Ready to accept connections",
 * or a Sentinel's "Sentinel ID is") and answered AUTH and PING; killed and rejected otherwise.
 */
export async function startRedisProcess(o: RedisProcessOptions): Promise<RedisProcess> {
  const child = spawn(o.bin ?? 'redis-server', o.args, { stdio: ['pipe', 'pipe', 'pipe'], detached: o.detached ?? false });
  child.stdin?.on('error', () => undefined); // a server that dies at once says why on its exit
  child.stdin?.end(o.stdin ?? '');
  try {
    await waitUntilReady(child, o.port);
    await ping(o.port, o.password);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    pid: child.pid!,
    stop: () => stopChild(child),
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resolves when redis-server logs that it accepts connections; rejects if it exits first. */
function waitUntilReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
      if (output.includes('Ready to accept connections') || output.includes('Sentinel ID is')) finish();
    };
    const onExit = (code: number | null) => finish(new RedisServerError(`redis-server exited (code ${code}) before listening on ${port}: ${output}`));
    const onError = (err: Error) => finish(new RedisServerError(`cannot start redis-server: ${err.message}`));
    function finish(err?: Error) {
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining its output so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      if (err) reject(err);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** One RESP command, safe for any bytes in its arguments. */
const resp = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** AUTH (with a password) and PING over a raw socket: the server answers commands, not just accepts connections. */
function ping(port: number, password: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    const lines = password === undefined ? 1 : 2;
    let reply = '';
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write((password === undefined ? '' : resp('AUTH', password)) + resp('PING')));
    sock.on('data', (d: string) => {
      reply += d;
      if (reply.split('\r\n').length <= lines) return;
      sock.destroy();
      if (reply.endsWith('+PONG\r\n') && !reply.startsWith('-')) resolve();
      else reject(new RedisServerError(`redis-server on ${port} answered AUTH/PING with ${JSON.stringify(reply.split('\r\n')[0])}`));
    });
    sock.once('error', (err) => reject(new RedisServerError(`cannot PING redis-server on ${port}: ${err.message}`)));
  });
}
