/**
 * Wall-clock time in a named time zone (IANA, e.g. Europe/Berlin), through Intl: the offset
 * at an instant, an instant's local fields, and the instant of a local time. Pure.
 *
 * A local time that does not exist (the hour skipped when clocks go forward) is taken as the
 * instant it would have been under the offset before the change — 02:30 on the spring-forward
 * night in Berlin is 03:30 CEST — and a local time that happens twice (the hour repeated when
 * clocks go back) as the earlier one. So a daily 02:30 job runs exactly once on both nights.
 */

export interface LocalTime {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Whether `zone` names a time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** An instant's local fields, read from Intl (slow: the rest of this file asks it as little as it can). */
function intlLocal(zone: string, utcMs: number): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const { year, month, day, hour, minute, second } = parts as Record<string, number>;
  return { year: year!, month: month!, day: day!, hour: hour!, minute: minute!, second: second!, weekday: new Date(Date.UTC(year!, month! - 1, day!)).getUTCDay() };
}

function intlOffset(zone: string, second: number): number {
  const l = intlLocal(zone, second);
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - second;
}

/**
 * Offsets by zone and quarter hour (UTC), kept when the offset is the same at both ends of
 * the quarter: clocks change at most once in fifteen minutes, so it is the same all through.
 * A quarter with a change is asked of Intl to the second, each time.
 */
const QUARTER_MS = 15 * 60_000;
const MAX_CACHED = 200_000;
const offsets = new Map<string, number>();

/** The zone's offset from UTC at `utcMs` (ms; Berlin in winter: +3 600 000). */
export function offsetAt(zone: string, utcMs: number): number {
  const second = Math.floor(utcMs / 1000) * 1000;
  const quarter = Math.floor(utcMs / QUARTER_MS) * QUARTER_MS;
  const key = `${zone} ${quarter}`;
  const known = offsets.get(key);
  if (known !== undefined) return known;
  const first = intlOffset(zone, quarter);
  if (first !== intlOffset(zone, quarter + QUARTER_MS - 1000)) return intlOffset(zone, second);
  if (offsets.size >= MAX_CACHED) offsets.clear();   // bounded: a fresh start costs two Intl calls a quarter
  offsets.set(key, first);
  return first;
}

export function toLocal(zone: string, utcMs: number): LocalTime {
  const second = Math.floor(utcMs / 1000) * 1000;
  const d = new Date(second + offsetAt(zone, second));
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), weekday: d.getUTCDay(),
  };
}

const HOUR = 3_600_000;

/** The instant of a local time in `zone` (see the top of this file for gaps and overlaps). */
export function fromLocal(zone: string, l: Omit<LocalTime, 'weekday'>): number {
  const wall = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  // Offsets in force a little before and after: transitions are months apart, never hours.
  const before = offsetAt(zone, wall - 3 * HOUR - 14 * HOUR);
  const after = offsetAt(zone, wall + 3 * HOUR + 14 * HOUR);
  const candidates = [wall - before, wall - after].filter((t) => offsetAt(zone, t) === wall - t);
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - before;   // in the gap: as if the clocks had not moved yet
}
