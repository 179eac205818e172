/**
 * Faults that are not the app's: a running app of 3 instances lives through a master restart
 * (on its Redis registry) and through a NATS outage longer than the agents' timeout, with no
 * instance relaunched and no task id changed. Before, the restarted master answered
 * reconciliation for the not-yet-returned agent's tasks with TASK_UNREACHABLE, and a master
 * cut off from NATS declared the agent unreachable — each time the services framework
 * replaced every instance.
 *
 * After each fault a scale-up to one more instance is the sync point: its launch needs an offer,
 * which comes only once the agent is back, so by the time the new instance runs, the framework
 * has acted on everything the fault made it hear, replacements included.
 */
import { startMaster } from '../master/server';
import { freePort } from '../common/nats-server';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import type { MarathonEvent } from '../frameworks/services/events';
import { eventually, startCluster, type TestCluster } from './support/cluster';
import { startTestServices, type TestServices } from './support/services';

jest.setTimeout(120_000);

// Heartbeats every 200 ms and 3 may be missed: an agent silent for 600 ms is unreachable.
const AGENT_TIMEOUT_MS = 600;

let cluster: TestCluster;
let registry: RedisServer;
let t: TestServices;
let master: Awaited<ReturnType<typeof startMaster>>;
let masterOptions: Parameters<typeof startMaster>[0];

beforeAll(async () => {
  registry = await startRedisServer();
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  masterOptions = { redisUrl: registry.url, httpPort, grpcPort, agentHeartbeatIntervalMs: 200, agentMaxMissedHeartbeats: 3, stagingCheckAfterMs: 1000 };
  cluster = await startCluster({ containerizer: 'process', agents: 1, masterOptions });
  master = cluster.master;
  t = await startTestServices(cluster);
});

afterAll(async () => {
  await t?.stop();
  await master?.stop();
  await cluster?.stop();
  await registry?.stop();
});

interface TaskJson { id: string; state: string }
const tasks = async (): Promise<TaskJson[]> => (await t.api.call<{ tasks: TaskJson[] }>('GET', '/v2/apps/steady/tasks')).body.tasks;
const ids = async (): Promise<string[]> => (await tasks()).map((x) => x.id).sort();

const LIVE = ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'];
/** Everything the framework heard about these tasks other than their launch and running. */
const trouble = (of: readonly string[]): MarathonEvent[] =>
  t.events.events.filter((e) => e.eventType === 'status_update_event' && of.includes(e.taskId as string) && !LIVE.includes(e.taskStatus as string));

/** Scales to `n` and waits until the new instance runs: the framework has settled whatever came before. */
async function scaleTo(n: number): Promise<void> {
  const answer = await t.api.call('PUT', '/v2/apps/steady', { instances: n });
  expect(answer.status).toBe(200);
  await t.events.deploymentDone(answer.body.deploymentId as string);
}

async function restartMaster(): Promise<void> {
  await master.stop();
  master = await startMaster({
    natsUrl: cluster.nats.url, host: '127.0.0.1', allocationIntervalMs: 100,
    ...(cluster.security && cluster.doors ? { security: cluster.doors, identity: cluster.security.identity('master') } : {}),
    ...masterOptions,
  });
}

it('keeps every instance, with the same task ids, through a master restart and a NATS outage', async () => {
  const created = await t.api.call('POST', '/v2/apps', { id: '/steady', instances: 3, cpus: 0.1, mem: 16, cmd: 'sleep 600' });
  expect(created.status).toBe(201);
  await t.events.deploymentDone(created.headers['marathon-deployment-id'] as string);
  const originals = await ids();
  expect(originals).toHaveLength(3);

  // The master restarts: the framework is back before the agent is, and hears nothing of its tasks until the agent reports them.
  await restartMaster();
  await eventually('the agent registered with the new master', async () =>
    (await cluster.state()).agents.some((a) => a.status === 'ACTIVE'));
  await scaleTo(4);
  const afterRestart = await ids();
  expect(afterRestart).toEqual(expect.arrayContaining(originals));
  expect(afterRestart).toHaveLength(4);
  expect(trouble(originals)).toEqual([]);

  // NATS goes for three times the agents' timeout: the master pauses its judgement instead of declaring the agent unreachable.
  await cluster.nats.down();
  await new Promise((r) => setTimeout(r, 3 * AGENT_TIMEOUT_MS));   // how long the fault lasts, not an assertion
  expect((await cluster.state()).agents.map((a) => a.status)).toEqual(['ACTIVE']);
  await cluster.nats.up();
  // The scale-up may launch before the agent is back on NATS; that run message is lost, and the
  // master, asking after 1 s of STAGING, hears TASK_DROPPED and the framework launches again.
  await scaleTo(5);
  const afterOutage = await ids();
  expect(afterOutage).toEqual(expect.arrayContaining(afterRestart));
  expect(afterOutage).toHaveLength(5);
  expect(trouble(afterRestart)).toEqual([]);
  const running = new Set((await cluster.state()).tasks.filter((x) => x.state === 'TASK_RUNNING').map((x) => x.id));
  expect(afterOutage.filter((id) => !running.has(id))).toEqual([]);
});
