import fc from 'fast-check';
import { parseCron } from './cron';
import { cronSchedule, exhausted, next, nextOccurrences, parsePeriod, repeatingSchedule, type Schedule } from './schedule';
import { fromLocal, toLocal } from './zone';

const at = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString().replace('.000', '');
const schedule = (r: { ok: true; value: Schedule } | { ok: false; error: string }): Schedule => {
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const runs = (s: Schedule, after: string, n: number): string[] => nextOccurrences(s, at(after), n).map(iso);

describe('a daily 02:30 job across daylight saving', () => {
  it('in Europe/Berlin runs once on both change days: the skipped 02:30 as 03:30 CEST, the repeated one the first time', () => {
    const daily = schedule(cronSchedule('30 2 * * *', 'Europe/Berlin'));
    // 29 March 2026: 02:00 CET → 03:00 CEST.
    expect(runs(daily, '2026-03-27T12:00:00Z', 3)).toEqual(['2026-03-28T01:30:00Z', '2026-03-29T01:30:00Z', '2026-03-30T00:30:00Z']);
    // 25 October 2026: 03:00 CEST → 02:00 CET; 02:30 happens twice, the job once.
    expect(runs(daily, '2026-10-23T12:00:00Z', 3)).toEqual(['2026-10-24T00:30:00Z', '2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']);
    // Asked during the repeated hour, after the first 02:30: the next is the day after.
    expect(runs(daily, '2026-10-25T00:45:00Z', 1)).toEqual(['2026-10-26T01:30:00Z']);
  });

  it('in America/New_York: the skipped 02:30 as 03:30 EDT; 02:30 on the fall-back day is after the repeated hour, once', () => {
    const daily = schedule(cronSchedule('30 2 * * *', 'America/New_York'));
    // 8 March 2026: 02:00 EST → 03:00 EDT.
    expect(runs(daily, '2026-03-06T12:00:00Z', 3)).toEqual(['2026-03-07T07:30:00Z', '2026-03-08T07:30:00Z', '2026-03-09T06:30:00Z']);
    // 1 November 2026: 02:00 EDT → 01:00 EST.
    expect(runs(daily, '2026-10-30T12:00:00Z', 3)).toEqual(['2026-10-31T06:30:00Z', '2026-11-01T07:30:00Z', '2026-11-02T07:30:00Z']);
  });

  it('keeps a real 03:15 on the spring-forward night before the shifted 02:30', () => {
    const twice = schedule(cronSchedule('30 2 * * *', 'Europe/Berlin'));
    const also = schedule(cronSchedule('15,30 2,3 29 3 *', 'Europe/Berlin'));
    expect(runs(twice, '2026-03-29T00:00:00Z', 1)).toEqual(['2026-03-29T01:30:00Z']);
    // 02:15 and 02:30 do not exist; they run as 03:15 and 03:30 CEST, the same instants as the real ones: once each.
    expect(runs(also, '2026-03-29T00:00:00Z', 3)).toEqual(['2026-03-29T01:15:00Z', '2026-03-29T01:30:00Z', '2027-03-29T00:15:00Z']);
  });
});

describe('month ends and leap days', () => {
  it('a job on the 31st runs only in months that have one', () => {
    const s = schedule(cronSchedule('0 12 31 * *', 'UTC'));
    expect(runs(s, '2026-01-01T00:00:00Z', 4)).toEqual(['2026-01-31T12:00:00Z', '2026-03-31T12:00:00Z', '2026-05-31T12:00:00Z', '2026-07-31T12:00:00Z']);
  });

  it('a job on 29 February waits for the next leap year', () => {
    const s = schedule(cronSchedule('0 6 29 2 *', 'Europe/Berlin'));
    expect(runs(s, '2026-03-01T00:00:00Z', 2)).toEqual(['2028-02-29T05:00:00Z', '2032-02-29T05:00:00Z']);
  });

  it('the last day of the month (L), the last Friday (5L) and the second Monday (1#2)', () => {
    expect(runs(schedule(cronSchedule('0 0 L * *')), '2026-01-15T00:00:00Z', 3)).toEqual(['2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z', '2026-03-31T00:00:00Z']);
    expect(runs(schedule(cronSchedule('0 0 * * 5L')), '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-30T00:00:00Z', '2026-02-27T00:00:00Z']);
    expect(runs(schedule(cronSchedule('0 0 ? * MON#2')), '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-12T00:00:00Z', '2026-02-09T00:00:00Z']);
  });

  it('a monthly repeating interval from 31 January: 28 February, then 31 March (counted from the start)', () => {
    const s = schedule(repeatingSchedule('R/2026-01-31T10:00:00Z/P1M'));
    expect(runs(s, '2026-01-01T00:00:00Z', 3)).toEqual(['2026-01-31T10:00:00Z', '2026-02-28T10:00:00Z', '2026-03-31T10:00:00Z']);
    const leap = schedule(repeatingSchedule('R/2028-02-29T00:00:00Z/P1Y'));
    expect(runs(leap, '2028-03-01T00:00:00Z', 1)).toEqual(['2029-02-28T00:00:00Z']);
  });
});

describe('ISO 8601 repeating intervals (Chronos)', () => {
  it('R3/…/PT1H runs three times, then is exhausted', () => {
    const s = schedule(repeatingSchedule('R3/2026-06-01T08:00:00Z/PT1H'));
    expect(runs(s, '2026-01-01T00:00:00Z', 5)).toEqual(['2026-06-01T08:00:00Z', '2026-06-01T09:00:00Z', '2026-06-01T10:00:00Z']);
    expect(exhausted(s, at('2026-06-01T09:59:59Z'))).toBe(false);
    expect(exhausted(s, at('2026-06-01T10:00:00Z'))).toBe(true);
  });

  it('P1D keeps the local time across a change of clocks; PT24H is 24 hours of elapsed time', () => {
    const days = schedule(repeatingSchedule('R/2026-03-28T09:00/P1D', 'Europe/Berlin'));
    expect(runs(days, '2026-03-28T00:00:00Z', 2)).toEqual(['2026-03-28T08:00:00Z', '2026-03-29T07:00:00Z']);
    const hours = schedule(repeatingSchedule('R/2026-03-28T09:00/PT24H', 'Europe/Berlin'));
    expect(runs(hours, '2026-03-28T00:00:00Z', 2)).toEqual(['2026-03-28T08:00:00Z', '2026-03-29T08:00:00Z']);
  });

  it('an empty start means now', () => {
    const s = schedule(repeatingSchedule('R2//PT30M', 'UTC', at('2026-05-05T10:00:00Z')));
    expect(runs(s, '2026-05-05T09:00:00Z', 3)).toEqual(['2026-05-05T10:00:00Z', '2026-05-05T10:30:00Z']);
  });
});

describe('bad schedules say what is wrong', () => {
  it.each([
    ['61 * * * *', "'61 * * * *' is not a cron expression: minute: 61 is outside 0-59"],
    ['* * * *', "'* * * *' is not a cron expression: expected 5 fields (minute hour day-of-month month day-of-week) and an optional year, got 4"],
    ['0 0 * FOO *', "'0 0 * FOO *' is not a cron expression: month: 'FOO' is not a number or a name (JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, SEP, OCT, NOV, DEC)"],
    ['0 0 5-1 * *', "'0 0 5-1 * *' is not a cron expression: day of month: the range '5-1' runs backwards"],
    ['0 0 15W * *', "'0 0 15W * *' is not a cron expression: day of month: 'W' (nearest weekday) is not supported; use a weekday range such as 1-5 in day of week"],
  ])('%s', (text, error) => {
    expect(parseCron(text)).toEqual({ ok: false, error });
  });

  it('an unknown time zone, a malformed interval or period, a zero period', () => {
    expect(cronSchedule('0 0 * * *', 'Mars/Olympus')).toEqual({ ok: false, error: "'Mars/Olympus' is not a time zone (an IANA name such as Europe/Berlin or UTC)" });
    expect(repeatingSchedule('R5/2026-01-01T00:00:00Z')).toMatchObject({ ok: false, error: expect.stringContaining('expected three parts') });
    expect(repeatingSchedule('X/2026-01-01T00:00:00Z/PT1H')).toMatchObject({ ok: false, error: expect.stringContaining("'X' should be R or Rn") });
    expect(repeatingSchedule('R/yesterday/PT1H')).toMatchObject({ ok: false, error: expect.stringContaining("'yesterday' is not an ISO 8601 date-time") });
    expect(parsePeriod('P1H')).toMatchObject({ ok: false });
    expect(parsePeriod('PT0S')).toEqual({ ok: false, error: "'PT0S' is a period of zero: nothing would ever move on" });
    expect(repeatingSchedule('R//PT0.5S')).toEqual({ ok: false, error: "'R//PT0.5S' is not a schedule R[n]/<start>/<period>: 'PT0.5S' is under a second: a job runs at most once a second" });
    expect(repeatingSchedule('R//PT1S')).toMatchObject({ ok: true });
  });
});

describe('properties', () => {
  const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'];

  it('a daily job runs once per local day: the next run is after now, within 25 hours, at its time unless that time was skipped', () => {
    fc.assert(fc.property(
      fc.constantFrom(...zones), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }),
      fc.integer({ min: at('2025-01-01T00:00:00Z'), max: at('2028-12-31T00:00:00Z') }),
      (zone, hour, minute, now) => {
        const s = schedule(cronSchedule(`${minute} ${hour} * * *`, zone));
        const t = next(s, now) as number;
        expect(t).toBeGreaterThan(now);
        expect(t - now).toBeLessThanOrEqual(25 * 3_600_000);
        const l = toLocal(zone, t);
        const asked = fromLocal(zone, { ...l, hour, minute, second: 0 });
        // Either it is that local time, or that local time does not exist and this is its stand-in.
        expect(l.hour === hour && l.minute === minute ? true : asked === t).toBe(true);
        // And the one after is a different local day.
        const after = next(s, t) as number;
        const la = toLocal(zone, after);
        expect([la.year, la.month, la.day]).not.toEqual([l.year, l.month, l.day]);
      },
    ), { numRuns: 300 });
  });
});
