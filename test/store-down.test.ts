/**
 * The services and jobs frameworks while their Redis goes away and comes back (real
 * redis-servers, stopped and started again on the same port and dir), on a real master and a
 * process agent. A REST write answers 503 saying the store is unavailable, at once; reads from
 * memory answer; a task that ends meanwhile is not acknowledged (its agent keeps the update
 * and sends it again), and once Redis is back it is recorded and acted on — the app's instance
 * replaced, the job's run finished — with no restart.
 *
 * The tasks end when the test says: each waits for a file named after its task id.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { FakeClock } from '../common/clock';
import { tmpdir } from 'os';
import { join } from 'path';
import { agentState, eventually, startCluster, type TestCluster } from './support/cluster';
import { startTestJobs, type TestJobs } from './support/jobs';
import { RestartableRedis } from './support/redis-outage';
import { startTestServices, type TestServices } from './support/services';
import { recordingLogger } from './support/test-clients';

jest.setTimeout(120_000);

let cluster: TestCluster;
let triggers: string;

beforeAll(async () => {
  triggers = mkdtempSync(join(tmpdir(), 'agora-store-down-'));
  chmodSync(triggers, 0o755);   // process tasks run as nobody
  // The agent sends an unacknowledged update again within a second.
  cluster = await startCluster({ containerizer: 'process', agents: 1, agentOptions: { statusRetryInitialMs: 200, statusRetryMaxMs: 1000 } });
});

afterAll(async () => {
  await cluster?.stop();
  rmSync(triggers, { recursive: true, force: true });
});

/** Runs until the test writes the file named after its task id. */
const untilTold = (): string => `while [ ! -e '${triggers}'/"$AGORA_TASK_ID" ]; do sleep 0.05; done`;
const end = (taskId: string): void => writeFileSync(join(triggers, taskId), '');
const REFUSAL = (kind: string, port: number) => new RegExp(`^the ${kind} store \\(Redis at redis://127\\.0\\.0\\.1:${port}\\) is unavailable: .+; try again$`);

/** The master has the task ended, and the agent still holds its update: the framework did not acknowledge it. */
async function endedAndUnacknowledged(taskId: string): Promise<void> {
  // Not acknowledged, the task stays among the master's tasks, ended.
  await eventually(`task ${taskId} ended on the master`, async () => (await cluster.state()).tasks.some((x) => x.id === taskId && x.state === 'TASK_FINISHED'));
  await eventually('the agent holds the update', async () => (await agentState(cluster.agents[0]!)).unacknowledgedUpdates > 0);
}

describe('the services framework with its Redis down', () => {
  let store: RestartableRedis;
  let t: TestServices;
  beforeAll(async () => {
    store = await RestartableRedis.start();
    t = await startTestServices(cluster, { redisUrl: store.url });
  });
  afterAll(async () => {
    await t?.stop();
    await store?.stop();
  });

  const prometheus = async (): Promise<string> => (await t.api.call('GET', '/metrics/prometheus')).text;

  it('answers writes 503 and reads from memory; an instance that ends meanwhile is recorded and replaced once Redis is back', async () => {
    const created = await t.api.call('POST', '/v2/apps', { id: '/ends', instances: 1, cpus: 0.1, mem: 16, cmd: untilTold() });
    expect(created.status).toBe(201);
    await t.events.deploymentDone(created.headers['marathon-deployment-id'] as string);
    const [original] = (await t.api.call<{ tasks: { id: string }[] }>('GET', '/v2/apps/ends/tasks')).body.tasks;
    expect(await prometheus()).toMatch(/^agora_services_store_available 1$/m);

    await store.down();
    await eventually('the framework sees its store unavailable', async () => /^agora_services_store_available 0$/m.test(await prometheus()));
    const write = await t.api.call('POST', '/v2/apps', { id: '/later', instances: 1, cpus: 0.1, mem: 16, cmd: 'sleep 600' });
    expect(write.status).toBe(503);
    expect(write.body.message).toMatch(REFUSAL('services', store.port));
    expect(write.headers['retry-after']).toBe('2');
    const read = await t.api.call<{ apps: { id: string; tasksRunning: number }[] }>('GET', '/v2/apps');
    expect(read.status).toBe(200);
    expect(read.body.apps).toEqual([expect.objectContaining({ id: '/ends', tasksRunning: 1 })]);

    end(original!.id);
    await endedAndUnacknowledged(original!.id);
    expect(t.events.events.filter((e) => e.taskId === original!.id && e.taskStatus === 'TASK_FINISHED')).toEqual([]);

    await store.up();
    await t.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === original!.id && e.taskStatus === 'TASK_FINISHED');
    const replacement = await t.events.waitFor((e) => e.eventType === 'status_update_event' && e.appId === '/ends' && e.taskId !== original!.id && e.taskStatus === 'TASK_RUNNING');
    await eventually('the agent holds no unacknowledged update', async () => (await agentState(cluster.agents[0]!)).unacknowledgedUpdates === 0);
    expect((await t.api.call<{ tasks: { id: string }[] }>('GET', '/v2/apps/ends/tasks')).body.tasks.map((x) => x.id)).toEqual([replacement.taskId]);
    expect(await prometheus()).toMatch(/^agora_services_store_available 1$/m);
    expect((await t.api.call('POST', '/v2/apps', { id: '/later', instances: 0, cpus: 0.1, mem: 16, cmd: 'sleep 600' })).status).toBe(201);
  });
});

describe('the jobs framework with its Redis down', () => {
  let store: RestartableRedis;
  let t: TestJobs;
  beforeAll(async () => {
    store = await RestartableRedis.start();
    t = await startTestJobs(cluster, { redisUrl: store.url });
  });
  afterAll(async () => {
    await t?.stop();
    await store?.stop();
  });

  it('answers writes 503 and reads from memory; a run that ends meanwhile is recorded once Redis is back', async () => {
    expect((await t.api.call('POST', '/v1/jobs', { id: 'report', run: { cmd: untilTold(), cpus: 0.1, mem: 32 } })).status).toBe(201);
    const started = await t.api.call<{ id: string }>('POST', '/v1/jobs/report/runs');
    expect(started.status).toBe(201);
    const active = await t.events.run('report', (r) => r.runId === started.body.id && r.attempts.some((a) => a.state === 'TASK_RUNNING'));
    const taskId = active.attempts[0]!.taskId;

    await store.down();
    await eventually('the framework sees its store unavailable', async () => (await t.api.call('GET', '/metrics')).body.store === 'unavailable');
    for (const [method, path, body] of [['POST', '/v1/jobs', { id: 'later', run: { cmd: 'true', cpus: 0.1, mem: 32 } }], ['POST', '/v1/jobs/report/runs', undefined]] as const) {
      const refused = await t.api.call(method, path, body);
      expect(refused.status).toBe(503);
      expect(refused.body.message).toMatch(REFUSAL('jobs', store.port));
    }
    const read = await t.api.call<{ id: string }[]>('GET', '/v1/jobs');
    expect(read.status).toBe(200);
    expect(read.body.map((j) => j.id)).toEqual(['report']);

    end(taskId);
    await endedAndUnacknowledged(taskId);
    expect(t.jobs.framework.runsOf('report').find((r) => r.runId === started.body.id)?.state).toBe('ACTIVE');

    await store.up();
    const done = await t.events.run('report', (r) => r.runId === started.body.id && r.state === 'SUCCESS');
    expect(done.attempts).toEqual([expect.objectContaining({ taskId, state: 'TASK_FINISHED', exitCode: 0 })]);
    await eventually('the agent holds no unacknowledged update', async () => (await agentState(cluster.agents[0]!)).unacknowledgedUpdates === 0);
    expect((await t.api.call('GET', '/metrics')).body.store).toBe('available');
    expect((await t.api.call('POST', '/v1/jobs', { id: 'later', run: { cmd: 'true', cpus: 0.1, mem: 32 } })).status).toBe(201);
  });
});

describe('a framework whose store comes back', () => {
  let store: RestartableRedis;
  let t: TestJobs;
  // A clock that moves only when told: the runtime's retries after failed writes never come due on their own.
  const clock = new FakeClock(Date.parse('2030-01-01T00:00:00Z'));
  const log = recordingLogger();
  beforeAll(async () => {
    store = await RestartableRedis.start();
    t = await startTestJobs(cluster, { redisUrl: store.url, clock, log });
  });
  afterAll(async () => {
    await t?.stop();
    await store?.stop();
  });

  it('looks again at once, not at the end of its backoff: an occurrence that came due while Redis was down starts when it is back', async () => {
    const job = { id: 'at-five-past', run: { cmd: 'true', cpus: 0.1, mem: 32 }, schedules: [{ id: 'default', cron: '5 0 * * *', timezone: 'UTC' }] };
    expect((await t.api.call('POST', '/v1/jobs', job)).status).toBe(201);

    await store.down();
    await eventually('the framework sees its store unavailable', async () => (await t.api.call('GET', '/metrics')).body.store === 'unavailable');
    const failed = log.next((l) => /step failed/.test(l.msg));
    clock.advance(5 * 60_000);   // the occurrence is due: starting it is a write, which fails
    await failed;
    expect(t.jobs.framework.runsOf('at-five-past')).toEqual([]);

    await store.up();
    const run = await t.events.run('at-five-past', (r) => r.trigger === 'schedule');
    expect(run.scheduledAt).toBe(Date.parse('2030-01-01T00:05:00Z'));
  });
});
