import { concurrency, due } from './occurrences';
import { cronSchedule, repeatingSchedule, type Schedule } from './schedule';

const at = (iso: string): number => Date.parse(iso);
const s = (r: { ok: true; value: Schedule } | { ok: false; error: string }): Schedule => {
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const hourly = s(cronSchedule('0 * * * *'));

describe('due occurrences', () => {
  it('nothing before the next occurrence; it runs when its time comes, and the cursor moves to it', () => {
    expect(due(hourly, at('2026-06-01T10:00:00Z'), at('2026-06-01T10:59:59Z'), 900))
      .toEqual({ missed: [], missedCount: 0, cursor: at('2026-06-01T10:00:00Z'), wakeAt: at('2026-06-01T11:00:00Z') });
    expect(due(hourly, at('2026-06-01T10:00:00Z'), at('2026-06-01T11:00:00Z'), 900))
      .toEqual({ run: at('2026-06-01T11:00:00Z'), missed: [], missedCount: 0, cursor: at('2026-06-01T11:00:00Z'), wakeAt: at('2026-06-01T12:00:00Z') });
  });

  it('after a restart: the latest occurrence starts late if within startingDeadlineSeconds; the ones before are missed', () => {
    const d = due(hourly, at('2026-06-01T10:00:00Z'), at('2026-06-01T13:10:00Z'), 900);
    expect(d).toMatchObject({ run: at('2026-06-01T13:00:00Z'), missed: [at('2026-06-01T11:00:00Z'), at('2026-06-01T12:00:00Z')], missedCount: 2, cursor: at('2026-06-01T13:00:00Z') });
    const tooLate = due(hourly, at('2026-06-01T10:00:00Z'), at('2026-06-01T13:15:01Z'), 900);
    expect(tooLate.run).toBeUndefined();
    expect(tooLate).toMatchObject({ missedCount: 3, cursor: at('2026-06-01T13:00:00Z'), wakeAt: at('2026-06-01T14:00:00Z') });
  });

  it('keeps at most maxMissed of the missed occurrences, the latest, and counts them all', () => {
    const d = due(hourly, at('2026-06-01T00:00:00Z'), at('2026-06-08T00:00:00Z'), 900, 5);
    expect(d.missedCount).toBe(7 * 24 - 1);
    expect(d.missed).toEqual([19, 20, 21, 22, 23].map((h) => at(`2026-06-07T${h}:00:00Z`)));
    expect(d.run).toBe(at('2026-06-08T00:00:00Z'));
  });

  it('an Rn schedule that has run out has nothing due and nothing to wake for', () => {
    const three = s(repeatingSchedule('R3/2026-06-01T08:00:00Z/PT1H'));
    expect(due(three, at('2026-06-01T10:00:00Z'), at('2026-06-02T00:00:00Z'), 900)).toEqual({ missed: [], missedCount: 0, cursor: at('2026-06-01T10:00:00Z') });
  });
});

describe('concurrency policies', () => {
  it('ALLOW starts beside a run still going, FORBID skips, REPLACE replaces; with none going all start', () => {
    expect([concurrency('ALLOW', 1), concurrency('FORBID', 1), concurrency('REPLACE', 2)]).toEqual(['start', 'skip', 'replace']);
    expect([concurrency('ALLOW', 0), concurrency('FORBID', 0), concurrency('REPLACE', 0)]).toEqual(['start', 'start', 'start']);
  });
});

describe('due occurrences after a long time down', () => {
  it('stays bounded: a per-second schedule two weeks late counts a floor, runs the latest within the window, and the cursor reaches now', () => {
    const everySecond = s(repeatingSchedule('R/2026-06-01T00:00:00Z/PT1S'));
    const now = at('2026-06-15T00:00:00Z');
    const started = Date.now();
    const d = due(everySecond, at('2026-06-01T00:00:00Z'), now, 900);
    expect(Date.now() - started).toBeLessThan(5_000);   // a bound, not a speed: unbounded, this took minutes
    expect(d.run).toBe(now);
    expect(d.cursor).toBe(now);
    expect(d.missedCount).toBeGreaterThanOrEqual(10_000);
    expect(d.wakeAt).toBe(now + 1000);
  });

  it('counts exactly below the floor: a per-minute cron five days late, across Berlin\'s spring change', () => {
    const everyMinute = s(cronSchedule('* * * * *', 'Europe/Berlin'));
    const d = due(everyMinute, at('2026-03-27T00:00:00Z'), at('2026-04-01T00:00:00Z'), 600);
    expect(d.run).toBe(at('2026-04-01T00:00:00Z'));
    expect(d.missedCount).toBe(5 * 24 * 60 - 1);   // every minute but the one that runs (the change moves local time, not UTC minutes)
    expect(d.missed.at(-1)).toBe(at('2026-03-31T23:59:00Z'));
  });
});
