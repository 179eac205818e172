/**
 * A Redis connection while its redis-server goes away and comes back (a real redis-server,
 * stopped and started again on the same port and dir): a command fails at once instead of
 * waiting in a queue, the link says Redis is down and why, a server that does not answer fails
 * a command after the timeout instead of holding it forever, and everything works again once
 * Redis is back, with no new connection made by the caller.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Redis } from 'ioredis';
import { connectRedis, linkOf, RedisUnavailableError, unavailableWhy, type LinkStatus } from './redis';
import { startRedisServer, type RedisServer } from './redis-server';

jest.setTimeout(30_000);

let dir: string;
let server: RedisServer | undefined;
let port: number;
let redis: Redis;

/** Stopped, and started again on the same port and dir: the client reconnects to the same data. */
const down = async () => { await server?.stop(); server = undefined; };
const up = async () => { server = await startRedisServer({ dir, port }); };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-redis-link-'));
  server = await startRedisServer({ dir });
  port = server.port;
  redis = await connectRedis(server.url, { commandTimeoutMs: 300, fail: (m) => new Error(m) });
});

afterEach(async () => {
  redis.disconnect();
  await down();
  rmSync(dir, { recursive: true, force: true });
});

/** The next change the link reports. */
const nextChange = (r: Redis): Promise<LinkStatus> => new Promise((resolve) => {
  const stop = linkOf(r).onChange((s) => { stop(); resolve(s); });
});

it('fails a command at once while Redis is down, says so on the link, and works again once Redis is back', async () => {
  const link = linkOf(redis);
  await redis.set('agora:k', 'before');
  const gone = nextChange(redis);
  await down();
  expect(await gone).toMatchObject({ available: false });

  const failure = await redis.multi().set('agora:k', 'during').incr('agora:v').exec().then(() => undefined, (e: unknown) => e);
  // Refused on the spot, not queued to wait for a reconnection.
  expect(unavailableWhy(failure)).toBe('not connected');
  const refused = link.unavailable('the store', failure);
  expect(refused).toBeInstanceOf(RedisUnavailableError);
  expect(refused?.message).toMatch(new RegExp(`^the store \\(Redis at redis://127\\.0\\.0\\.1:${port}\\) is unavailable: .+; try again$`));
  expect(link.now()).toMatchObject({ available: false, why: expect.stringMatching(/ECONNREFUSED|closed/) });

  const back = nextChange(redis);
  await up();
  expect(await back).toMatchObject({ available: true });
  expect(await redis.get('agora:k')).toBe('before');   // nothing of the failed write was queued and sent later
  expect(await redis.set('agora:k', 'after')).toBe('OK');
});

it('fails a command to a Redis that holds the connection but does not answer after the command timeout, never holding it', async () => {
  const pid = Number((await redis.info('server')).match(/process_id:(\d+)/)?.[1]);
  process.kill(pid, 'SIGSTOP');
  try {
    const failure = await redis.set('agora:k', 'v').then(() => undefined, (e: unknown) => e);
    expect(unavailableWhy(failure, 300)).toBe('no answer within 300 ms');
    expect(linkOf(redis).unavailable('the registry', failure)?.message)
      .toBe(`the registry (Redis at redis://127.0.0.1:${port}) is unavailable: no answer within 300 ms; try again`);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
});

it('tells a refusal that a retry would not cure from Redis being unavailable', () => {
  expect(unavailableWhy(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBeUndefined();
  expect(unavailableWhy(new Error('a record that does not parse'))).toBeUndefined();
  expect(unavailableWhy(new Error('LOADING Redis is loading the dataset in memory'))).toBe('LOADING Redis is loading the dataset in memory');
  expect(unavailableWhy(new Error('Redis refused a commit: MISCONF Errors writing to the AOF file'))).toBe('Redis refused a commit: MISCONF Errors writing to the AOF file');
  expect(unavailableWhy(new Error('registry write failed', { cause: new Error('Connection is closed.') }))).toBe('the connection is closed');
});
