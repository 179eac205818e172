/** The GC policy with numbers: no servers, no disk. */
import fc from 'fast-check';
import { decide, maxAgeMs, type GcPolicy } from './gc';

const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;
const MESOS: GcPolicy = { gcDelayMs: WEEK, diskHeadroom: 0.1 };
const hourly: GcPolicy = { gcDelayMs: HOUR, diskHeadroom: 0.1 };

describe('GC policy: how old a finished sandbox may be', () => {
  it('is gcDelay × (1 − headroom − usage): 0.9 of a week on an empty disk, 0.4 at half full', () => {
    expect(maxAgeMs(MESOS, 0)).toBe(0.9 * WEEK);
    expect(maxAgeMs(MESOS, 0.5)).toBe(0.4 * WEEK);
    expect(maxAgeMs(hourly, 0.5)).toBe(24 * 60_000);
    expect(maxAgeMs(hourly, 0.75)).toBe(9 * 60_000);
  });

  it('is zero once the disk is fuller than 1 − headroom: 90 % and 95 % both clear at once', () => {
    expect(maxAgeMs(hourly, 0.9)).toBe(0);
    expect(maxAgeMs(hourly, 0.95)).toBe(0);
    expect(maxAgeMs(hourly, 1)).toBe(0);
  });

  it('with no headroom an empty disk keeps a sandbox the whole gcDelay', () => {
    expect(maxAgeMs({ gcDelayMs: HOUR, diskHeadroom: 0 }, 0)).toBe(HOUR);
  });

  it('clamps a reading out of range, and takes one that is no number as an empty disk (removing least)', () => {
    expect(maxAgeMs(hourly, Number.NaN)).toBe(0.9 * HOUR);
    expect(maxAgeMs(hourly, -3)).toBe(0.9 * HOUR);
    expect(maxAgeMs(hourly, 7)).toBe(0);
  });

  it('never grows as the disk fills, and never exceeds gcDelay', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 10 * WEEK }), fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
      (gcDelayMs, diskHeadroom, u1, u2) => {
        const p = { gcDelayMs, diskHeadroom };
        const [lo, hi] = u1 <= u2 ? [u1, u2] : [u2, u1];
        expect(maxAgeMs(p, hi)).toBeLessThanOrEqual(maxAgeMs(p, lo));
        expect(maxAgeMs(p, lo)).toBeLessThanOrEqual(gcDelayMs);
        expect(maxAgeMs(p, lo)).toBeGreaterThanOrEqual(0);
      },
    ));
  });
});

describe('GC policy: what goes now and when to look again', () => {
  const now = 1_700_000_000_000;
  const ended = (path: string, minutesAgo: number) => ({ path, endedAtMs: now - minutesAgo * 60_000 });

  it('on a half-full disk with a 1 h delay removes what ended 24 min ago or more, and looks again when the next is 24 min old', () => {
    const d = decide([ended('a', 30), ended('b', 24), ended('c', 10), ended('d', 1)], hourly, now, 0.5);
    expect(d.maxAgeMs).toBe(24 * 60_000);
    expect(d.remove).toEqual(['a', 'b']);
    expect(d.nextDueAtMs).toBe(now + 14 * 60_000);
  });

  it('the same sandboxes on an emptier disk: only the one older than 54 min goes', () => {
    const d = decide([ended('a', 60), ended('b', 30), ended('c', 10)], hourly, now, 0);
    expect(d.remove).toEqual(['a']);
    expect(d.nextDueAtMs).toBe(now + 24 * 60_000);
  });

  it('at 95 % usage removes everything at once, however fresh, and has nothing left to look at', () => {
    const d = decide([ended('fresh', 0), ended('older', 5)], hourly, now, 0.95);
    expect(d.remove).toEqual(['older', 'fresh']);
    expect(d.nextDueAtMs).toBeUndefined();
  });

  it('removes oldest first, ties by path, and a run that ended in the future (a clock step) waits', () => {
    const d = decide([ended('z', 90), ended('y', 90), ended('x', 120), { path: 'later', endedAtMs: now + 60_000 }], hourly, now, 0);
    expect(d.remove).toEqual(['x', 'y', 'z']);
    expect(d.nextDueAtMs).toBe(now + 60_000 + 54 * 60_000);
  });

  it('with nothing waiting there is nothing to do', () => {
    expect(decide([], MESOS, now, 0.99)).toEqual({ maxAgeMs: 0, remove: [], nextDueAtMs: undefined });
  });
});
