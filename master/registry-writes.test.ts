/**
 * The master's registry writes while Redis comes and goes, on a fake link and a FakeClock:
 * deferred writes are kept and stored in order, awaited ones are refused at once and change
 * nothing, and a write never overtakes an earlier one.
 */
import { FakeClock } from '../common/clock';
import { logger } from '../common/log';
import { RegistryUnavailableError } from './errors';
import type { RegistryLink } from './registry';
import { MAX_RETRY_MS, RegistryWrites } from './registry-writes';

/** What ioredis says when the connection is down (a stand-in: classifying it is common/redis.ts's job). */
class Down extends Error {}

class FakeLink implements RegistryLink {
  readonly where = 'Redis at redis://127.0.0.1:6399';
  private status: { available: boolean; why?: string; sinceMs: number } = { available: true, sinceMs: 0 };
  private readonly listeners = new Set<(s: { available: boolean }) => void>();
  now() { return { ...this.status }; }
  onChange(l: (s: { available: boolean }) => void) { this.listeners.add(l); return () => { this.listeners.delete(l); }; }
  unavailable(_what: string, err: unknown) { return err instanceof Down ? Object.assign(new Error(`the registry (${this.where}) is unavailable: ${err.message}; try again`), { why: err.message }) : undefined; }
  down(why: string) { this.status = { available: false, why, sinceMs: 0 }; for (const l of this.listeners) l(this.status); }
  up() { this.status = { available: true, sinceMs: 0 }; for (const l of this.listeners) l(this.status); }
}

/** A registry that stores what it is given, or fails as told. */
class FakeRedis {
  readonly stored: string[] = [];
  failWith: Error | undefined;
  attempts = 0;
  /** A write that is answered only when released (one in flight at a time here). */
  held: { release(): void } | undefined;
  hold = false;
  write(what: string): () => Promise<void> {
    return () => {
      this.attempts++;
      const failure = this.failWith;
      if (this.hold) return new Promise((resolve, reject) => { this.held = { release: () => (failure ? reject(failure) : (this.stored.push(what), resolve())) }; });
      if (failure) return Promise.reject(failure);
      this.stored.push(what);
      return Promise.resolve();
    };
  }
}

function setup() {
  const clock = new FakeClock();
  const link = new FakeLink();
  const redis = new FakeRedis();
  const writes = new RegistryWrites({ link, clock, log: logger('test') });
  return { clock, link, redis, writes };
}

const turns = async (n = 10): Promise<void> => { for (let i = 0; i < n; i++) await Promise.resolve(); };

describe('registry writes while Redis comes and goes', () => {
  it('keeps deferred writes that fail while Redis is down, and stores them in order once it is back', async () => {
    const { link, redis, writes } = setup();
    link.down('connect ECONNREFUSED 127.0.0.1:6399');
    redis.failWith = new Down('not connected');
    writes.defer('save framework f1', redis.write('f1 deadline'));
    writes.defer('remove framework f2', redis.write('f2 removed'));
    await turns();
    expect(redis.stored).toEqual([]);
    expect(writes.health()).toEqual({
      available: false, why: 'connect ECONNREFUSED 127.0.0.1:6399', pendingWrites: 2, where: 'Redis at redis://127.0.0.1:6399',
    });

    redis.failWith = undefined;
    link.up();
    await turns();
    expect(redis.stored).toEqual(['f1 deadline', 'f2 removed']);
    expect(writes.health()).toEqual({ available: true, pendingWrites: 0, where: 'Redis at redis://127.0.0.1:6399' });
  });

  it('tries a failing deferred write again after 0.5 s, then 1 s, 2 s…, up to 10 s, when the connection says nothing (Redis does not answer)', async () => {
    const { clock, redis, writes } = setup();
    redis.failWith = new Down('no answer within 2000 ms');
    writes.defer('save framework f1', redis.write('f1'));
    await turns();
    expect(redis.attempts).toBe(1);
    expect(writes.health()).toMatchObject({ available: false, why: 'no answer within 2000 ms', pendingWrites: 1 });
    const tries: number[] = [];
    for (const ms of [500, 1000, 2000, 4000, 8000, 10_000, 10_000]) {
      clock.advance(ms - 1);
      await turns();
      tries.push(redis.attempts);
      clock.advance(1);
      await turns();
    }
    expect(tries).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(redis.attempts).toBe(8);
    expect(MAX_RETRY_MS).toBe(10_000);
    redis.failWith = undefined;
    clock.advance(10_000);
    await turns();
    expect(redis.stored).toEqual(['f1']);
    expect(writes.health().available).toBe(true);
  });

  it('refuses an awaited write at once while Redis is down, naming Redis and the change, and sends nothing', async () => {
    const { link, redis, writes } = setup();
    link.down('connect ECONNREFUSED 127.0.0.1:6399');
    const refused = writes.write('admit agent a1', redis.write('a1'));
    await expect(refused).rejects.toThrow(new RegistryUnavailableError(
      'cannot admit agent a1: the registry (Redis at redis://127.0.0.1:6399) is unavailable: connect ECONNREFUSED 127.0.0.1:6399; try again', false));
    await expect(refused).rejects.toMatchObject({ code: 'UNAVAILABLE', attempted: false });
    expect(redis.attempts).toBe(0);
  });

  it('refuses an awaited write while deferred writes wait for Redis, so it cannot overtake them', async () => {
    const { link, redis, writes } = setup();
    redis.failWith = new Down('no answer within 2000 ms');
    writes.defer('save framework f1', redis.write('f1'));
    await turns();
    await expect(writes.write('save role weights', redis.write('weights'))).rejects.toMatchObject({ attempted: false });
    redis.failWith = undefined;
    link.down('the connection closed');
    link.up();
    await turns();
    expect(redis.stored).toEqual(['f1']);
  });

  it('refuses an awaited write queued behind a deferred one that then fails, rather than holding it for as long as Redis is away', async () => {
    const { link, redis, writes } = setup();
    redis.hold = true;
    redis.failWith = new Down('the connection is closed');
    writes.defer('save framework f1', redis.write('f1'));
    const waiting = writes.write('admit agent a1', redis.write('a1'));
    redis.held!.release();
    await expect(waiting).rejects.toMatchObject({ attempted: false, message: expect.stringMatching(/^cannot admit agent a1: the registry .* is unavailable: the connection is closed; try again$/) });
    redis.hold = false;
    redis.failWith = undefined;
    link.up();
    await turns();
    expect(redis.stored).toEqual(['f1']);
  });

  it('hands an awaited write that fails to its caller, marked as sent (it may have landed), and does not retry it', async () => {
    const { clock, redis, writes } = setup();
    redis.failWith = new Down('the connection dropped with the command in flight');
    await expect(writes.write('admit agent a1', redis.write('a1'))).rejects.toMatchObject({ code: 'UNAVAILABLE', attempted: true });
    clock.advance(MAX_RETRY_MS);
    await turns();
    expect(redis.attempts).toBe(1);
  });

  it('drops a deferred write Redis refuses for another reason (a retry would not cure it) and goes on with the next', async () => {
    const { redis, writes } = setup();
    redis.failWith = new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
    writes.defer('save framework f1', redis.write('f1'));
    await turns(2);
    redis.failWith = undefined;
    writes.defer('save framework f2', redis.write('f2'));
    await turns();
    expect(redis.stored).toEqual(['f2']);
    expect(writes.health()).toMatchObject({ available: true, pendingWrites: 0 });
  });

  it('applies writes one at a time in the order they were made: a later one waits for the one in flight', async () => {
    const { redis, writes } = setup();
    redis.hold = true;
    writes.defer('save framework f1', redis.write('f1 connected'));
    writes.defer('save framework f1', redis.write('f1 deadline'));
    await turns();
    expect(redis.attempts).toBe(1);
    redis.hold = false;
    redis.held!.release();
    await turns();
    expect(redis.stored).toEqual(['f1 connected', 'f1 deadline']);
  });
});
