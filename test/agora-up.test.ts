/**
 * `agora up`, the real binary: it brings a local cluster up with the services and jobs
 * frameworks, serves the example framework, an app posted to the services REST API and a job
 * run through the jobs REST API, and on SIGTERM stops everything, leaving no process or
 * container behind, only its state folder.
 */
import { spawn } from 'child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { createConnection } from 'net';
import { join } from 'path';
import Docker from 'dockerode';
import { JobsEvents } from './support/jobs';
import { EventStream, ServicesClient } from './support/services';
import { doorFetch } from './support/http';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.once('connect', () => { sock.destroy(); resolve(false); });
    sock.once('error', () => resolve(true));
  });
}

describe('agora up', () => {
  it('comes up, runs the example framework to completion, a services app and a job, and shuts down leaving nothing running', async () => {
    expect(existsSync(BIN)).toBe(true);   // built by `npm test` before jest runs
    // A home of its own, as a new user's ~/.agora: the clients below read the config it writes.
    const home = mkdtempSync(join(tmpdir(), 'agora-up-home-'));
    process.env.AGORA_HOME = home;
    const child = spawn(process.execPath, [BIN, 'up', '--example', '--http-port', '0', '--grpc-port', '0', '--agent-port', '0', '--services-port', '0', '--jobs-port', '0'], {
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
    // Locked doors with nothing asked of the user: credentials made in the home, a login link printed.
    expect(out).toContain(`every door needs credentials; made in ${home}`);
    const login = /open (https:\/\/127\.0\.0\.1:\d+\/login#principal=admin&secret=agora_\S+)/.exec(out);
    expect(login).not.toBeNull();
    expect(statSync(join(home, 'config')).mode & 0o777).toBe(0o600);
    expect(out.match(/TASK_FINISHED/g)).toHaveLength(3);
    const banner = /master https:\/\/127\.0\.0\.1:(\d+) \(gRPC 127\.0\.0\.1:(\d+)\), agent (\S+) \(https 127\.0\.0\.1:(\d+), (\w+) containerizer\), nats nats:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    expect(banner).not.toBeNull();
    const [, httpPort, grpcPort, agentId, agentPort, containerizer, natsPort] = banner!;
    expect(containerizer).toBe('docker');
    const workDir = /task sandboxes in (\S+)/.exec(out)?.[1];
    expect(workDir).toBe(join(home, 'up', 'agent'));
    expect(existsSync(workDir!)).toBe(true);
    // Its own Redis, locked, persisting in the state folder: the registry and both frameworks' state.
    const redisPort = /in Redis redis:\/\/:\*\*\*@127\.0\.0\.1:(\d+) \(append-only file, appendfsync always/.exec(out)?.[1];
    expect(redisPort).toBeDefined();

    // The services framework, subscribed to this master, runs an app posted to its REST API.
    const servicesPort = Number(/services https:\/\/127\.0\.0\.1:(\d+) \(REST API and UI\)/.exec(out)?.[1]);
    expect(servicesPort).toBeGreaterThan(0);
    const api = new ServicesClient(servicesPort);
    expect((await doorFetch(`https://127.0.0.1:${servicesPort}/v2/apps`)).status).toBe(401);
    expect((await doorFetch(`https://127.0.0.1:${httpPort}/api/v1/state`)).status).toBe(401);
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

    // The jobs framework, subscribed to the same master, runs a job posted to its REST API to SUCCESS.
    const jobsPort = Number(/jobs https:\/\/127\.0\.0\.1:(\d+) \(REST APIs and UI\)/.exec(out)?.[1]);
    expect(jobsPort).toBeGreaterThan(0);
    expect(out).toContain(`AGORA_JOBS=127.0.0.1:${jobsPort} agora job add job.json`);
    const jobsApi = new ServicesClient(jobsPort);
    const ping = await jobsApi.call('GET', '/ping');
    expect([ping.status, ping.text]).toEqual([200, 'pong']);
    const jobsInfo = await jobsApi.call<{ name: string; frameworkId: string; master: string }>('GET', '/v1/info');
    expect(jobsInfo.body).toMatchObject({ name: 'agora-jobs', frameworkId: expect.stringMatching(/^fw-/), master: `127.0.0.1:${httpPort}` });
    const jobEvents = await JobsEvents.open(jobsPort);
    expect((await jobsApi.call('POST', '/v1/jobs', { id: 'up-check', run: { cmd: 'echo up-check', cpus: 0.1, mem: 32 } })).status).toBe(201);
    const started = await jobsApi.call<{ id: string }>('POST', '/v1/jobs/up-check/runs');
    expect(started.status).toBe(201);
    const done = await jobEvents.run('up-check', (r) => r.runId === started.body.id && (r.state === 'SUCCESS' || r.state === 'FAILED'));
    jobEvents.close();
    expect(done).toMatchObject({ state: 'SUCCESS', exitCode: 0, attempts: [expect.objectContaining({ agentId })] });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopped/);
    for (const port of [httpPort, grpcPort, agentPort, natsPort, servicesPort, jobsPort, redisPort]) expect(await refused(Number(port))).toBe(true);
    const left = await new Docker().listContainers({ all: true, filters: { label: [`agora.agent-id=${agentId}`] } });
    expect(left).toHaveLength(0);
    // The state stays for the next start; the folder is no longer claimed.
    expect(existsSync(join(home, 'up', 'redis', 'appendonlydir'))).toBe(true);
    expect(existsSync(join(home, 'up', 'up.json'))).toBe(false);
    rmSync(home, { recursive: true, force: true });
  });
});
