/** The fencing script against a real redis-server (its own port): who may write, and what a refused write leaves. */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { FencedError, FencedWriter, isFenced } from './fenced-redis';
import { startRedisServer, type RedisServer } from './redis-server';

let server: RedisServer;
const clients: Redis[] = [];
let n = 0;

beforeAll(async () => { server = await startRedisServer(); });
afterEach(() => { for (const c of clients.splice(0)) c.disconnect(); });
afterAll(async () => { await server?.stop(); });

/** A fresh connection (each writer its own, as two processes would have). */
function client(): Redis {
  const c = new Redis(server.url);
  clients.push(c);
  return c;
}

const fresh = () => `f${n++}:`;

describe('fenced writes', () => {
  it('take an absent epoch as 0, raise it with each newer writer, and apply the commands', async () => {
    const p = fresh();
    const raw = client();
    await new FencedWriter(client(), `${p}epoch`, 2).write([['SET', `${p}k`, 'two'], ['INCR', `${p}version`]]);
    expect(await raw.mget(`${p}epoch`, `${p}k`, `${p}version`)).toEqual(['2', 'two', '1']);
    await new FencedWriter(client(), `${p}epoch`, 3).write([['HSET', `${p}h`, 'a', 'three'], ['INCR', `${p}version`]]);
    expect(await raw.mget(`${p}epoch`, `${p}version`)).toEqual(['3', '2']);
    expect(await raw.hgetall(`${p}h`)).toEqual({ a: 'three' });
  });

  it('refuses a write older than the stored epoch with a FencedError naming both, and changes nothing', async () => {
    const p = fresh();
    const raw = client();
    const old = new FencedWriter(client(), `${p}epoch`, 2);
    await old.write([['SET', `${p}k`, 'two']]);
    await new FencedWriter(client(), `${p}epoch`, 3).write([['SET', `${p}k`, 'three'], ['INCR', `${p}version`]]);
    const before = await raw.mget(`${p}epoch`, `${p}k`, `${p}version`, `${p}other`);

    const refused = old.write([['SET', `${p}k`, 'stale'], ['SET', `${p}other`, 'stale'], ['INCR', `${p}version`]]);
    await expect(refused).rejects.toThrow(FencedError);
    await expect(refused).rejects.toThrow(`a newer leader (epoch 3) has written under ${p}epoch; this one (epoch 2) must stop`);
    const err = await refused.catch((e: unknown) => e);
    expect(err).toMatchObject({ storedEpoch: 3, writerEpoch: 2, epochKey: `${p}epoch` });
    expect(isFenced(err)).toBe(true);
    expect(await raw.mget(`${p}epoch`, `${p}k`, `${p}version`, `${p}other`)).toEqual(before);
    expect(before).toEqual(['3', 'three', '1', null]);
  });

  it('lets the same epoch write on, and reads the epoch anew at every write', async () => {
    const p = fresh();
    let epoch = 4;
    const w = new FencedWriter(client(), `${p}epoch`, () => epoch);
    await w.write([['SET', `${p}k`, 'a']]);
    await w.write([['SET', `${p}k`, 'b']]);
    epoch = 5;
    await w.write([['SET', `${p}k`, 'c']]);
    expect(await client().mget(`${p}epoch`, `${p}k`)).toEqual(['5', 'c']);
  });

  it('passes a Redis error through (not as fenced), and refuses an epoch that is no positive integer', async () => {
    const p = fresh();
    const raw = client();
    await raw.set(`${p}str`, 'x');
    const w = new FencedWriter(client(), `${p}epoch`, 1);
    const failed = await w.write([['HSET', `${p}str`, 'f', 'v']]).catch((e: unknown) => e);
    expect(isFenced(failed)).toBe(false);
    expect(String(failed)).toMatch(/WRONGTYPE/);
    expect(() => new FencedWriter(raw, `${p}epoch`, 0)).toThrow('a fencing epoch is an integer in 1..2^53-1, got 0');
    await raw.set(`${p}bad:epoch`, 'banana');
    await expect(new FencedWriter(raw, `${p}bad:epoch`, 1).write([])).rejects.toThrow(`${p}bad:epoch holds banana, not an epoch`);
  });

  it('with two writers racing, the data reflects only the newer one once it has written', async () => {
    // Each write appends "<epoch>" to a log; whatever the interleaving, no 2 follows a 3, and
    // every write of epoch 2 after the first 3 was refused as fenced.
    await fc.assert(fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), async (order) => {
      const p = fresh();
      const writers = { 2: new FencedWriter(client(), `${p}epoch`, 2), 3: new FencedWriter(client(), `${p}epoch`, 3) };
      const results = await Promise.all(order.map((newer) => {
        const epoch = newer ? 3 : 2;
        return writers[epoch].write([['RPUSH', `${p}log`, String(epoch)], ['SET', `${p}last`, String(epoch)]])
          .then(() => 'ok', (e: unknown) => (isFenced(e) ? 'fenced' : `failed: ${String(e)}`));
      }));
      const log = await client().lrange(`${p}log`, 0, -1);
      const firstNewer = log.indexOf('3');
      if (firstNewer >= 0) expect(log.slice(firstNewer).every((e) => e === '3')).toBe(true);
      // What was applied is exactly what was acknowledged; no newer writer is ever refused.
      expect(log.length).toBe(results.filter((r) => r === 'ok').length);
      expect(order.filter((newer, i) => newer && results[i] !== 'ok')).toEqual([]);
      expect(results.every((r) => r === 'ok' || r === 'fenced')).toBe(true);
      if (order.includes(true)) expect(await client().mget(`${p}epoch`, `${p}last`)).toEqual(['3', '3']);
      for (const c of clients.splice(0)) c.disconnect();
    }), { numRuns: 30 });
  });
});
