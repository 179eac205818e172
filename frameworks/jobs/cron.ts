/**
 * Cron expressions as Metronome takes them: five fields (minute hour day-of-month month
 * day-of-week) and an optional sixth, the year. Each field takes `*`, `?` (as `*`), numbers,
 * ranges `a-b`, steps `*\/n` and `a-b/n`, lists `a,b`, and month and day names (JAN, MON).
 * Beyond that: `L` in day-of-month (the last day), `nL` in day-of-week (the last such weekday
 * of the month) and `n#k` (the k-th such weekday). When both day fields are restricted, a day
 * matching either runs (as classic cron does). Pure; a bad expression gets an error naming
 * the field and what was wrong.
 */

export interface CronSpec {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  /** Day-of-month `L`. */
  lastDayOfMonth: boolean;
  months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (7 is read as 0). */
  weekdays: ReadonlySet<number>;
  /** `n#k`: weekday n, k-th of the month (1–5). */
  nthWeekdays: readonly { weekday: number; nth: number }[];
  /** `nL`: the last weekday n of the month. */
  lastWeekdays: ReadonlySet<number>;
  /** Whether the day-of-month / day-of-week fields are `*` (or `?`). */
  anyDayOfMonth: boolean;
  anyWeekday: boolean;
  /** Undefined: every year. */
  years?: ReadonlySet<number>;
  text: string;
}

export type ParsedCron = { ok: true; cron: CronSpec } | { ok: false; error: string };

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

class CronError extends Error {}

interface FieldRule { name: string; min: number; max: number; names?: readonly string[]; nameBase?: number }

const FIELDS: readonly FieldRule[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
  { name: 'year', min: 1970, max: 2199 },
];

function value(rule: FieldRule, text: string): number {
  const byName = rule.names?.indexOf(text.toUpperCase()) ?? -1;
  if (byName >= 0) return byName + (rule.nameBase ?? 0);
  if (!/^\d+$/.test(text)) throw new CronError(`${rule.name}: '${text}' is not a number${rule.names ? ` or a name (${rule.names.join(', ')})` : ''}`);
  const n = Number(text);
  if (n < rule.min || n > rule.max) throw new CronError(`${rule.name}: ${n} is outside ${rule.min}-${rule.max}`);
  return n;
}

/** The values a plain field (no L or #) allows. */
function values(rule: FieldRule, field: string): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    if (part === '') throw new CronError(`${rule.name}: an empty list item in '${field}'`);
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined) throw new CronError(`${rule.name}: '${part}' has more than one '/'`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (stepText !== undefined && (!/^\d+$/.test(stepText) || step < 1)) throw new CronError(`${rule.name}: the step in '${part}' must be a whole number ≥ 1`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') [lo, hi] = [rule.min, rule.max];
    else if (range!.includes('-')) {
      const [a, b] = range!.split('-') as [string, string];
      [lo, hi] = [value(rule, a), value(rule, b)];
      if (lo > hi) throw new CronError(`${rule.name}: the range '${range}' runs backwards`);
    } else {
      lo = value(rule, range!);
      hi = stepText === undefined ? lo : rule.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseCron(text: string): ParsedCron {
  try {
    const fields = text.trim().split(/\s+/);
    if (fields.length < 5 || fields.length > 6) {
      throw new CronError(`expected 5 fields (minute hour day-of-month month day-of-week) and an optional year, got ${fields.length}`);
    }
    const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string | undefined];
    let lastDayOfMonth = false;
    let daysOfMonth = new Set<number>();
    const domParts = dom.split(',').filter((p) => {
      if (p.toUpperCase() !== 'L') return true;
      lastDayOfMonth = true;
      return false;
    });
    if (domParts.some((p) => /W/i.test(p))) throw new CronError(`day of month: 'W' (nearest weekday) is not supported; use a weekday range such as 1-5 in day of week`);
    if (domParts.length > 0) daysOfMonth = values(FIELDS[2]!, domParts.join(','));
    const nthWeekdays: { weekday: number; nth: number }[] = [];
    const lastWeekdays = new Set<number>();
    const plainDow: string[] = [];
    for (const p of dow.split(',')) {
      const nth = /^(\w+)#(\d)$/.exec(p);
      const last = /^(\w+)L$/i.exec(p);
      if (nth) {
        const k = Number(nth[2]);
        if (k < 1 || k > 5) throw new CronError(`day of week: '${p}': the week of the month must be 1-5`);
        nthWeekdays.push({ weekday: value(FIELDS[4]!, nth[1]!) % 7, nth: k });
      } else if (last) lastWeekdays.add(value(FIELDS[4]!, last[1]!) % 7);
      else plainDow.push(p);
    }
    const weekdays = new Set([...(plainDow.length > 0 ? values(FIELDS[4]!, plainDow.join(',')) : [])].map((d) => d % 7));
    const anyDayOfMonth = dom === '*' || dom === '?';
    const anyWeekday = dow === '*' || dow === '?';
    const cron: CronSpec = {
      minutes: values(FIELDS[0]!, min), hours: values(FIELDS[1]!, hour), daysOfMonth, lastDayOfMonth, months: values(FIELDS[3]!, month),
      weekdays, nthWeekdays, lastWeekdays, anyDayOfMonth, anyWeekday, text: text.trim(),
      ...(year !== undefined && year !== '*' && year !== '?' ? { years: values(FIELDS[5]!, year) } : {}),
    };
    return { ok: true, cron };
  } catch (err) {
    if (err instanceof CronError) return { ok: false, error: `'${text}' is not a cron expression: ${err.message}` };
    throw err;
  }
}

/** Whether a calendar day (y, m 1–12, d) is one the expression runs on. */
export function cronDay(c: CronSpec, year: number, month: number, day: number): boolean {
  if (c.years && !c.years.has(year)) return false;
  if (!c.months.has(month)) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const domOk = c.daysOfMonth.has(day) || (c.lastDayOfMonth && day === daysInMonth);
  const dowOk = c.weekdays.has(weekday) || (c.lastWeekdays.has(weekday) && day + 7 > daysInMonth)
    || c.nthWeekdays.some((n) => n.weekday === weekday && Math.ceil(day / 7) === n.nth);
  if (c.anyDayOfMonth && c.anyWeekday) return true;
  if (c.anyDayOfMonth) return dowOk;
  if (c.anyWeekday) return domOk;
  return domOk || dowOk;
}
