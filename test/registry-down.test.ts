/**
 * The master's Redis goes away and comes back (a real redis-server, stopped and started again
 * on the same port and dir), on a real cluster: NATS, the master, a process agent and the
 * services framework (whose own Redis stays up). Redis down is not a failover: the master
 * answers its operators, a running app keeps running and its status updates still reach the
 * framework and are acknowledged, offers go on; what needs a registry write is refused, saying
 * so, and changes nothing — a new agent's registration, a new framework's subscription, a
 * teardown, role weights, marking an agent gone. Once Redis is back the refused agent registers on its own, the framework can
 * subscribe, and what the master deferred (a framework's failover deadline) is in the registry.
 */
import { Redis } from 'ioredis';
import { decodeRegisterReply, encodeRegisterRequest } from '../common/agent-messages';
import { getJson, masterAddress, postJson, putJson, MasterRequestError } from '../common/operator-client';
import { parse } from '../common/resources';
import { subjects } from '../common/subjects';
import { subscribe, SchedulerCallError } from '../frameworks/sdk';
import { agentState, eventually, startCluster, type TestCluster } from './support/cluster';
import { authedFetch, base } from './support/http';
import { RestartableRedis } from './support/redis-outage';
import { startTestServices, type TestServices } from './support/services';

jest.setTimeout(120_000);

let registry: RestartableRedis;
let cluster: TestCluster;
let t: TestServices;

beforeAll(async () => {
  registry = await RestartableRedis.start();
  cluster = await startCluster({
    containerizer: 'process', agents: 1, masterOptions: { redisUrl: registry.url },
    // The agents resend unacknowledged updates and retry registration within a second.
    agentOptions: { statusRetryInitialMs: 200, statusRetryMaxMs: 1000, registerBackoffFactorMs: 100, registerBackoffMaxMs: 500 },
  });
  t = await startTestServices(cluster);
});

afterAll(async () => {
  await t?.stop();
  await cluster?.stop();
  await registry?.stop();
});

interface Health { status: string; registry?: string; registryWhy?: string; registryPendingWrites?: number }
const health = (): Promise<Health> => getJson<Health>(masterAddress(cluster.masterAddr), '/health');
const metrics = async (): Promise<string> => (await authedFetch(`${base(cluster.masterAddr)}/metrics`)).text();
const REFUSAL = (port: number) => new RegExp(`the registry \\(Redis at redis://127\\.0\\.0\\.1:${port}\\) is unavailable: .+; try again`);

interface TaskJson { id: string; state: string }
const tasks = async (): Promise<TaskJson[]> => (await t.api.call<{ tasks: TaskJson[] }>('GET', '/v2/apps/steady/tasks')).body.tasks;

/** A registration as a new agent sends it, straight on NATS, and the master's answer. */
async function registerAsNewAgent(): Promise<{ agentId: string; error: string }> {
  const { nc, owner } = await cluster.natsAs();
  try {
    const req = encodeRegisterRequest({ agentInfo: { id: '', hostname: 'probe', resources: parse('cpus:1;mem:128'), attributes: {}, port: 1 }, tasks: [], version: 'probe' });
    return decodeRegisterReply((await nc.request(subjects().register(owner), req, { timeout: 5000 })).data);
  } finally {
    await nc.close();
  }
}

it('serves, runs and forwards status updates while its Redis is down, refuses what needs a registry write, and catches up when it is back', async () => {
  const created = await t.api.call('POST', '/v2/apps', { id: '/steady', instances: 1, cpus: 0.1, mem: 16, cmd: 'sleep 600' });
  expect(created.status).toBe(201);
  await t.events.deploymentDone(created.headers['marathon-deployment-id'] as string);
  const [original] = await tasks();
  // A framework known before the outage, to go away during it: its failover deadline is a write the master defers.
  const leaving = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'leaving', failoverTimeoutMs: 3_600_000 } });
  expect((await health()).registry).toBe('available');

  await registry.down();
  await eventually('the master sees its registry unavailable', async () => (await health()).registry === 'unavailable');
  expect((await health()).registryWhy).toMatch(new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${registry.port}: `));
  expect(await metrics()).toMatch(/^agora_registry_available 0$/m);

  // Reads answer; the app's instance is killed and replaced: its updates reach the framework and are acknowledged, offers go on.
  const state = await cluster.state();
  expect(state.tasks).toEqual([expect.objectContaining({ id: original!.id, state: 'TASK_RUNNING' })]);
  expect((await t.api.call('DELETE', `/v2/apps/steady/tasks/${original!.id}`)).status).toBe(200);
  await t.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === original!.id && e.taskStatus === 'TASK_KILLED');
  const replacement = await t.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId !== original!.id && e.taskStatus === 'TASK_RUNNING');
  await eventually('the agent holds no unacknowledged update', async () =>
    (await agentState(cluster.agents[0]!)).unacknowledgedUpdates === 0);

  // What needs a write is refused, naming Redis, and changes nothing.
  const refused = await registerAsNewAgent();
  expect(refused).toMatchObject({ agentId: '', error: expect.stringMatching(REFUSAL(registry.port)) });
  expect(refused.error).toMatch(/^cannot admit agent agent-[0-9a-f-]+: /);
  const newcomer = cluster.addAgent({ hostname: 'newcomer' });   // it retries with its backoff until the registry is back
  const subscription = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'newcomer' } }).then(() => undefined, (e: unknown) => e);
  expect(subscription).toBeInstanceOf(SchedulerCallError);
  expect(subscription).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(REFUSAL(registry.port)) });
  const weights = await putJson(masterAddress(cluster.masterAddr), '/api/v1/weights', { '*': 2 }).then(() => undefined, (e: unknown) => e);
  expect(weights).toBeInstanceOf(MasterRequestError);
  expect(weights).toMatchObject({ status: 503, message: expect.stringMatching(REFUSAL(registry.port)) });
  const teardown = await leaving.teardown().then(() => undefined, (e: unknown) => e);
  expect(teardown).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(REFUSAL(registry.port)) });
  const gone = await postJson(masterAddress(cluster.masterAddr), `/api/v1/agents/${cluster.agents[0]!.agentId}/gone`).then(() => undefined, (e: unknown) => e);
  expect(gone).toMatchObject({ status: 503, message: expect.stringMatching(REFUSAL(registry.port)) });
  leaving.close();
  await eventually('the leaving framework is disconnected, its deadline waiting to be stored', async () =>
    ((await health()).registryPendingWrites ?? 0) > 0);
  const during = await cluster.state();
  expect(during.agents.map((a) => [a.hostname, a.status])).toEqual([['127.0.0.1', 'ACTIVE']]);
  expect(during.tasks.filter((x) => x.state === 'TASK_RUNNING').map((x) => x.id)).toEqual([replacement.taskId]);
  expect(during.frameworks.map((f) => f.name).sort()).toEqual(['agora-services', 'leaving']);
  expect(await getJson(masterAddress(cluster.masterAddr), '/api/v1/weights')).toEqual({});

  await registry.up();
  await eventually('the master sees its registry back, with nothing left to write', async () => {
    const h = await health();
    return h.registry === 'available' && h.registryPendingWrites === undefined;
  });
  expect(await metrics()).toMatch(/^agora_registry_available 1$/m);
  const agent = await newcomer;
  const framework = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'newcomer', failoverTimeoutMs: 60_000 } });
  framework.close();
  await putJson(masterAddress(cluster.masterAddr), '/api/v1/weights', { '*': 2 });

  const stored = new Redis(registry.url);
  try {
    const frameworks = Object.values(await stored.hgetall('agora:frameworks')).map((v) => JSON.parse(v) as { info: { id: string }; failoverDeadlineMs: number | null });
    expect(frameworks.find((f) => f.info.id === leaving.frameworkId)?.failoverDeadlineMs).toEqual(expect.any(Number));
    expect(frameworks.map((f) => f.info.id)).toContain(framework.frameworkId);
    expect(await stored.hexists('agora:agents', agent.agentId)).toBe(1);
    expect(await stored.get('agora:weights')).toBe('{"*":2}');
  } finally {
    stored.disconnect();
  }
  expect((await tasks()).map((x) => x.id)).toEqual([replacement.taskId]);
});
