import { PrincipalLimits } from './limits';

describe('per-principal limits', () => {
  it('a burst of 3 at 2 calls/s: the 4th call waits 500 ms, and time refills the bucket up to the burst only', () => {
    let now = 0;
    const l = new PrincipalLimits({ ratePerSec: 2, burst: 3, maxOpen: 1 }, () => now);
    expect([l.take('a'), l.take('a'), l.take('a')].every((t) => t.ok)).toBe(true);
    const fourth = l.take('a');
    expect(fourth).toEqual({ ok: false, retryAfterMs: 500, why: "principal 'a' is over its rate of 2 calls/s (burst 3): retry in 500 ms" });
    expect(l.take('b').ok).toBe(true);   // another principal is not slowed
    now += 500;
    expect(l.take('a').ok).toBe(true);
    now += 60_000;
    expect([l.take('a'), l.take('a'), l.take('a'), l.take('a')].map((t) => t.ok)).toEqual([true, true, true, false]);
  });

  it('open streams are capped per principal and counted back when released, once', () => {
    const l = new PrincipalLimits({ ratePerSec: 1, burst: 1, maxOpen: 2 }, () => 0);
    const a = l.open('a');
    const b = l.open('a');
    const c = l.open('a');
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false]);
    if (!c.ok) expect(c.why).toBe("principal 'a' already holds 2 open streams, the most it may (2): close one first");
    if (a.ok) { a.release(); a.release(); }
    expect(l.open('a').ok).toBe(true);
    expect(l.open('a').ok).toBe(false);
  });
});
