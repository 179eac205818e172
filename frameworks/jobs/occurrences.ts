/**
 * Which scheduled occurrences are due, and what to do with each. Pure: the framework keeps,
 * per job, a cursor (the last occurrence it has dealt with) in Redis, writes the run's
 * record before launching it, and moves the cursor in the same write — so after a restart an
 * occurrence is neither run twice nor forgotten (chronos#411, chronos#508).
 *
 * Of the occurrences between the cursor and now, only the latest may run, and only if it is
 * not more than `startingDeadlineSeconds` late; the others are recorded as missed (a job
 * down for a day does not run 24 hourly occurrences at once). The concurrency policy then
 * decides whether it starts beside a run still going (ALLOW), is skipped (FORBID), or
 * replaces it (REPLACE).
 */
import type { ConcurrencyPolicy } from './job';
import { next, type Schedule } from './schedule';

export interface Due {
  /** The occurrence to run now, if any. */
  run?: number;
  /** Occurrences passed over: too late, or not the latest (at most `maxMissed`, the latest ones). */
  missed: number[];
  /** How many were passed over in all. */
  missedCount: number;
  /** The new cursor: every occurrence up to it has been dealt with. */
  cursor: number;
  /** When to look again: the next occurrence after the cursor, if there is one. */
  wakeAt?: number;
}

/** Occurrences counted one by one at most, before the startingDeadlineSeconds window; beyond, the count is a floor. */
export const MAX_COUNTED = 10_000;

export function due(schedule: Schedule, cursor: number, now: number, startingDeadlineSeconds: number, maxMissed = 100): Due {
  const first = next(schedule, cursor);
  if (first === undefined || first > now) return { missed: [], missedCount: 0, cursor, ...(first !== undefined ? { wakeAt: first } : {}) };
  const passed: number[] = [];
  let missedCount = 0;
  const pass = (t: number) => {
    missedCount++;
    passed.push(t);
    if (passed.length > maxMissed) passed.shift();
  };
  // Bounded however long the framework was down: the occurrences before the window in which
  // one may still start are counted (up to MAX_COUNTED); the ones in the window are walked
  // to the latest; a window's worth is startingDeadlineSeconds over the period.
  const windowStart = now - startingDeadlineSeconds * 1000;
  let t = cursor;
  let counted = 0;
  for (let n: number | undefined = first; n !== undefined && n < windowStart && n <= now; n = next(schedule, t)) {
    if (++counted > MAX_COUNTED) {
      missedCount = Math.max(missedCount, MAX_COUNTED);
      t = windowStart - 1;   // the rest before the window: not counted one by one
      break;
    }
    pass(n);
    t = n;
  }
  let latest: number | undefined;
  for (let n = next(schedule, t); n !== undefined && n <= now; n = next(schedule, n)) {
    if (latest !== undefined) pass(latest);
    latest = n;
  }
  if (latest === undefined) {
    // Every occurrence up to now was before the window: all missed, and dealt with.
    const last = passed[passed.length - 1] ?? t;
    return { missed: passed, missedCount, cursor: Math.max(last, t), ...wake(schedule, now) };
  }
  return { run: latest, missed: passed, missedCount, cursor: latest, ...wake(schedule, latest) };
}

function wake(schedule: Schedule, after: number): { wakeAt?: number } {
  const n = next(schedule, after);
  return n === undefined ? {} : { wakeAt: n };
}

export type Start = 'start' | 'skip' | 'replace';

/** What an occurrence does about runs of the same job still going. */
export function concurrency(policy: ConcurrencyPolicy, activeRuns: number): Start {
  if (activeRuns === 0 || policy === 'ALLOW') return 'start';
  return policy === 'FORBID' ? 'skip' : 'replace';
}
