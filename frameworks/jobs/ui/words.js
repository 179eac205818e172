// Schedules in words, for the jobs list and a job's page: Metronome's cron and Chronos's
// ISO 8601 repeating intervals. Only the common shapes get words; anything else is shown as
// written, which is never wrong. Pure.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const MONTH_NAMES = Object.fromEntries(MONTHS.map((m, i) => [m.slice(0, 3).toLowerCase(), i + 1]));

const isNum = (f) => /^\d+$/.test(f);
const pad = (n) => String(n).padStart(2, '0');
/** "every minute", "every 5 minutes": the unit alone for one. */
const plural = (n, one) => (Number(n) === 1 ? one : `${n} ${one}s`);
/** "1 day", "12 hours": always the number. */
const count = (n, one) => `${n} ${one}${Number(n) === 1 ? '' : 's'}`;
const list = (xs) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`);

/** A field of plain numbers (`5`, `1,15`) → the numbers; undefined for anything else. */
function numbers(field, names = {}) {
  const parts = field.toLowerCase().split(',').map((p) => (p in names ? String(names[p]) : p));
  return parts.every(isNum) ? parts.map(Number) : undefined;
}

function weekdays(field) {
  const f = field.toLowerCase();
  if (f === '1-5' || f === 'mon-fri') return 'on weekdays';
  if (f === '0,6' || f === '6,0' || f === 'sat,sun' || f === 'sun,sat') return 'on weekends';
  const ds = numbers(f, DAY_NAMES);
  return ds ? `on ${list(ds.map((d) => `${DAYS[d % 7]}s`))}` : undefined;
}

/** `0 2 * * *` → "daily at 02:00"; undefined when it takes more than a phrase to say. */
export function cronWords(expr) {
  const f = String(expr).trim().split(/\s+/);
  if (f.length < 5 || f.length > 6) return undefined;
  const [min, hour, dom, mon, dow, year] = f;
  if (year !== undefined && year !== '*') return undefined;
  const anyDay = (dom === '*' || dom === '?') && (dow === '*' || dow === '?');
  if (mon === '*' && anyDay && hour === '*') {
    if (min === '*') return 'every minute';
    const step = /^(\*|0)\/(\d+)$/.exec(min);
    if (step) return `every ${plural(step[2], 'minute')}`;
    if (isNum(min)) return `hourly at :${pad(min)}`;
    return undefined;
  }
  const mins = numbers(min);
  if (!mins || mins.length !== 1) return undefined;
  const hourStep = /^(\*|0)\/(\d+)$/.exec(hour);
  if (hourStep && mon === '*' && anyDay) return `every ${plural(hourStep[2], 'hour')} at :${pad(mins[0])}`;
  const hours = numbers(hour);
  if (!hours) return undefined;
  const at = `at ${list(hours.map((x) => `${pad(x)}:${pad(mins[0])}`))}`;
  if (mon === '*' && anyDay) return `daily ${at}`;
  if (mon === '*' && (dom === '*' || dom === '?')) {
    const days = weekdays(dow);
    return days ? `${days} ${at}` : undefined;
  }
  if (dow !== '*' && dow !== '?') return undefined;
  const dayOf = dom === 'L' ? 'the last day' : isNum(dom) ? `day ${dom}` : undefined;
  if (!dayOf) return undefined;
  if (mon === '*') return `monthly on ${dayOf} ${at}`;
  const months = numbers(mon, MONTH_NAMES);
  if (!months || months.length !== 1) return undefined;
  return dom === 'L' ? `yearly on the last day of ${MONTHS[months[0] - 1]} ${at}` : `yearly on ${MONTHS[months[0] - 1]} ${dom} ${at}`;
}

/** `PT30M` → "30 minutes", `P1D` → "day", `P1DT12H` → "1 day 12 hours"; undefined if not a period. */
export function periodWords(period) {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(period);
  if (!m || period === 'P' || period.endsWith('T')) return undefined;
  const units = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'];
  const parts = units.map((u, i) => [m[i + 1], u]).filter(([n]) => n !== undefined && Number(n) > 0);
  if (parts.length === 0) return undefined;
  if (parts.length === 1 && Number(parts[0][0]) === 1) return parts[0][1];
  return parts.map(([n, u]) => count(n, u)).join(' ');
}

/** `R/2024-01-01T00:00:00Z/PT1H` → "every hour from 2024-01-01 00:00 UTC"; `R3/…` adds "3 times". */
export function repeatingWords(expr) {
  const [r, start, period] = String(expr).split('/');
  const every = period !== undefined ? periodWords(period) : undefined;
  if (!/^R\d*$/.test(r ?? '') || !every) return undefined;
  const times = r.length > 1 ? (r === 'R1' ? ', once' : `, ${count(r.slice(1), 'time')}`) : '';
  const from = start ? ` from ${start.replace('T', ' ').replace(/:00(\.000)?Z$/, ' UTC').replace(/Z$/, ' UTC')}` : '';
  return `every ${every}${from}${times}`;
}

/**
 * What the jobs list's SCHEDULE column says: the schedule in words (or as written) and its
 * time zone; for a job without one, what starts it: its parents, or only a person.
 */
export function scheduleWords(schedule, parents = []) {
  if (!schedule) return parents.length > 0 ? `after ${list(parents)}` : 'on demand';
  const words = schedule.kind === 'cron' ? cronWords(schedule.expression) : repeatingWords(schedule.expression);
  const zone = schedule.timeZone && schedule.timeZone !== 'UTC' ? ` (${schedule.timeZone})` : schedule.kind === 'cron' ? ' (UTC)' : '';
  return `${words ?? schedule.expression}${zone}`;
}
