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
import { createConnection, createServer } from 'net';
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

/** `storeDir`: its files (JetStream's store included) there, kept across restarts; none: a temp dir, removed on stop. */
export async function startNatsServer(opts: { port?: number; bin?: string; jetstream?: boolean; securityDir?: string; storeDir?: string } = {}): Promise<NatsServer> {
  const port = opts.port ?? (await freePort());
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

/** Spawns `nats-server` with `args`; resolves once it listens on `port`, or kills it and rejects. */
export async function spawnNatsServer(bin: string | undefined, args: readonly string[], port: number): Promise<ChildProcess> {
  const child = spawn(bin ?? 'nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  try {
    await waitUntilListening(child, port, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}

/** Resolves when the port accepts a connection; rejects if the child exits first. */
function waitUntilListening(child: ChildProcess, port: number, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const onExit = (code: number | null) => {
      if (done) return;
      done = true;
      reject(new Error(`nats-server exited (code ${code}) before listening on ${port}: ${log()}`));
    };
    child.once('exit', onExit);
    child.once('error', (err) => { if (!done) { done = true; reject(new Error(`cannot start nats-server: ${err.message}`)); } });
    const attempt = (n: number) => {
      if (done) return;
      const sock = createConnection({ port, host: '127.0.0.1' });
      sock.once('connect', () => { sock.destroy(); done = true; child.off('exit', onExit); resolve(); });
      sock.once('error', () => {
        sock.destroy();
        if (n > 500) { done = true; reject(new Error(`nats-server did not listen on ${port}: ${log()}`)); return; }
        setTimeout(() => attempt(n + 1), 20);
      });
    };
    attempt(0);
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
