/**
 * The schedule calculator: from a schedule, its time zone and a time, the next occurrences.
 * Pure — time comes in as a number — and exact to the second.
 *
 *  - cron (Metronome): every local time the expression names, in the schedule's zone;
 *  - ISO 8601 repeating intervals (Chronos): `R[n]/<start>/<period>` — occurrence k is
 *    start + k × period, counted from the start each time (so P1M from 31 January gives
 *    28/29 February, then 31 March), calendar parts (years, months, weeks, days) in local
 *    time of the zone, hours/minutes/seconds as elapsed time; `Rn` stops after n occurrences.
 *
 * Daylight saving: a local time in the skipped hour runs as the instant it would have been
 * before the change (02:30 → 03:30 summer time); one in the repeated hour runs once, the
 * first time (zone.ts). Bounded: a search looks at most 30 years ahead.
 */
import { cronDay, parseCron, type CronSpec } from './cron';
import { fromLocal, isTimeZone, offsetAt, toLocal } from './zone';

export interface Period { years: number; months: number; weeks: number; days: number; hours: number; minutes: number; seconds: number }

export type Schedule =
  | { kind: 'cron'; cron: CronSpec; timeZone: string }
  | { kind: 'repeating'; start: number; period: Period; timeZone: string; repeats?: number };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const SEARCH_DAYS = 30 * 366;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function cronSchedule(expression: string, timeZone = 'UTC'): Parsed<Schedule> {
  if (!isTimeZone(timeZone)) return { ok: false, error: `'${timeZone}' is not a time zone (an IANA name such as Europe/Berlin or UTC)` };
  const c = parseCron(expression);
  return c.ok ? { ok: true, value: { kind: 'cron', cron: c.cron, timeZone } } : { ok: false, error: c.error };
}

const PERIOD = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export function parsePeriod(text: string): Parsed<Period> {
  const m = PERIOD.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return { ok: false, error: `'${text}' is not an ISO 8601 duration such as PT1H, P1D or P1M` };
  const [years, months, weeks, days, hours, minutes, seconds] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number, number];
  const p = { years, months, weeks, days, hours, minutes, seconds };
  if (Object.values(p).every((v) => v === 0)) return { ok: false, error: `'${text}' is a period of zero: nothing would ever move on` };
  return { ok: true, value: p };
}

/**
 * `R[n]/<start>/<period>` (Chronos): an empty start means `now`. A start without an offset is
 * local time in `timeZone`.
 */
export function repeatingSchedule(text: string, timeZone = 'UTC', now = 0): Parsed<Schedule> {
  if (!isTimeZone(timeZone)) return { ok: false, error: `'${timeZone}' is not a time zone (an IANA name such as Europe/Berlin or UTC)` };
  const parts = text.split('/');
  const bad = (why: string): Parsed<Schedule> => ({ ok: false, error: `'${text}' is not a schedule R[n]/<start>/<period>: ${why}` });
  if (parts.length !== 3) return bad('expected three parts separated by /');
  const [r, startText, periodText] = parts as [string, string, string];
  const rm = /^R(\d*)$/.exec(r);
  if (!rm) return bad(`'${r}' should be R or Rn, n the number of runs`);
  const period = parsePeriod(periodText);
  if (!period.ok) return bad(period.error);
  const p = period.value;
  if (p.years + p.months + p.weeks + p.days + p.hours + p.minutes === 0 && p.seconds < 1) return bad(`'${periodText}' is under a second: a job runs at most once a second`);
  let start = now;
  if (startText !== '') {
    const local = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?$/.exec(startText);
    if (local) {
      const [y, mo, d, h, mi, s] = local.slice(1).map((x) => Number(x ?? 0)) as number[];
      start = fromLocal(timeZone, { year: y!, month: mo!, day: d!, hour: h!, minute: mi!, second: s! });
    } else {
      start = Date.parse(startText);
      if (!/^\d{4}-\d\d-\d\dT/.test(startText) || Number.isNaN(start)) return bad(`'${startText}' is not an ISO 8601 date-time`);
    }
  }
  return { ok: true, value: { kind: 'repeating', start, period: period.value, timeZone, ...(rm[1] !== '' ? { repeats: Number(rm[1]) } : {}) } };
}

/** Occurrence k of a repeating schedule: calendar parts in local time, the rest elapsed. */
export function occurrence(s: Extract<Schedule, { kind: 'repeating' }>, k: number): number {
  const p = s.period;
  const l = toLocal(s.timeZone, s.start);
  const months = l.month - 1 + k * (p.years * 12 + p.months);
  const year = l.year + Math.floor(months / 12);
  const month = (months % 12 + 12) % 12 + 1;
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = Math.min(l.day, lastDay);
  const calendar = Date.UTC(year, month - 1, day) + k * (p.weeks * 7 + p.days) * 86_400_000;
  const date = new Date(calendar);
  const base = fromLocal(s.timeZone, { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: l.hour, minute: l.minute, second: l.second });
  return base + Math.round(k * ((p.hours * 60 + p.minutes) * 60 + p.seconds) * 1000);
}

/** Whether a schedule has no occurrence after `after` (an `Rn` that has run out). */
export function exhausted(s: Schedule, after: number): boolean {
  return next(s, after) === undefined;
}

/** The first occurrence strictly after `after`, or undefined if there is none. */
export function next(s: Schedule, after: number): number | undefined {
  return s.kind === 'cron' ? nextCron(s, after) : nextRepeating(s, after);
}

/** Up to `count` occurrences strictly after `after`, in order. */
export function nextOccurrences(s: Schedule, after: number, count: number): number[] {
  const out: number[] = [];
  let t = after;
  for (let i = 0; i < count; i++) {
    const n = next(s, t);
    if (n === undefined) break;
    out.push(n);
    t = n;
  }
  return out;
}

function nextRepeating(s: Extract<Schedule, { kind: 'repeating' }>, after: number): number | undefined {
  if (s.start > after) return s.repeats === 0 ? undefined : s.start;
  // A first guess from the average length of the period, then step to the exact one.
  const p = s.period;
  const approx = ((((p.years * 365.2425 + p.months * 30.436875 + p.weeks * 7 + p.days) * 24 + p.hours) * 60 + p.minutes) * 60 + p.seconds) * 1000;
  let k = Math.max(0, Math.floor((after - s.start) / approx) - 2);
  while (occurrence(s, k) <= after) k++;
  while (k > 0 && occurrence(s, k - 1) > after) k--;
  if (s.repeats !== undefined && k >= s.repeats) return undefined;
  return occurrence(s, k);
}

function nextCron(s: Extract<Schedule, { kind: 'cron' }>, after: number): number | undefined {
  const { cron, timeZone } = s;
  const start = toLocal(timeZone, after);
  const minutes = [...cron.minutes].sort((x, y) => x - y);
  const hours = [...cron.hours].sort((x, y) => x - y);
  const lastYear = cron.years ? Math.max(...cron.years) : Infinity;
  /** Day d's first instant after `after`, and whether the day is near a clock change. */
  const first = (d: number): { at?: number; changing: boolean } => {
    const day = new Date(Date.UTC(start.year, start.month - 1, start.day + d));
    const [year, month, date] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    if (!cronDay(cron, year, month, date)) return { changing: false };
    const midnight = Date.UTC(year, month - 1, date);
    const early = offsetAt(timeZone, midnight - 17 * HOUR);
    const late = offsetAt(timeZone, midnight + DAY + 17 * HOUR);
    if (early === late) {
      // One offset all around the day (every day but two a year): arithmetic, in order, the first that is late enough.
      for (const hour of hours) {
        if (midnight + (hour * 60 + 59) * 60_000 - early <= after) continue;
        for (const minute of minutes) {
          const t = midnight + (hour * 60 + minute) * 60_000 - early;
          if (t > after) return { at: t, changing: false };
        }
      }
      return { changing: false };
    }
    // Near a change each time is asked of the zone (gaps and overlaps: zone.ts). A time shifted
    // out of a skipped hour (02:30 → 03:30) comes after a real 03:15, so the search goes on
    // while a later local time could still be an earlier instant.
    let best: number | undefined;
    for (const hour of hours) {
      for (const minute of minutes) {
        const wall = midnight + (hour * 60 + minute) * 60_000;
        if (best !== undefined && wall - Math.max(early, late) > best) return { at: best, changing: true };
        if (wall - Math.min(early, late) <= after) continue;
        const t = fromLocal(timeZone, { year, month, day: date, hour, minute, second: 0 });
        if (t > after && (best === undefined || t < best)) best = t;
      }
    }
    return { ...(best !== undefined ? { at: best } : {}), changing: true };
  };
  for (let d = 0; d < SEARCH_DAYS; d++) {
    if (new Date(Date.UTC(start.year, start.month - 1, start.day + d)).getUTCFullYear() > lastYear) return undefined;
    const today = first(d);
    if (today.at === undefined) continue;
    if (!today.changing) return today.at;
    // A time pushed past midnight by a change can come after the next day's first.
    const tomorrow = first(d + 1).at;
    return tomorrow === undefined ? today.at : Math.min(today.at, tomorrow);
  }
  return undefined;
}
