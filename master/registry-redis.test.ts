import { Redis } from 'ioredis';
import { freePort } from '../common/nats-server';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import { parse } from '../common/resources';
import type { AgentInfo } from '../common/types';
import { Inbox } from '../test/support/test-clients';
import { FencedError } from '../common/fenced-redis';
import { RedisRegistry, RegistryError } from './registry-redis';
import { frameworkInfo } from '../test/support/master-harness';

let redis: RedisServer;
const opened: { close(): unknown }[] = [];

beforeAll(async () => { redis = await startRedisServer(); });
afterEach(async () => { for (const r of opened.splice(0)) await r.close(); });
afterAll(async () => { await redis?.stop(); });

async function registry(keyPrefix = 'agora:'): Promise<RedisRegistry> {
  const r = await RedisRegistry.connect(redis.url, { keyPrefix });
  opened.push(r);
  return r;
}

/** Every command the server runs, as [name, ...args], from a MONITOR connection. */
async function monitor(): Promise<Inbox<string[]>> {
  const client = new Redis(redis.url);
  opened.push({ close: () => client.disconnect() });
  const m = await client.monitor();
  opened.push({ close: () => m.disconnect() });
  const commands = new Inbox<string[]>();
  m.on('monitor', (_time: string, args: string[]) => commands.push(args.map((a, i) => (i === 0 ? a.toLowerCase() : a))));
  return commands;
}

const agent = (id: string, resources = 'cpus:2;mem:1024'): AgentInfo => ({
  id, hostname: `host-${id}`, resources: parse(resources), attributes: { rack: 'r1' }, port: 5051,
});

describe('RedisRegistry', () => {
  it('round-trips admitted agents, and forgets a removed one', async () => {
    const r = await registry('rt-agents:');
    await r.admit(agent('agent-1'));
    await r.admit(agent('agent-2', 'cpus:8;mem:8192;ports:[31000-31010]'));
    await r.admit(agent('agent-1', 'cpus:4;mem:2048')); // admitted again: the latest info wins
    expect((await r.list()).sort((a, b) => a.id.localeCompare(b.id))).toEqual([agent('agent-1', 'cpus:4;mem:2048'), agent('agent-2', 'cpus:8;mem:8192;ports:[31000-31010]')]);

    await r.remove('agent-1');
    expect((await r.list()).map((a) => a.id)).toEqual(['agent-2']);
  });

  it('marks an agent gone in one write: out of the agents, into the gone set for good', async () => {
    const r = await registry('rt-gone:');
    await r.admit(agent('agent-dead'));
    await r.admit(agent('agent-alive'));
    await r.markGone('agent-dead');
    expect((await r.list()).map((a) => a.id)).toEqual(['agent-alive']);
    expect(await r.listGone()).toEqual(['agent-dead']);
  });

  it('round-trips role weights as one record, none before any were saved', async () => {
    const r = await registry('rt-weights:');
    expect(await r.loadWeights()).toEqual({});
    await r.saveWeights({ prod: 3, batch: 0.5 });
    expect(await r.loadWeights()).toEqual({ prod: 3, batch: 0.5 });
  });

  it('round-trips frameworks with their failover deadline, null while connected', async () => {
    const r = await registry('rt-fws:');
    const web = frameworkInfo({ id: 'fw-web', name: 'web', roles: ['web'], failoverTimeoutMs: 60_000, capabilities: ['PARTITION_AWARE'] });
    await r.saveFramework(web, null);
    await r.saveFramework(frameworkInfo({ id: 'fw-batch', failoverTimeoutMs: 5000 }), 1_700_000_005_000);
    expect(await r.listFrameworks()).toEqual(expect.arrayContaining([
      { info: web, failoverDeadlineMs: null },
      { info: frameworkInfo({ id: 'fw-batch', failoverTimeoutMs: 5000 }), failoverDeadlineMs: 1_700_000_005_000 },
    ]));

    await r.saveFramework(web, 1_700_000_060_000); // it disconnected
    await r.removeFramework('fw-batch');
    expect(await r.listFrameworks()).toEqual([{ info: web, failoverDeadlineMs: 1_700_000_060_000 }]);
  });

  it('writes each record and the registry version in one fenced script, raising the epoch once', async () => {
    const r = await registry('atomic:');
    const commands = await monitor();
    await r.admit(agent('agent-a'));
    await r.removeFramework('fw-x');
    // The script's own commands, as MONITOR shows them: run inside it, so no client sees between them.
    const call = (c: string[]) => /^eval/.test(c[0] ?? '');
    const inner = (c: string[]) => c[0] !== 'monitor' && !call(c);
    expect(await commands.take(call, 'the script')).toEqual(expect.arrayContaining(['atomic:epoch', '1']));
    expect(await commands.take(inner, 'get')).toEqual(['get', 'atomic:epoch']);
    expect(await commands.take(inner, 'set')).toEqual(['set', 'atomic:epoch', '1']);
    expect(await commands.take(inner, 'hset')).toEqual(['hset', 'atomic:agents', 'agent-a', JSON.stringify(agent('agent-a'))]);
    expect(await commands.take(inner, 'incr')).toEqual(['incr', 'atomic:registry:version']);
    // The second write finds the epoch raised already: no SET.
    expect(await commands.take(inner, 'get')).toEqual(['get', 'atomic:epoch']);
    expect(await commands.take(inner, 'hdel')).toEqual(['hdel', 'atomic:frameworks', 'fw-x']);
    expect(await commands.take(inner, 'incr')).toEqual(['incr', 'atomic:registry:version']);
    expect(await r.version()).toBe(2);
  });

  it('refuses every write of a master whose epoch is older than the stored one, changing nothing', async () => {
    const old = await RedisRegistry.connect(redis.url, { keyPrefix: 'stale:', epoch: 2 });
    const newer = await RedisRegistry.connect(redis.url, { keyPrefix: 'stale:', epoch: 3 });
    opened.push(old, newer);
    await old.admit(agent('agent-1'));
    await newer.admit(agent('agent-2'));
    await newer.saveWeights({ prod: 2 });
    const before = { agents: await newer.list(), weights: await newer.loadWeights(), version: await newer.version() };
    const fenced = 'a newer leader (epoch 3) has written under stale:epoch; this one (epoch 2) must stop';
    await expect(old.admit(agent('agent-3'))).rejects.toThrow(FencedError);
    await expect(old.remove('agent-2')).rejects.toThrow(fenced);
    await expect(old.markGone('agent-1')).rejects.toThrow(fenced);
    await expect(old.saveWeights({ prod: 1 })).rejects.toThrow(fenced);
    await expect(old.saveFramework(frameworkInfo({ id: 'fw-1' }), null)).rejects.toThrow(fenced);
    await expect(old.removeFramework('fw-1')).rejects.toThrow(fenced);
    expect({ agents: await newer.list(), weights: await newer.loadWeights(), version: await newer.version() }).toEqual(before);
    expect(before.version).toBe(3);
    expect(await old.listGone()).toEqual([]);
    expect(await old.listFrameworks()).toEqual([]);
  });

  it('keeps clusters with different key prefixes apart', async () => {
    const blue = await registry('blue:');
    const green = await registry('green:');
    await blue.admit(agent('agent-blue'));
    expect(await green.list()).toEqual([]);
    expect((await blue.list()).map((a) => a.id)).toEqual(['agent-blue']);
  });

  it('refuses records without an id, changing nothing', async () => {
    const r = await registry('noid:');
    await expect(r.admit(agent(''))).rejects.toThrow('cannot admit an agent without an id');
    await expect(r.saveFramework(frameworkInfo(), null)).rejects.toThrow('cannot save a framework without an id');
    expect(await r.version()).toBe(0);
  });

  it('names the key and field of a stored record that does not parse', async () => {
    const r = await registry('corrupt:');
    const raw = new Redis(redis.url);
    opened.push({ close: () => raw.disconnect() });
    await raw.hset('corrupt:agents', 'agent-bad', '{not json');
    await raw.hset('corrupt:frameworks', 'fw-bad', JSON.stringify({ info: { id: 'fw-other' }, failoverDeadlineMs: null }));
    await expect(r.list()).rejects.toThrow(/registry record corrupt:agents\[agent-bad\] is not JSON/);
    await expect(r.listFrameworks()).rejects.toThrow(/registry record corrupt:frameworks\[fw-bad\] is not a framework with id fw-bad/);
  });

  it('fails to connect with an error naming the URL, password hidden', async () => {
    const url = `redis://:s3cret@127.0.0.1:${await freePort()}`;
    const failure = RedisRegistry.connect(url, { connectTimeoutMs: 2000 });
    await expect(failure).rejects.toThrow(RegistryError);
    await expect(failure).rejects.toThrow(/^cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?: /);
  });
});
