/**
 * The engine watchdog on a fake clock: a probe is a promise the test answers (or never
 * answers), so failures, timeouts and recoveries are counted exactly.
 */
import { FakeClock } from '../common/clock';
import { logger } from '../common/log';
import { EngineWatchdog, healthOf, initialWatch, watchStep, type EngineHealth } from './engine-watchdog';

const flush = () => new Promise((r) => setImmediate(r));

/** A watchdog whose probes wait for the test: `answer()` / `fail(why)` the newest, or leave it hanging. */
function rig(o: { intervalMs?: number; timeoutMs?: number; failuresToWedge?: number } = {}) {
  const clock = new FakeClock();
  const probes: { resolve(): void; reject(e: Error): void; signal: AbortSignal }[] = [];
  const changes: EngineHealth[] = [];
  const dog = new EngineWatchdog({
    clock, intervalMs: o.intervalMs ?? 5_000, timeoutMs: o.timeoutMs ?? 2_000, failuresToWedge: o.failuresToWedge ?? 3,
    probe: (signal) => new Promise<void>((resolve, reject) => { probes.push({ resolve, reject, signal }); }),
    onChange: (h) => changes.push(h),
    log: logger('test'),
  });
  const newest = () => probes[probes.length - 1]!;
  return {
    clock, dog, probes, changes,
    /** Moves to the next probe and answers it. */
    async answer() { clock.advance(5_000); newest().resolve(); await flush(); },
    async fail(why = 'connection refused') { clock.advance(5_000); newest().reject(new Error(why)); await flush(); },
    /** Moves to the next probe and lets it time out unanswered. */
    async hang() { clock.advance(5_000); await flush(); clock.advance(o.timeoutMs ?? 2_000); await flush(); },
  };
}

describe('the engine watch, as a fold over probe results', () => {
  it('wedges at the third failure in a row, not before; one success makes it healthy again', () => {
    const t0 = 1_000_000;
    let s = initialWatch(t0);
    s = watchStep(s, { ok: false, why: 'a' }, t0 + 7_000, 3);
    s = watchStep(s, { ok: false, why: 'b' }, t0 + 14_000, 3);
    expect(s).toMatchObject({ failures: 2, wedged: false });
    s = watchStep(s, { ok: false, why: '/_ping: no answer within 2000 ms' }, t0 + 21_000, 3);
    expect(s).toMatchObject({ failures: 3, wedged: true });
    expect(healthOf(s, t0 + 30_000)).toEqual({
      wedged: true,
      reason: 'the container engine has not answered for 30 s (3 probes in a row failed; the last: /_ping: no answer within 2000 ms)',
    });
    s = watchStep(s, { ok: true }, t0 + 35_000, 3);
    expect(s).toEqual({ failures: 0, lastAnswerAt: t0 + 35_000, wedged: false });
    expect(healthOf(s, t0 + 35_000)).toEqual({ wedged: false });
  });

  it('starts counting again after a success between failures', () => {
    let s = initialWatch(0);
    for (const ok of [false, false, true, false, false]) s = watchStep(s, ok ? { ok } : { ok, why: 'x' }, 1, 3);
    expect(s).toMatchObject({ failures: 2, wedged: false });
  });
});

describe('EngineWatchdog on the agent\'s clock', () => {
  it('probes every interval after the previous probe ended, never two at once', async () => {
    const r = rig();
    r.dog.start();
    r.clock.advance(4_999);
    expect(r.probes).toHaveLength(0);
    r.clock.advance(1);
    expect(r.probes).toHaveLength(1);
    r.clock.advance(1_000);    // still unanswered: no second probe
    expect(r.probes).toHaveLength(1);
    r.probes[0]!.resolve();
    await flush();
    r.clock.advance(5_000);
    expect(r.probes).toHaveLength(2);
    r.dog.stop();
    expect(r.clock.pendingTimers()).toBe(0);
  });

  it('three failures in a row → wedged, told once, with the reason; one answer → healthy, told once', async () => {
    const r = rig();
    r.dog.start();
    await r.fail();
    await r.fail();
    expect(r.changes).toEqual([]);
    expect(r.dog.health()).toEqual({ wedged: false });
    await r.fail('/info: connect ECONNREFUSED');
    expect(r.changes).toEqual([{ wedged: true, reason: 'the container engine has not answered for 15 s (3 probes in a row failed; the last: /info: connect ECONNREFUSED)' }]);
    await r.fail();
    expect(r.changes).toHaveLength(1);
    // The reason counts the silence up to the moment it is read.
    expect(r.dog.health()).toMatchObject({ wedged: true, reason: expect.stringMatching(/^the container engine has not answered for 20 s \(4 probes/) });
    await r.answer();
    expect(r.changes).toEqual([expect.objectContaining({ wedged: true }), { wedged: false }]);
    expect(r.dog.health()).toEqual({ wedged: false });
    r.dog.stop();
  });

  it('counts a probe that does not answer within the timeout as a failure, aborts it, and ignores its late answer', async () => {
    const r = rig({ failuresToWedge: 2 });
    r.dog.start();
    await r.hang();
    expect(r.probes[0]!.signal.aborted).toBe(true);
    r.probes[0]!.resolve();    // too late: it does not count as an answer
    await flush();
    expect(r.dog.health()).toEqual({ wedged: false });
    await r.hang();
    expect(r.changes).toEqual([{ wedged: true, reason: 'the container engine has not answered for 14 s (2 probes in a row failed; the last: no answer within 2000 ms)' }]);
    r.dog.stop();
  });

  it('stops probing when stopped, the probe in flight aborted', async () => {
    const r = rig();
    r.dog.start();
    r.clock.advance(5_000);
    r.dog.stop();
    expect(r.probes[0]!.signal.aborted).toBe(true);
    r.probes[0]!.reject(new Error('aborted'));
    await flush();
    r.clock.advance(60_000);
    expect(r.probes).toHaveLength(1);
    expect(r.changes).toEqual([]);
  });
});
