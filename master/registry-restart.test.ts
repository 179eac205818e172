import { Redis } from 'ioredis';
import { connect, type NatsConnection } from 'nats';
import { resourcesToWire } from '../common/codec';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import type { MasterStateView } from '../common/operator-types';
import { decodeAs, pb } from '../common/proto';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import { parse } from '../common/resources';
import { OPEN_OWNER, subjects } from '../common/subjects';
import { FakeAgent, getJson, Inbox, subscribeFramework } from '../test/support/test-clients';
import { RedisRegistry } from './registry-redis';
import { startMaster, type MasterHandle } from './server';

const prefix = 'restart';
const TEN_MINUTES = 600_000;
let nats: NatsServer;
let redis: RedisServer;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  [nats, redis] = await Promise.all([startNatsServer(), startRedisServer()]);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await nats?.stop();
  await redis?.stop();
});

async function master(): Promise<MasterHandle> {
  const m = await startMaster({
    natsUrl: nats.url, redisUrl: redis.url, subjectPrefix: prefix, host: '127.0.0.1', httpPort: 0, grpcPort: 0, allocationIntervalMs: 50, hostname: 'm.test',
  });
  cleanups.push(() => m.stop());
  return m;
}

/** The framework records the master writes, as they reach Redis. */
async function frameworkWrites(): Promise<Inbox<{ id: string; failoverDeadlineMs: number | null }>> {
  const client = new Redis(redis.url);
  const m = await client.monitor();
  cleanups.push(() => { m.disconnect(); client.disconnect(); });
  const writes = new Inbox<{ id: string; failoverDeadlineMs: number | null }>();
  m.on('monitor', (_t: string, args: string[]) => {
    if (args[0]?.toLowerCase() !== 'hset' || args[1] !== `${prefix}:frameworks` || !args[3]) return;
    writes.push({ id: args[2] ?? '', failoverDeadlineMs: (JSON.parse(args[3]) as { failoverDeadlineMs: number | null }).failoverDeadlineMs });
  });
  return writes;
}

async function state(m: MasterHandle): Promise<MasterStateView> {
  return (await getJson(m.httpPort, '/api/v1/state')).body as MasterStateView;
}

async function request<T>(nc: NatsConnection, subject: string, data: Uint8Array, decode: (d: Uint8Array) => T): Promise<T> {
  return decode((await nc.request(subject, data, { timeout: 5000 })).data);
}

describe('a master restarted on the same Redis', () => {
  it('still knows its agents and frameworks, with the framework\'s failover deadline', async () => {
    const writes = await frameworkWrites();
    const a = await master();
    const agent = await FakeAgent.connect(nats.url, prefix);
    cleanups.push(() => agent.close());
    await agent.register('cpus:2;mem:1024');
    const fw = await subscribeFramework(a.grpcPort, { name: 'web', failoverTimeoutMs: TEN_MINUTES });
    expect(await writes.take((w) => w.id === fw.frameworkId, 'the subscription written')).toEqual({ id: fw.frameworkId, failoverDeadlineMs: null });
    const before = Date.now();
    fw.close();
    const { failoverDeadlineMs: deadline } = await writes.take((w) => w.id === fw.frameworkId, 'the disconnection written');
    expect(deadline).toBeGreaterThanOrEqual(before + TEN_MINUTES);
    expect(deadline).toBeLessThanOrEqual(Date.now() + TEN_MINUTES);
    await a.stop();

    const b = await master();
    expect(b.info.id).not.toBe(a.info.id);
    const view = await state(b);
    expect(view.agents).toEqual([expect.objectContaining({ id: agent.agentId, hostname: 'fake-host', status: 'RECOVERING' })]);
    expect(view.frameworks).toEqual([expect.objectContaining({ id: fw.frameworkId, name: 'web', connected: false })]);
    const registry = await RedisRegistry.connect(redis.url, { keyPrefix: `${prefix}:` });
    cleanups.push(() => registry.close());
    expect(await registry.listFrameworks()).toEqual([{ info: expect.objectContaining({ id: fw.frameworkId }), failoverDeadlineMs: deadline }]);

    // The agent's next heartbeat is told to register again; it does, keeping its id.
    const subj = subjects(prefix);
    const nc = await connect({ servers: nats.url, inboxPrefix: subj.inbox(OPEN_OWNER) });
    cleanups.push(() => nc.close());
    const beat = await request(nc, subj.heartbeat(OPEN_OWNER), pb.AgentHeartbeat.encode({ agentId: agent.agentId, timestamp: Date.now() / 1000 }).finish(),
      (d) => decodeAs(pb.HeartbeatResponse, 'HeartbeatResponse', d));
    expect(beat).toMatchObject({ reregister: true, masterId: b.info.id });
    const again = await request(nc, subj.register(OPEN_OWNER), pb.RegisterAgentRequest.encode({
      agentInfo: { id: agent.agentId, hostname: 'fake-host', resources: resourcesToWire(parse('cpus:2;mem:1024')), port: 5051 }, version: 'test',
    }).finish(), (d) => decodeAs(pb.RegisterAgentResponse, 'RegisterAgentResponse', d));
    expect(again).toMatchObject({ agentId: agent.agentId, masterId: b.info.id });
    expect((await state(b)).agents).toEqual([expect.objectContaining({ id: agent.agentId, status: 'ACTIVE' })]);

    // The framework comes back within its deadline under its id, and is offered the agent.
    const back = await subscribeFramework(b.grpcPort, { id: fw.frameworkId, name: 'web', failoverTimeoutMs: TEN_MINUTES });
    cleanups.push(() => back.close());
    expect(back.frameworkId).toBe(fw.frameworkId);
    expect(await writes.take((w) => w.id === fw.frameworkId, 'the resubscription written')).toEqual({ id: fw.frameworkId, failoverDeadlineMs: null });
    await back.events.take((e) => e.type === 'OFFERS' && e.offers.some((o) => o.agentId === agent.agentId), 'an offer of the returned agent');
    expect((await state(b)).frameworks).toEqual([expect.objectContaining({ id: fw.frameworkId, connected: true })]);
  });

  it('does not start, naming the URL, when Redis cannot be reached', async () => {
    const url = 'redis://127.0.0.1:1';
    await expect(startMaster({ natsUrl: nats.url, redisUrl: url, subjectPrefix: prefix, host: '127.0.0.1', httpPort: 0, grpcPort: 0 }))
      .rejects.toThrow(/^cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
