/**
 * A job's run history and its statistics: every run with its scheduled time, start, end,
 * final state, exit status, attempts, agent and task ids; kept to a bounded number per job
 * (the oldest go first); and the numbers operators ask for — successes and errors, the last
 * of each, durations at p50 and p95. Pure.
 */
import { isTerminal, type TaskState } from '../../common/types';

export type RunState = 'STARTING' | 'ACTIVE' | 'SUCCESS' | 'FAILED' | 'MISSED' | 'SKIPPED';

/** One try at a run: one task. */
export interface Attempt {
  taskId: string;
  agentId: string;
  hostname?: string;
  /** When it was launched. */
  startedAt: number;
  /** When the agent reported it running. */
  runningAt?: number;
  endedAt?: number;
  /** The task's last state (TASK_STAGING … TASK_FINISHED). */
  state: string;
  exitCode?: number;
  message?: string;
}

export interface RunRecord {
  runId: string;
  jobId: string;
  /** What started it: its schedule, someone (run now), or its parents' success. */
  trigger?: 'schedule' | 'manual' | 'parents';
  /** The occurrence it is for; undefined for "run now" and for runs started by parents. */
  scheduledAt?: number;
  /** When the run was made (due, asked for, or let go by its parents). */
  createdAt?: number;
  /** When its first attempt was launched. */
  startedAt?: number;
  endedAt?: number;
  state: RunState;
  exitCode?: number;
  message?: string;
  attempts: Attempt[];
  /** The next attempt is not launched before this (a retry's delay). */
  retryAt?: number;
  /** Asked to end (stopped, replaced, past its deadline): why. It ends FAILED with this message. */
  stopRequested?: string;
}

export interface JobStats {
  successCount: number;
  errorCount: number;
  lastSuccess?: number;
  lastError?: number;
  /** Of finished runs with a start and an end, in seconds. */
  durationP50Seconds?: number;
  durationP95Seconds?: number;
}

/** The attempt of a run still going (not ended), if any: at most one is. */
export function liveAttempt(r: RunRecord): Attempt | undefined {
  return r.attempts.find((a) => !isTerminal(a.state as TaskState) && a.state !== 'TASK_UNKNOWN');
}

/** Adds or replaces `run` (by runId), keeping at most `keep` runs, the newest. */
export function record(history: readonly RunRecord[], run: RunRecord, keep: number): RunRecord[] {
  const rest = history.filter((r) => r.runId !== run.runId);
  const all = [...rest, run].sort((a, b) => order(a) - order(b));
  return all.slice(Math.max(0, all.length - keep));
}

function order(r: RunRecord): number {
  return r.startedAt ?? r.scheduledAt ?? r.endedAt ?? 0;
}

/** The nearest-rank percentile of sorted values (p in 0–100). */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function stats(history: readonly RunRecord[]): JobStats {
  const out: JobStats = { successCount: 0, errorCount: 0 };
  const durations: number[] = [];
  for (const r of history) {
    if (r.state === 'SUCCESS') {
      out.successCount++;
      out.lastSuccess = Math.max(out.lastSuccess ?? -Infinity, r.endedAt ?? 0);
    } else if (r.state === 'FAILED') {
      out.errorCount++;
      out.lastError = Math.max(out.lastError ?? -Infinity, r.endedAt ?? 0);
    }
    if ((r.state === 'SUCCESS' || r.state === 'FAILED') && r.startedAt !== undefined && r.endedAt !== undefined) {
      durations.push((r.endedAt - r.startedAt) / 1000);
    }
  }
  durations.sort((a, b) => a - b);
  const p50 = percentile(durations, 50);
  const p95 = percentile(durations, 95);
  return { ...out, ...(p50 !== undefined ? { durationP50Seconds: p50 } : {}), ...(p95 !== undefined ? { durationP95Seconds: p95 } : {}) };
}
