/**
 * A real primary, replica and three Sentinels (common/redis-sentinel.ts), reached the way every
 * writer reaches Redis (common/redis.ts, a redis-sentinel:// URL): SIGKILL the primary, the
 * Sentinels promote the replica (waited for on their +switch-master), the connection follows
 * it, fenced writes go on, and what was acknowledged by the replica before the kill is there.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Redis } from 'ioredis';
import { FencedWriter, ReplicaWaitError } from '../common/fenced-redis';
import { connectRedis, expectedReplicasOf, linkOf, type LinkStatus } from '../common/redis';
import { startRedisSentinel, type RedisSentinelSet } from '../common/redis-sentinel';
import { parseRedisUrl } from '../common/redis-url';

const PASSWORD = 'agora_sentinel-test';
let dir: string;
let set: RedisSentinelSet;
const closers: Array<() => void> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-sentinel-'));
  set = await startRedisSentinel({ dir, password: PASSWORD, appendfsync: 'everysec', downAfterMs: 1000, failoverTimeoutMs: 2000 });
});
afterAll(async () => {
  for (const close of closers.splice(0)) close();
  await set?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Gone once signal 0 finds no such process (Node reaps its children). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** The next `+switch-master` one Sentinel announces: "<group> <old host> <old port> <new host> <new port>". */
async function nextSwitch(): Promise<string[]> {
  const target = parseRedisUrl(set.url);
  if (target.kind !== 'sentinel') throw new Error('not a Sentinel URL');
  const sub = new Redis({ ...target.sentinel.sentinels[0], password: target.sentinel.sentinelPassword, disconnectTimeout: 200 });
  closers.push(() => sub.disconnect());
  await sub.subscribe('+switch-master');
  return new Promise((resolve) => sub.on('message', (_channel: string, message: string) => resolve(message.split(' '))));
}

/** Resolves when the connection has gone down and come back (it records every change from now on). */
function downAndBack(redis: Redis): Promise<LinkStatus[]> {
  const seen: LinkStatus[] = [];
  return new Promise((resolve) => {
    const off = linkOf(redis).onChange((s) => {
      seen.push(s);
      if (s.available && seen.some((x) => !x.available)) { off(); resolve(seen); }
    });
  });
}

describe('Redis behind Sentinel', () => {
  it('survives a SIGKILL of its primary: the replica is promoted, the client follows it, fenced writes go on and waited-for writes are kept', async () => {
    const redis = await connectRedis(set.url, { fail: (m) => new Error(m) });
    closers.push(() => redis.disconnect());
    expect(expectedReplicasOf(redis)).toBe(1);
    const first = await set.primary();
    expect(first).toBe('redis-0');

    const leader = new FencedWriter(redis, 'agora:t:epoch', 1);
    expect(leader.replicas).toBe(1);
    await leader.write([['SET', 'agora:t:claimed', 'by epoch 1']]); // the claim waited for the replica
    await redis.set('agora:t:waited', 'yes');
    expect(await redis.wait(1, 5000)).toBe(1);

    const switched = nextSwitch();
    const reconnected = downAndBack(redis);
    expect(await set.kill('primary')).toBe('redis-0');
    const [group, , oldPort, , newPort] = await switched;
    expect(group).toBe('agora');
    expect(oldPort).not.toBe(newPort);
    expect(await set.primary()).toBe('redis-1');
    await reconnected;

    // epoch 1 was claimed and replicated before the kill: its writes go on without a replica
    await leader.write([['SET', 'agora:t:after', 'failover']]);
    expect(await redis.mget('agora:t:epoch', 'agora:t:claimed', 'agora:t:waited', 'agora:t:after')).toEqual(['1', 'by epoch 1', 'yes', 'failover']);
    expect(await redis.call('ROLE').then((r) => (r as string[])[0])).toBe('master');

    // a new leader's claim is not taken as made while no replica can have it…
    // (bounded well above a loaded machine's replica acknowledgement, below the 2 s command timeout)
    const next = new FencedWriter(redis, 'agora:t:epoch', 2, { replicaWaitMs: 1500 });
    const refused = await next.write([['SET', 'agora:t:claimed', 'by epoch 2']]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ReplicaWaitError);
    expect((refused as Error).message).toBe('NOREPLICAS the claim of epoch 2 reached 0 of 1 replica(s) within 1500 ms');
    // …and is, once the old primary is back as the new one's replica
    await set.start('redis-0');
    await set.ready();
    await next.write([['SET', 'agora:t:claimed', 'by epoch 2']]);
    await expect(leader.write([['SET', 'agora:t:claimed', 'stale']])).rejects.toThrow(/a newer leader \(epoch 2\)/);
    const replica = new Redis({ host: '127.0.0.1', port: set.port('redis-0'), password: PASSWORD, disconnectTimeout: 200 });
    closers.push(() => replica.disconnect());
    expect(await replica.mget('agora:t:epoch', 'agora:t:claimed')).toEqual(['2', 'by epoch 2']);
  });

  it('started again on the same dir, keeps the promoted node as primary and its data (set.json), on new ports', async () => {
    const before = set.url;
    for (const close of closers.splice(0)) close();
    await set.stop();
    set = await startRedisSentinel({ dir, password: PASSWORD, appendfsync: 'everysec' });
    expect(set.url).not.toBe(before);
    expect(await set.primary()).toBe('redis-1');
    const redis = await connectRedis(set.url, { fail: (m) => new Error(m) });
    closers.push(() => redis.disconnect());
    expect(await redis.mget('agora:t:epoch', 'agora:t:claimed', 'agora:t:waited')).toEqual(['2', 'by epoch 2', 'yes']);
    expect(Object.keys(set.pids()).sort()).toEqual(['redis-0', 'redis-1', 'sentinel-0', 'sentinel-1', 'sentinel-2']);
  });

  it('revives members that died on their own: a Sentinel and the replica come back, the replica syncs from the primary', async () => {
    expect(await set.revive()).toEqual([]);   // nothing dead, nothing started
    const primary = await set.primary();
    const replica = primary === 'redis-0' ? 'redis-1' : 'redis-0';
    const redis = await connectRedis(set.url, { fail: (m) => new Error(m) });
    closers.push(() => redis.disconnect());
    const before = set.pids();
    for (const m of [replica, 'sentinel-1'] as const) process.kill(before[m]!, 'SIGKILL');
    for (let i = 0; i < 200 && !(gone(before[replica]!) && gone(before['sentinel-1']!)); i++) await new Promise((r) => setTimeout(r, 25));
    await redis.set('agora:t:while-down', 'written');
    expect(await set.revive()).toEqual(['sentinel-1', replica]);
    await set.ready();
    expect(set.pids()[replica]).not.toBe(before[replica]);
    expect(await redis.wait(1, 5000)).toBe(1);
    const copy = new Redis({ host: '127.0.0.1', port: set.port(replica), password: PASSWORD, disconnectTimeout: 200 });
    closers.push(() => copy.disconnect());
    expect(await copy.get('agora:t:while-down')).toBe('written');
  });

  it('revives a primary that died on its own as the replica of the promoted one, and records the promoted one for the next start', async () => {
    const old = await set.primary();
    const pid = set.pids()[old]!;
    const switched = nextSwitch();
    process.kill(pid, 'SIGKILL');
    await switched;
    const promoted = await set.primary();
    expect(promoted).not.toBe(old);
    expect(await set.revive()).toEqual([old]);
    // Before anything else looks at the set: the record already names the promoted node.
    expect((JSON.parse(readFileSync(join(dir, 'set.json'), 'utf8')) as { primary: string }).primary).toBe(promoted);
    await set.ready();
    expect(await set.primary()).toBe(promoted);
  });

  it('revives a dead primary the Sentinels still name only once they have promoted its replica, as that one\'s replica: never as a second primary', async () => {
    const old = await set.primary();
    const pid = set.pids()[old]!;
    const switched = nextSwitch();
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 200 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 25));
    // Not yet: started now, beside the replica the Sentinels are about to promote, writers that
    // found it first would write there, and those writes would go when one of the two is demoted.
    expect(await set.revive()).toEqual([]);
    const [, , , , newPort] = await switched;
    const promoted = await set.primary();
    expect(promoted).not.toBe(old);
    expect(Number(newPort)).toBe(set.port(promoted));
    expect(await set.revive()).toEqual([old]);
    await set.ready();
    const revived = new Redis({ host: '127.0.0.1', port: set.port(old), password: PASSWORD, disconnectTimeout: 200 });
    closers.push(() => revived.disconnect());
    expect(await revived.call('ROLE').then((r) => (r as unknown[]).slice(0, 3))).toEqual(['slave', '127.0.0.1', set.port(promoted)]);
  });

  it('started again after a failover set.json has not caught up with (its owner killed first), starts the node the Sentinels promoted as primary', async () => {
    const old = await set.primary();
    const pid = set.pids()[old]!;
    const switched = nextSwitch();
    process.kill(pid, 'SIGKILL');
    await switched;
    const promoted = await set.primary();
    const redis = await connectRedis(set.url, { fail: (m) => new Error(m) });
    await redis.set('agora:t:on-the-promoted', 'only there');
    redis.disconnect();
    await set.stop();
    // As left by an owner SIGKILLed between the +switch-master and its next record: the old primary, whose files lack that write.
    const record = JSON.parse(readFileSync(join(dir, 'set.json'), 'utf8')) as { primary: string };
    writeFileSync(join(dir, 'set.json'), JSON.stringify({ ...record, primary: old }));
    set = await startRedisSentinel({ dir, password: PASSWORD, appendfsync: 'everysec' });
    expect(await set.primary()).toBe(promoted);
    const again = await connectRedis(set.url, { fail: (m) => new Error(m) });
    closers.push(() => again.disconnect());
    expect(await again.get('agora:t:on-the-promoted')).toBe('only there');
  });
});

