/**
 * Starts a real `nats-server` as a child process: for `agora up`, and for every test suite
 * that needs one (each on its own port). JetStream is on, its store in a private temp dir,
 * unless `jetstream: false` (to test what runs without it).
 *
 * With `securityDir` (a locked cluster's folder) it runs from a config file: the cluster's
 * NATS operator and accounts, TLS with the host's certificate, and only authenticated users
 * (common/security/nats-auth.ts). Without, it is open: for `--insecure` clusters.
 */
import { spawn, type ChildProcess } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { natsServerConfig } from './security/nats-auth';

export interface NatsServer {
  url: string;
  port: number;
  /** An outage: the server stops, its state (JetStream's store, the accounts it was sent) kept for `up`. */
  down(): Promise<void>;
  /** The same server back on the same port and state, after `down`. */
  up(): Promise<void>;
  /** The server's process id (it changes with `up`). */
  readonly pid: number;
  /** Stops it for good and removes its state. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface NatsServerOptions { port?: number; bin?: string; jetstream?: boolean; securityDir?: string; storeDir?: string }

/** Free ports tried, when none is given, before giving up: another process may take one between its choice and the bind. */
const PORT_ATTEMPTS = 5;

/** `storeDir`: its files (JetStream's store included) there, kept across restarts; none: a temp dir, removed on stop. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  if (opts.port !== undefined) return startNatsServerOn(opts.port, opts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsServerOn(await freePort(), opts);
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startNatsServerOn(port: number, opts: NatsServerOptions): Promise<NatsServer> {
  if (opts.storeDir) mkdirSync(opts.storeDir, { recursive: true, mode: 0o700 });
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'agora-nats-'));
  const removeStore = () => { if (!opts.storeDir) rmSync(storeDir, { recursive: true, force: true }); };
  const jetstream = opts.jetstream !== false;
  let args: string[];
  if (opts.securityDir) {
    const resolverDir = join(storeDir, 'accounts');
    mkdirSync(resolverDir, { recursive: true });
    const conf = join(storeDir, 'nats-server.conf');
    writeFileSync(conf, natsServerConfig({
      securityDir: opts.securityDir, host: '127.0.0.1', port, resolverDir, ...(jetstream ? { storeDir: join(storeDir, 'js') } : {}),
    }), { mode: 0o600 });
    args = ['-c', conf];
  } else {
    args = ['-a', '127.0.0.1', '-p', String(port), ...(jetstream ? ['-js', '-sd', storeDir] : [])];
  }
  let child: ChildProcess;
  try {
    child = await spawnNatsServer(opts.bin, args, port);
  } catch (err) {
    removeStore();
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    down: () => stopChild(child),
    up: async () => { if (child.exitCode !== null || child.signalCode !== null) child = await spawnNatsServer(opts.bin, args, port); },
    get pid() { return child.pid!; },
    stop: async () => {
      await stopChild(child);
      removeStore();
    },
  };
}

/** How long nats-server may take to say it is ready before it is killed and the start fails. */
const READY_TIMEOUT_MS = 30_000;
/** What nats-server logs once every listener (clients, routes, monitoring) is bound. */
const READY_LINE = 'Server is ready';

/**
 * Spawns `nats-server` with `args`; resolves once it logs that it is ready, or kills it and
 * rejects with its last words. Waiting for its own line, not for a connection to `port`, keeps a
 * port that another process holds from looking like a server that started.
 */
/** `detached`: in a process group of its own, so a terminal's Ctrl-C reaches only its parent, which stops it in its turn. */
export async function spawnNatsServer(bin: string | undefined, args: readonly string[], port: number, o: { detached?: boolean } = {}): Promise<ChildProcess> {
  const child = spawn(bin ?? 'nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'], ...(o.detached ? { detached: true } : {}) });
  try {
    await untilReady(child, port);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}

/** Resolves at nats-server's ready line; rejects if it exits, cannot start, or stays silent too long. */
function untilReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const settle = (err?: Error) => {
      clearTimeout(timer);
      child.off('close', onExit);
      child.stderr?.off('data', onData);
      // Keep draining its log, so a chatty server never blocks on a full pipe.
      child.stderr?.resume();
      if (err) reject(err); else resolve();
    };
    const onData = (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
      if (log.includes(READY_LINE)) settle();
    };
    const onExit = (code: number | null) => settle(new Error(`nats-server exited (code ${code}) before listening on ${port}: ${log}`));
    const timer = setTimeout(() => settle(new Error(`nats-server did not become ready on ${port} within ${READY_TIMEOUT_MS} ms: ${log}`)), READY_TIMEOUT_MS);
    child.stderr?.on('data', onData);
    child.once('close', onExit);
    child.once('error', (err) => settle(new Error(`cannot start nats-server: ${err.message}`)));
  });
}

export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.kill('SIGTERM');
  });
}
