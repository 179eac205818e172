/**
 * Starts a real `redis-server` as a child process, for test suites that need one (each on
 * its own port). Nothing is persisted (`--save ''`, no AOF); its dir is a private temp dir.
 * Ready means it said "Ready to accept connections" and answered PING — no polling.
 */
import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { createConnection } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort, stopChild } from './nats-server';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRedisServer(opts: { port?: number; bin?: string } = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'agora-redis-'));
  const child = spawn(opts.bin ?? 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'notice',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await waitUntilReady(child, port);
    await ping(port);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when redis-server logs that it accepts connections; rejects if it exits first. */
function waitUntilReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
      if (output.includes('Ready to accept connections')) finish();
    };
    const onExit = (code: number | null) => finish(new Error(`redis-server exited (code ${code}) before listening on ${port}: ${output}`));
    const onError = (err: Error) => finish(new Error(`cannot start redis-server: ${err.message}`));
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

/** One PING over a raw socket: the server answers commands, not just accepts connections. */
function ping(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d: string) => {
      reply += d;
      if (!reply.includes('\r\n')) return;
      sock.destroy();
      if (reply.startsWith('+PONG')) resolve();
      else reject(new Error(`redis-server on ${port} answered PING with ${JSON.stringify(reply)}`));
    });
    sock.once('error', (err) => reject(new Error(`cannot PING redis-server on ${port}: ${err.message}`)));
  });
}
