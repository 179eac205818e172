/**
 * `agora up`, the real binary: it brings a local cluster up, serves the example framework,
 * and on SIGTERM stops everything, leaving no process or container behind.
 */
import { spawn } from 'child_process';
import { existsSync } from 'fs';
import { createConnection } from 'net';
import { join } from 'path';
import Docker from 'dockerode';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.once('connect', () => { sock.destroy(); resolve(false); });
    sock.once('error', () => resolve(true));
  });
}

describe('agora up', () => {
  it('comes up, runs the example framework to completion, and shuts down leaving nothing running', async () => {
    expect(existsSync(BIN)).toBe(true);   // built by `npm test` before jest runs
    const child = spawn(process.execPath, [BIN, 'up', '--example', '--http-port', '0', '--grpc-port', '0', '--agent-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGORA_LOG: 'warn' },
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const finished = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('serving; press Ctrl-C')) resolve();
      });
      void exited.then(() => reject(new Error(`agora up exited early:\n${out}`)));
    });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    await finished;

    expect(out).toMatch(/example: all 3 tasks finished/);
    expect(out.match(/TASK_FINISHED/g)).toHaveLength(3);
    const banner = /master http:\/\/127\.0\.0\.1:(\d+) \(gRPC 127\.0\.0\.1:(\d+)\), agent (\S+) \(http 127\.0\.0\.1:(\d+), (\w+) containerizer\), nats nats:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    expect(banner).not.toBeNull();
    const [, httpPort, grpcPort, agentId, agentPort, containerizer, natsPort] = banner!;
    expect(containerizer).toBe('docker');
    const workDir = /task sandboxes in (\S+) \(removed on stop\)/.exec(out)?.[1];
    expect(workDir && existsSync(workDir)).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopped/);
    for (const port of [httpPort, grpcPort, agentPort, natsPort]) expect(await refused(Number(port))).toBe(true);
    const left = await new Docker().listContainers({ all: true, filters: { label: [`agora.agent-id=${agentId}`] } });
    expect(left).toHaveLength(0);
    expect(existsSync(workDir!)).toBe(false);
  });
});
