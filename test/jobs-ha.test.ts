/**
 * Two `agora jobs --ha` replicas on one Redis, a locked cluster's NATS and master, and a process
 * agent. A job created through the standby (forwarded to the leader) has a run going when the
 * leader is SIGKILLed: the standby takes over as the same framework and the run goes on as it
 * was — one run, one task, not launched twice. Jobs created through a standby after the failover
 * exist at the leader, and `DELETE /v2/leader` moves the leadership. A leader paused past its
 * lease exits 1 when it wakes.
 */
import { startRedisServer, type RedisServer } from '../common/redis-server';
import { eventually, startCluster, type TestCluster } from './support/cluster';
import { agreedLeader, call, frameworkAtMaster, leaderSaidBy, spawnReplica, stopReplicas, type ReplicaProcess } from './support/replicas';

jest.setTimeout(180_000);

let cluster: TestCluster;
let redis: RedisServer;
const replicas: ReplicaProcess[] = [];

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'process', agents: 1 });
  redis = await startRedisServer();
  for (let i = 0; i < 2; i++) replicas.push(await spawnReplica('jobs', { cluster, redisUrl: redis.url }));
});

afterAll(async () => {
  await stopReplicas(replicas);
  await redis?.stop();
  await cluster?.stop();
});

interface JobRun { id: string; status: string; tasks: { id: string; status: string }[] }

/** The job's runs, every stored one, as `via` answers. */
const runsOf = async (via: ReplicaProcess, job: string): Promise<JobRun[]> => {
  const a = await call<JobRun[]>(via, 'GET', `/v1/jobs/${job}/runs?all=true`);
  return a.status === 200 ? a.body : [];
};

it('keeps a going run through a failover without running it twice, forwards job writes from standbys, moves on DELETE /v2/leader, and a paused leader exits once woken', async () => {
  const leader = await agreedLeader(replicas);
  const standby = replicas.find((r) => r !== leader)!;
  expect(await call(standby, 'GET', '/v2/leader')).toMatchObject({ status: 200, body: { leader: leader.address } });
  expect(await call(leader, 'GET', '/v2/leader')).toMatchObject({ status: 200, body: { leader: leader.address } });

  const created = await call(standby, 'POST', '/v1/jobs', { id: 'ha.long', run: { cmd: 'exec sleep 600', cpus: 0.1, mem: 32 } });
  expect(created.status).toBe(201);
  expect(created.headers.get('x-agora-leader')).toBe(leader.address);
  const started = await call<{ id: string }>(standby, 'POST', '/v1/jobs/ha.long/runs');
  expect(started.status).toBe(201);
  const runId = started.body.id;
  let taskId = '';
  await eventually('the run is going', async () => {
    const run = (await runsOf(leader, 'ha.long')).find((r) => r.id === runId);
    taskId = run?.tasks.find((t) => t.status === 'TASK_RUNNING')?.id ?? '';
    return taskId !== '';
  }, 1200);
  const before = await frameworkAtMaster(cluster, 'agora-jobs');

  leader.child.kill('SIGKILL');
  await leader.exited;
  await eventually('the standby leads', async () => (await leaderSaidBy(standby)) === standby.address, 1200);
  await eventually('the new leader is subscribed as the same framework', async () => {
    const now = await frameworkAtMaster(cluster, 'agora-jobs');
    return now.framework?.id === before.framework!.id && now.framework.connected;
  }, 1200);
  const runs = await runsOf(standby, 'ha.long');
  expect(runs.map((r) => [r.id, r.status, r.tasks.map((t) => t.id)])).toEqual([[runId, 'ACTIVE', [taskId]]]);
  expect((await frameworkAtMaster(cluster, 'agora-jobs')).tasks.map((t) => t.id)).toEqual([taskId]);

  // The killed replica, started again, stands by; a job created through it exists at the leader.
  const back = await spawnReplica('jobs', { cluster, redisUrl: redis.url }, leader.port);
  replicas.push(back);
  await eventually('the restarted replica knows the leader', async () => (await leaderSaidBy(back)) === standby.address, 1200);
  expect((await call(back, 'POST', '/v1/jobs', { id: 'ha.after', run: { cmd: 'true', cpus: 0.1, mem: 32 } })).status).toBe(201);
  expect((await call(standby, 'GET', '/v1/jobs/ha.after')).status).toBe(200);

  expect(await call(standby, 'DELETE', '/v2/leader')).toMatchObject({ status: 200 });
  await eventually('the leadership moved', async () => (await leaderSaidBy(back)) === back.address && (await leaderSaidBy(standby)) === back.address, 1200);
  expect((await call(back, 'GET', '/v1/jobs/ha.after')).status).toBe(200);
  expect((await runsOf(back, 'ha.long')).map((r) => [r.id, r.tasks.map((t) => t.id)])).toEqual([[runId, [taskId]]]);
  expect((await frameworkAtMaster(cluster, 'agora-jobs')).tasks.map((t) => t.id)).toEqual([taskId]);

  // A leader paused past its lease is replaced; woken, it finds itself deposed, stops and exits 1.
  back.child.kill('SIGSTOP');
  await eventually('the paused leader is replaced', async () => (await leaderSaidBy(standby)) === standby.address, 1200);
  back.child.kill('SIGCONT');
  expect(await back.exited).toBe(1);
  expect(back.lines.join('\n')).toMatch(/deposed|fenced/);
  expect((await runsOf(standby, 'ha.long')).map((r) => [r.id, r.tasks.map((t) => t.id)])).toEqual([[runId, [taskId]]]);
});
