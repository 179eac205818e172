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

export function due(schedule: Schedule, cursor: number, now: number, startingDeadlineSeconds: number, maxMissed = 100): Due {
  const passed: number[] = [];
  let missedCount = 0;
  let latest: number | undefined;
  let t = cursor;
  // Bounded: a schedule every minute, a week down, is 10 080 steps; beyond that, count no more.
  for (let steps = 0; steps < 1_000_000; steps++) {
    const n = next(schedule, t);
    if (n === undefined || n > now) break;
    if (latest !== undefined) {
      missedCount++;
      passed.push(latest);
      if (passed.length > maxMissed) passed.shift();
    }
    latest = n;
    t = n;
  }
  if (latest === undefined) return { missed: [], missedCount: 0, cursor, ...wake(schedule, cursor) };
  const late = now - latest > startingDeadlineSeconds * 1000;
  if (late) {
    missedCount++;
    passed.push(latest);
    if (passed.length > maxMissed) passed.shift();
  }
  return { ...(late ? {} : { run: latest }), missed: passed, missedCount, cursor: latest, ...wake(schedule, latest) };
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
