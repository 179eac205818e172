/**
 * `agora up`, the real binary: it brings a local cluster up with the services framework,
 * serves the example framework and an app posted to the services REST API, and on SIGTERM
 * stops everything, leaving no process or container behind.
 */
import { spawn } from 'child_process';
import { existsSync } from 'fs';
import { createConnection } from 'net';
import { join } from 'path';
import Docker from 'dockerode';
import { EventStream, ServicesClient } from './support/services';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.once('connect', () => { sock.destroy(); resolve(false); });
    sock.once('error', () => resolve(true));
  });
}

describe('agora up', () => {
  it('comes up, runs the example framework to completion and a services app, and shuts down leaving nothing running', async () => {
    expect(existsSync(BIN)).toBe(true);   // built by `npm test` before jest runs
    const child = spawn(process.execPath, [BIN, 'up', '--example', '--http-port', '0', '--grpc-port', '0', '--agent-port', '0', '--services-port', '0'], {
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

    // The services framework, subscribed to this master, runs an app posted to its REST API.
    const servicesPort = Number(/services http:\/\/127\.0\.0\.1:(\d+) \(REST API and UI\)/.exec(out)?.[1]);
    expect(servicesPort).toBeGreaterThan(0);
    const api = new ServicesClient(servicesPort);
    const info = await api.call<{ name: string; frameworkId: string; marathon_config: { master: string } }>('GET', '/v2/info');
    expect(info.body).toMatchObject({ name: 'agora-services', frameworkId: expect.stringMatching(/^fw-/), marathon_config: { master: `127.0.0.1:${httpPort}` } });
    const metrics = await api.call<{ gauges: Record<string, { value: number }> }>('GET', '/metrics');
    expect(metrics.body.gauges.agora_services_connected).toEqual({ value: 1 });
    const events = await EventStream.open(servicesPort);
    const posted = await api.call('POST', '/v2/apps', {
      id: '/up-check', cmd: 'sleep 600', cpus: 0.1, mem: 16, container: { type: 'DOCKER', docker: { image: 'agora/busybox:latest' } },
    });
    expect(posted.status).toBe(201);
    await events.deploymentDone(posted.headers['marathon-deployment-id'] as string);
    events.close();
    const upCheck = await api.call<{ app: { tasksRunning: number } }>('GET', '/v2/apps/up-check');
    expect(upCheck.body.app.tasksRunning).toBe(1);
    const running = await new Docker().listContainers({ filters: { label: [`agora.framework-id=${info.body.frameworkId}`] } });
    expect(running.map((c) => c.Labels['agora.agent-id'])).toEqual([agentId]);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopped/);
    for (const port of [httpPort, grpcPort, agentPort, natsPort, servicesPort]) expect(await refused(Number(port))).toBe(true);
    const left = await new Docker().listContainers({ all: true, filters: { label: [`agora.agent-id=${agentId}`] } });
    expect(left).toHaveLength(0);
    expect(existsSync(workDir!)).toBe(false);
  });
});
