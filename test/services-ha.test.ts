/**
 * Two `agora services --ha` replicas on one Redis, a locked cluster's NATS and master, and a
 * process agent. One leads; the other stands by and forwards the REST API to it. An app of 2
 * instances runs; the leader is SIGKILLed: the standby takes over as the same framework, and the
 * instances keep running under the same task ids — none relaunched. `/v2/leader` tells the truth
 * on every replica, and `DELETE /v2/leader` moves the leadership.
 */
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import { eventually, startCluster, type TestCluster } from './support/cluster';
import { agreedLeader, call, frameworkAtMaster, leaderSaidBy, spawnReplica, stopReplicas, type ReplicaProcess } from './support/replicas';

jest.setTimeout(180_000);

let cluster: TestCluster;
let redis: RedisServer;
let store: Redis;
const replicas: ReplicaProcess[] = [];

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'process', agents: 1 });
  redis = await startRedisServer();
  store = new Redis(redis.url);
  for (let i = 0; i < 2; i++) replicas.push(await spawnReplica('services', { cluster, redisUrl: redis.url }));
});

afterAll(async () => {
  await stopReplicas(replicas);
  store?.disconnect();
  await redis?.stop();
  await cluster?.stop();
});

interface AppTasks { tasks: { id: string; state: string }[] }

const runningIds = async (via: ReplicaProcess): Promise<string[]> => {
  const a = await call<AppTasks>(via, 'GET', '/v2/apps/ha/steady/tasks');
  return a.status === 200 ? a.body.tasks.filter((t) => t.state === 'TASK_RUNNING').map((t) => t.id).sort() : [];
};

it('fails over to the standby without relaunching an instance, proxies through standbys, and moves the leadership on DELETE /v2/leader', async () => {
  const leader = await agreedLeader(replicas);
  const standby = replicas.find((r) => r !== leader)!;

  // A standby answers /v2/leader itself, and forwards everything else, after its own door.
  expect(await call(standby, 'GET', '/v2/leader')).toMatchObject({ status: 200, body: { leader: leader.address } });
  expect(await call(leader, 'GET', '/v2/leader')).toMatchObject({ status: 200, body: { leader: leader.address } });
  expect((await call(standby, 'GET', '/v2/apps', undefined, { authorization: 'Basic bm9ib2R5Om5vcGU=' })).status).toBe(401);
  const created = await call<{ id: string }>(standby, 'POST', '/v2/apps', { id: '/ha/steady', instances: 2, cpus: 0.1, mem: 32, cmd: 'exec sleep 600' });
  expect(created.status).toBe(201);
  expect(created.headers.get('x-agora-leader')).toBe(leader.address);
  const listed = await call<{ apps: { id: string }[] }>(standby, 'GET', '/v2/apps');
  expect(listed.body.apps.map((a) => a.id)).toEqual(['/ha/steady']);
  expect(listed.headers.get('x-agora-leader')).toBe(leader.address);
  // The loop guard: a request another replica forwarded is not forwarded again.
  const looped = await call<{ message: string }>(standby, 'GET', '/v2/apps', undefined, { 'x-agora-proxied-by': 'elsewhere' });
  expect(looped.status).toBe(503);
  expect(looped.body.message).toContain('not forwarding it again');

  let ids: string[] = [];
  await eventually('2 instances run', async () => (ids = await runningIds(leader)).length === 2, 1200);
  const before = await frameworkAtMaster(cluster, 'agora-services');

  leader.child.kill('SIGKILL');
  await leader.exited;
  await eventually('the standby leads', async () => (await leaderSaidBy(standby)) === standby.address, 1200);
  await eventually('the new leader is subscribed as the same framework', async () => {
    const now = await frameworkAtMaster(cluster, 'agora-services');
    return now.framework?.id === before.framework!.id && now.framework.connected;
  }, 1200);
  expect(await runningIds(standby)).toEqual(ids);
  const after = await frameworkAtMaster(cluster, 'agora-services');
  expect(after.tasks.map((t) => t.id).sort()).toEqual(ids);
  // Its epoch was claimed in Redis before it loaded: a paused predecessor's next write is refused.
  const epoch = Number(/replica: elected: leading \{"epoch":(\d+)/.exec(standby.lines.join('\n'))?.[1]);
  expect(Number(await store.get('agora:services:epoch'))).toBe(epoch);

  // The killed replica, started again on its port, stands by for the new leader.
  const back = await spawnReplica('services', { cluster, redisUrl: redis.url }, leader.port);
  replicas.push(back);
  await eventually('the restarted replica knows the leader', async () => (await leaderSaidBy(back)) === standby.address, 1200);

  // Abdication: the leader stands by again in-process, the other replica leads.
  expect(await call(standby, 'DELETE', '/v2/leader')).toMatchObject({ status: 200 });
  await eventually('the leadership moved', async () => (await leaderSaidBy(back)) === back.address && (await leaderSaidBy(standby)) === back.address, 1200);
  expect(standby.child.exitCode).toBeNull();
  await eventually('the instances are still the same', async () => (await runningIds(back)).join() === ids.join(), 1200);
  const moved = await frameworkAtMaster(cluster, 'agora-services');
  expect(moved.framework?.id).toBe(before.framework!.id);
  expect(moved.tasks.map((t) => t.id).sort()).toEqual(ids);

  // Fenced: once a newer epoch has written, the leader's next write is refused (answered 503), it stops and exits 1.
  await store.set('agora:services:epoch', '1000000000');
  // Another write of the leader's (a status update stored) may meet the fence first: then this
  // request can be cut as the process stops, instead of answered.
  const refused = await call<{ message: string }>(back, 'PUT', '/v2/apps/ha/steady', { instances: 3 }).catch(() => undefined);
  if (refused) expect([refused.status, refused.body.message]).toEqual([503, expect.stringMatching(/a newer leader \(epoch 1000000000\) has written/)]);
  expect(await back.exited).toBe(1);
  expect(back.lines.join('\n')).toMatch(/fenced: a newer leader \(epoch 1000000000\) has written under agora:services:epoch/);
});
