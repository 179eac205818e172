/**
 * Deployments of the services framework on a real cluster of two process agents (host-a and
 * host-b) with Redis: placement constraints and why an app waits, the deployment lock, bad
 * input changing nothing, and a framework restarted in the middle of a deployment.
 *
 * The gated app's health check passes only once the test creates a file, so a deployment
 * stays in progress exactly as long as the test needs it to.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Redis } from 'ioredis';
import { followOffers } from '../cli/offers';
import { masterAddress } from '../common/operator-client';
import { eventually, startCluster, type TestCluster } from './support/cluster';
import { startTestServices, type TestServices } from './support/services';

jest.setTimeout(120_000);

let cluster: TestCluster;
let t: TestServices;
let gate: string;

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'process', agents: 2, hostnames: ['host-a', 'host-b'] });
  t = await startTestServices(cluster);
  gate = mkdtempSync(join(tmpdir(), 'agora-gate-'));
  // The app's health check runs as the task's user (nobody): it must see the gate's files.
  chmodSync(gate, 0o755);
});

afterAll(async () => {
  await t?.stop();
  await cluster?.stop();
  rmSync(gate, { recursive: true, force: true });
});

interface AppJson { id: string; instances: number; tasksRunning: number; tasksHealthy: number; deployments: { id: string }[]; env: Record<string, string> }
interface TaskJson { id: string; host: string; state: string; version: string }
interface QueueJson { queue: { app: { id: string }; count: number; lastUnusedOffers: { offer: { hostname: string }; reason: string[] }[] }[] }

const running = async (appPrefix: string): Promise<string[]> =>
  (await cluster.state()).tasks.filter((x) => x.id.startsWith(appPrefix) && x.state === 'TASK_RUNNING').map((x) => x.id).sort();

describe('UNIQUE hostname over two agents', () => {
  it('places one instance per agent and leaves the third waiting, with the reason in /v2/queue', async () => {
    const app = { id: '/spread', instances: 3, cpus: 0.1, mem: 16, cmd: 'sleep 600', constraints: [['hostname', 'UNIQUE']] };
    expect((await t.api.call('POST', '/v2/apps', app)).status).toBe(201);
    await eventually('two instances running', async () => (await running('spread.')).length === 2);
    await eventually('the third waiting with reasons', async () => {
      const q = await t.api.call<QueueJson>('GET', '/v2/queue?embed=lastUnusedOffers');
      return (q.body.queue.find((e) => e.app.id === '/spread')?.lastUnusedOffers.length ?? 0) >= 2;
    });
    const tasks = await t.api.call<{ tasks: TaskJson[] }>('GET', '/v2/apps/spread/tasks');
    expect(tasks.body.tasks.map((x) => x.host).sort()).toEqual(['host-a', 'host-b']);
    const entry = (await t.api.call<QueueJson>('GET', '/v2/queue?embed=lastUnusedOffers')).body.queue.find((e) => e.app.id === '/spread');
    expect(entry?.count).toBe(1);
    expect(new Set(entry?.lastUnusedOffers.map((o) => o.reason[0]))).toEqual(new Set(['UnfulfilledConstraint']));
    const reasons = new Set(entry?.lastUnusedOffers.map((o) => `${o.offer.hostname}: ${o.reason[1]}`));
    expect(reasons).toContain('host-a: ["hostname", "UNIQUE"]: an instance already runs where hostname is host-a');
    expect(reasons).toContain('host-b: ["hostname", "UNIQUE"]: an instance already runs where hostname is host-b');
    // The same words reach the master's offer log, where an operator looks.
    const controller = new AbortController();
    await followOffers(masterAddress(cluster.masterAddr), { replay: 10_000, signal: controller.signal }, (e) => {
      if (e.type === 'DECLINED' && e.reason === '["hostname", "UNIQUE"]: an instance already runs where hostname is host-a') controller.abort();
    });

    const removed = await t.api.call<{ deploymentId: string }>('DELETE', '/v2/apps/spread');
    await t.events.deploymentDone(removed.body.deploymentId);
    expect(await running('spread.')).toEqual([]);
  });
});

describe('a deployment in progress', () => {
  const gated = () => ({
    id: '/gated', instances: 2, cpus: 0.1, mem: 16, cmd: 'sleep 600',
    healthChecks: [{ protocol: 'COMMAND', command: { value: `test -f ${join(gate, 'ready')}` }, gracePeriodSeconds: 0, intervalSeconds: 0.2, timeoutSeconds: 5, delaySeconds: 0, maxConsecutiveFailures: 0 }],
  });

  it('locks its app (409), bad input changes nothing (422, 400), and a restarted framework finishes it with no duplicate task', async () => {
    const created = await t.api.call<AppJson>('POST', '/v2/apps', gated());
    expect(created.status).toBe(201);
    const deploymentId = created.headers['marathon-deployment-id'] as string;
    await eventually('both instances running', async () => (await running('gated.')).length === 2);

    // Locked: a change to the app is refused while its deployment runs, and nothing changes.
    const scaled = await t.api.call('PUT', '/v2/apps/gated', { instances: 3 });
    expect(scaled.status).toBe(409);
    expect(scaled.body).toMatchObject({ message: expect.stringContaining('locked by one or more deployments'), deployments: [{ id: deploymentId }] });
    const restart = await t.api.call('POST', '/v2/apps/gated/restart');
    expect(restart.status).toBe(409);

    // Invalid definitions: 422 with details by path; a body that is not JSON: 400.
    const invalid = await t.api.call('POST', '/v2/apps', { id: '/Bad_Id', cpus: -1, instances: 1.5, cmd: 'true', constraints: [['hostname', 'NEAR']] });
    expect(invalid.status).toBe(422);
    expect(invalid.body).toMatchObject({ message: 'Object is not valid' });
    const paths = (invalid.body.details as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(['/constraints(0)', '/cpus', '/id', '/instances']);
    const notJson = await t.api.call('POST', '/v2/apps', '{"id": "/x", "cmd": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ message: 'Invalid JSON' });
    const badUpdate = await t.api.call('PUT', '/v2/apps/gated?force=true', { mem: 'lots' });
    expect(badUpdate.status).toBe(422);

    const apps = await t.api.call<{ apps: AppJson[] }>('GET', '/v2/apps');
    expect(apps.body.apps.map((a) => [a.id, a.instances])).toEqual([['/gated', 2]]);
    const deployments = await t.api.call<{ id: string }[]>('GET', '/v2/deployments');
    expect(deployments.body.map((d) => d.id)).toEqual([deploymentId]);
    const before = await running('gated.');

    // The framework goes away mid-deployment and comes back on the same Redis.
    await t.restart();
    expect((await t.api.call<{ id: string }[]>('GET', '/v2/deployments')).body.map((d) => d.id)).toEqual([deploymentId]);
    writeFileSync(join(gate, 'ready'), '');
    await eventually('the deployment finished', async () => (await t.api.call<unknown[]>('GET', '/v2/deployments')).body.length === 0);

    const app = await t.api.call<{ app: AppJson }>('GET', '/v2/apps/gated');
    expect(app.body.app).toMatchObject({ instances: 2, tasksRunning: 2, tasksHealthy: 2 });
    const tasks = (await t.api.call<{ tasks: TaskJson[] }>('GET', '/v2/apps/gated/tasks')).body.tasks.map((x) => x.id).sort();
    // The same two tasks before and after, and the master runs no other.
    expect(tasks).toEqual(before);
    expect(await running('gated.')).toEqual(before);
  });

  it('rolls back when its deployment is deleted: the app returns to its old definition and its old tasks stay', async () => {
    const before = await running('gated.');
    expect(before).toHaveLength(2);
    const old = (await t.api.call<{ app: AppJson & { version: string } }>('GET', '/v2/apps/gated')).body.app;
    // The new version's check waits on a file nobody creates: its deployment cannot finish.
    const check = { ...gated().healthChecks[0], command: { value: `test -f ${join(gate, 'never')}` } };
    const update = await t.api.call<{ deploymentId: string }>('PUT', '/v2/apps/gated', { env: { RELEASE: '2' }, healthChecks: [check] });
    expect(update.status).toBe(200);
    await eventually('new-version tasks running', async () => (await running('gated.')).length === 4);

    const rollback = await t.api.call<{ deploymentId: string; version: string }>('DELETE', `/v2/deployments/${update.body.deploymentId}`);
    expect(rollback.status).toBe(200);
    expect(rollback.body.deploymentId).not.toBe(update.body.deploymentId);
    await t.events.deploymentDone(rollback.body.deploymentId);
    const app = (await t.api.call<{ app: AppJson & { healthChecks: unknown[] } }>('GET', '/v2/apps/gated')).body.app;
    expect(app.env).toEqual(old.env);
    expect(app.healthChecks).toEqual((old as unknown as { healthChecks: unknown[] }).healthChecks);
    expect(await running('gated.')).toEqual(before);

    // A forced delete only cancels: the app stays where the deployment left it.
    const stuck = await t.api.call<{ deploymentId: string }>('PUT', '/v2/apps/gated', { instances: 3, healthChecks: [check] });
    await eventually('a third task running', async () => (await running('gated.')).length >= 3);
    const cancelled = await t.api.call('DELETE', `/v2/deployments/${stuck.body.deploymentId}?force=true`);
    expect(cancelled.status).toBe(202);
    expect((await t.api.call<unknown[]>('GET', '/v2/deployments')).body).toEqual([]);
    expect((await t.api.call<{ app: AppJson }>('GET', '/v2/apps/gated')).body.app.instances).toBe(3);
  });
});

describe('killing tasks', () => {
  it('replaces a killed task, and with scale=true lowers the instance count instead', async () => {
    const app = { id: '/killme', instances: 2, cpus: 0.1, mem: 16, cmd: 'sleep 600' };
    const created = await t.api.call('POST', '/v2/apps', app);
    await t.events.deploymentDone(created.headers['marathon-deployment-id'] as string);
    const [first, second] = await running('killme.');

    const killed = await t.api.call<{ task: { id: string } }>('DELETE', `/v2/apps/killme/tasks/${first}`);
    expect(killed.status).toBe(200);
    expect(killed.body.task.id).toBe(first);
    await eventually('a replacement running', async () => {
      const now = await running('killme.');
      return now.length === 2 && !now.includes(first!);
    });

    const scaled = await t.api.call<{ deploymentId: string }>('POST', '/v2/tasks/delete?scale=true', { ids: [second] });
    expect(scaled.status).toBe(200);
    await t.events.deploymentDone(scaled.body.deploymentId);
    const left = await running('killme.');
    expect(left).toHaveLength(1);
    expect(left).not.toContain(second);
    expect((await t.api.call<{ app: AppJson }>('GET', '/v2/apps/killme')).body.app.instances).toBe(1);

    const unknown = await t.api.call('DELETE', '/v2/apps/killme/tasks/killme.nope');
    expect(unknown.status).toBe(404);
  });
});

describe('a task the store does not know', () => {
  it('is killed as an orphan when the framework comes back, and the app gets a task it knows', async () => {
    const app = { id: '/orphan', instances: 1, cpus: 0.1, mem: 16, cmd: 'sleep 600' };
    const created = await t.api.call('POST', '/v2/apps', app);
    await t.events.deploymentDone(created.headers['marathon-deployment-id'] as string);
    const [task] = await running('orphan.');

    // The record is lost while the framework is away (as if written by nobody).
    await t.services.stop();
    const redis = new Redis(t.redis.url);
    expect(await redis.hdel('agora:services:instances', task!)).toBe(1);
    redis.disconnect();
    await t.restart();

    await eventually('the orphan killed and a known task running', async () => {
      const now = await running('orphan.');
      return now.length === 1 && now[0] !== task;
    });
    const known = (await t.api.call<{ tasks: TaskJson[] }>('GET', '/v2/apps/orphan/tasks')).body.tasks.map((x) => x.id);
    expect(known).toEqual(await running('orphan.'));
  });
});
