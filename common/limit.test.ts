import fc from 'fast-check';
import { LimiterAbortError, mapLimited, PriorityLimiter } from './limit';

/** A call that stays open until the test releases it, so the number in flight can be seen. */
function gate() {
  let inFlight = 0;
  let most = 0;
  const waiting: (() => void)[] = [];
  const call = async (x: number): Promise<number> => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise<void>((resolve) => waiting.push(resolve));
    inFlight--;
    return x * 2;
  };
  const releaseAll = async (): Promise<void> => {
    while (waiting.length > 0) {
      waiting.splice(0).forEach((r) => r());
      await new Promise((r) => setImmediate(r));
    }
  };
  return { call, releaseAll, most: () => most, inFlight: () => inFlight };
}

describe('mapLimited', () => {
  it('never has more than `limit` calls in flight, and keeps the order of the results', async () => {
    const g = gate();
    const done = mapLimited([1, 2, 3, 4, 5, 6, 7], 3, g.call);
    await new Promise((r) => setImmediate(r));
    expect(g.inFlight()).toBe(3);
    await g.releaseAll();
    expect(await done).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(g.most()).toBe(3);
  });

  it('stops starting calls after a failure and rejects with it', async () => {
    const started: number[] = [];
    const result = mapLimited([1, 2, 3, 4], 1, async (x) => {
      started.push(x);
      if (x === 2) throw new Error('two failed');
      return x;
    });
    await expect(result).rejects.toThrow('two failed');
    expect(started).toEqual([1, 2]);
  });

  it('refuses a limit that is not a whole number above 0', async () => {
    await expect(mapLimited([1], 0, async (x) => x)).rejects.toThrow(RangeError);
    expect(await mapLimited([], 4, async (x) => x)).toEqual([]);
  });
});

describe('PriorityLimiter', () => {
  /** Lets microtasks (and the limiter's hand-overs) run. */
  const settle = () => new Promise((r) => setImmediate(r));

  it('never has more than `limit` calls in flight, and starts the waiting call of the lowest priority, first come first served within one', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.record({ priority: fc.integer({ min: 0, max: 2 }), finishAfter: fc.nat(5) }), { minLength: 1, maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 200 }),
      async (limit, calls, finishOrder) => {
        const limiter = new PriorityLimiter(limit, 3);
        let inFlight = 0;
        let most = 0;
        const waiting: { seq: number; priority: number }[] = [];
        const open: (() => void)[] = [];
        const wrongOrder: string[] = [];
        const done = calls.map((c, seq) => {
          const me = { seq, priority: c.priority };
          if (limiter.inFlight >= limit) waiting.push(me);
          return limiter.run(async () => {
            const i = waiting.indexOf(me);
            if (i >= 0) {
              const ahead = waiting.find((w) => w.priority < me.priority || (w.priority === me.priority && w.seq < me.seq));
              if (ahead) wrongOrder.push(`#${seq} (priority ${me.priority}) started before #${ahead.seq} (priority ${ahead.priority})`);
              waiting.splice(i, 1);
            }
            inFlight++;
            most = Math.max(most, inFlight);
            await new Promise<void>((resolve) => open.push(resolve));
            inFlight--;
            return seq;
          }, { priority: c.priority });
        });
        // End the calls in flight in an arbitrary order until every one has run.
        for (let k = 0; open.length > 0 && k < calls.length * 2; k++) {
          const [finish] = open.splice((finishOrder[k] ?? 0) % open.length, 1);
          finish!();
          await settle();
        }
        expect(await Promise.all(done)).toEqual(calls.map((_, seq) => seq));
        expect(most).toBeLessThanOrEqual(limit);
        expect(wrongOrder).toEqual([]);
        expect(limiter.inFlight).toBe(0);
        expect(limiter.waiting).toBe(0);
      },
    ), { numRuns: 200 });
  });

  it('puts a kill (priority 0) queued behind launches (priority 1) first in line', async () => {
    const limiter = new PriorityLimiter(1, 2);
    const order: string[] = [];
    let release!: () => void;
    const blocker = limiter.run(() => new Promise<void>((r) => { release = r; }), { priority: 1 });
    const launches = [1, 2, 3].map((n) => limiter.run(async () => { order.push(`launch ${n}`); }, { priority: 1 }));
    const kill = limiter.run(async () => { order.push('kill'); }, { priority: 0 });
    expect(limiter.waiting).toBe(4);
    release();
    await Promise.all([blocker, kill, ...launches]);
    expect(order).toEqual(['kill', 'launch 1', 'launch 2', 'launch 3']);
  });

  it('takes a waiting call out of line when its signal aborts, and leaves the rest alone', async () => {
    const limiter = new PriorityLimiter(1);
    let release!: () => void;
    const blocker = limiter.run(() => new Promise<void>((r) => { release = r; }));
    const ac = new AbortController();
    const ran: string[] = [];
    const given = limiter.run(async () => { ran.push('given up'); }, { signal: ac.signal });
    const kept = limiter.run(async () => { ran.push('kept'); });
    ac.abort();
    await expect(given).rejects.toThrow(LimiterAbortError);
    expect(limiter.waiting).toBe(1);
    release();
    await Promise.all([blocker, kept]);
    expect(ran).toEqual(['kept']);
  });

  it('frees the slot of a call that fails or throws at once', async () => {
    const limiter = new PriorityLimiter(1);
    await expect(limiter.run(() => { throw new Error('at once'); })).rejects.toThrow('at once');
    await expect(limiter.run(() => Promise.reject(new Error('later')))).rejects.toThrow('later');
    expect(await limiter.run(async () => 'next')).toBe('next');
    expect(limiter.inFlight).toBe(0);
  });

  it('refuses a bound, a number of levels or a priority out of range', () => {
    expect(() => new PriorityLimiter(0)).toThrow(RangeError);
    expect(() => new PriorityLimiter(2, 0)).toThrow(RangeError);
    expect(() => new PriorityLimiter(2, 2).run(async () => 1, { priority: 2 })).toThrow(RangeError);
  });
});
