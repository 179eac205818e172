/**
 * The jobs framework's decisions, as pure functions of its state and the time, for the shared
 * runtime (../shared/runtime.ts) to act on:
 *  - `evaluate`: every job and its active runs looked at once — occurrences due (run, skipped,
 *    replacing, or missed), deadlines passed, runs that waited too long for a launch, stopped
 *    runs whose task is gone — as one commit; which runs wait for offers; which tasks must be
 *    killed; and when to look again;
 *  - `onStatus`: a status update as a change to its attempt and run (a retry, the run's end
 *    and the children it lets go, in one commit), or a stray to kill;
 *  - `place`: offers → attempts, written before they are launched.
 *
 * Exactly once per occurrence: the look that finds an occurrence due writes the run's record
 * and moves the job's cursor in one atomic commit, before anything is launched. After a
 * crash either both are stored (the run is known: its tasks are reconciled, and it is
 * launched if it never was) or neither (the occurrence is due again, and runs late if still
 * within `startingDeadlineSeconds`).
 */
import { isTerminal, type Offer, type TaskInfo, type TaskStatus } from '../../common/types';
import type { Commit, Evaluation, Placement, StatusOutcome, TaskRef } from '../shared/runtime';
import { afterEnd } from './dag';
import { liveAttempt, type Attempt, type RunRecord } from './history';
import type { Job } from './job';
import { placeRuns, runIdAt, runOfTask } from './launch';
import { concurrency } from './occurrences';
import { exhausted } from './schedule';
import type { DueJob, ScheduleBook } from './schedule-book';
import { applyJobsChange, type JobsChange, type JobsState } from './store';

/**
 * What changed, after it is stored: a job created or changed, a job deleted, a run made or
 * moved on (served as `/v1/events`, for the UI and for tests to wait on).
 */
export type JobsEvent =
  | { type: 'job_updated'; job: Job }
  | { type: 'job_deleted'; jobId: string }
  | { type: 'run_updated'; run: RunRecord };

/** The stored state, and the active runs (run id → job id): a look reads these, not every job's history. */
export interface JobsModel extends JobsState {
  active: Map<string, string>;
}

/** A run waiting for an offer. */
export interface WaitingRun { job: Job; run: RunRecord }

/** What the decisions need besides the state and the time. */
export interface JobsRules {
  /** The schedules, parsed and their occurrences found as seldom as can be (a cache, not state). */
  book: ScheduleBook;
  /** Five or more random characters, for run ids. */
  random: () => string;
  retryDelayMs: number;
  keepRuns: number;
}

export type JobsCommit = Commit<JobsChange, JobsEvent>;

const ACTIVE: ReadonlySet<string> = new Set(['STARTING', 'ACTIVE']);
export const isActive = (r: RunRecord): boolean => ACTIVE.has(r.state);
/** Ends of an attempt that never started: the launch never happened, so it is tried again and not counted. */
const NOT_TRIED: ReadonlySet<string> = new Set(['TASK_DROPPED', 'TASK_GONE', 'TASK_UNKNOWN']);
const MAX_RETRY_DELAY_MS = 10 * 60_000;

export function jobsModel(s: JobsState): JobsModel {
  const active = new Map<string, string>();
  for (const r of [...s.runs.values()].flat()) if (isActive(r)) active.set(r.runId, r.jobId);
  return Object.assign(s, { active });
}

/** A change with the events it makes. */
export function commitOf(change: JobsChange): JobsCommit {
  return {
    change,
    events: [
      ...(change.jobs ?? []).map((job): JobsEvent => ({ type: 'job_updated', job })),
      ...(change.deleteJobs ?? []).map((jobId): JobsEvent => ({ type: 'job_deleted', jobId })),
      ...(change.runs ?? []).map((run): JobsEvent => ({ type: 'run_updated', run })),
    ],
  };
}

/** Applies a stored change in memory, keeping the active-run index and the schedule cache right. */
export function applyChange(m: JobsModel, c: JobsChange, book: ScheduleBook): void {
  applyJobsChange(m, c);
  if (c.jobs?.length || c.deleteJobs?.length || c.cursors?.length) book.changed();
  for (const id of c.deleteJobs ?? []) book.forget(id);
  for (const r of c.runs ?? []) if (isActive(r)) m.active.set(r.runId, r.jobId); else m.active.delete(r.runId);
  for (const { runId } of c.deleteRuns ?? []) m.active.delete(runId);
  for (const id of c.deleteJobs ?? []) for (const [runId, jobId] of m.active) if (jobId === id) m.active.delete(runId);
}

/** The stored version of a run. */
export function current(m: JobsState, ids: { jobId: string; runId: string }): RunRecord | undefined {
  return m.runs.get(ids.jobId)?.find((r) => r.runId === ids.runId);
}

export function allActiveRuns(m: JobsModel): RunRecord[] {
  return [...m.active].map(([runId, jobId]) => current(m, { jobId, runId })).filter((r): r is RunRecord => r !== undefined);
}

export function activeRuns(m: JobsState, jobId: string): RunRecord[] {
  return (m.runs.get(jobId) ?? []).filter(isActive);
}

export function needsLaunch(run: RunRecord, now: number): boolean {
  return isActive(run) && !run.stopRequested && liveAttempt(run) === undefined && (run.retryAt ?? 0) <= now;
}

/**
 * A new run. One for an occurrence is named by the occurrence (its time, and a digest of the
 * job and the time): a look retried after a commit whose answer was lost writes the same
 * record again, not a second run for the same occurrence.
 */
export function newRun(job: Job, trigger: RunRecord['trigger'], now: number, random: () => string, scheduledAt?: number): RunRecord {
  const runId = scheduledAt === undefined ? runIdAt(now, random()) : runIdAt(scheduledAt, digest(`${job.id} ${scheduledAt}`));
  return { runId, jobId: job.id, trigger, ...(scheduledAt !== undefined ? { scheduledAt } : {}), state: 'STARTING', attempts: [], createdAt: now };
}

/** Finished runs to delete so that a job keeps its newest `keep` (active ones are never deleted). */
export function retention(m: JobsState, jobId: string, adding: readonly RunRecord[], keep: number): { jobId: string; runId: string }[] {
  const ids = new Set(adding.filter((r) => r.jobId === jobId).map((r) => r.runId));
  const all = [...(m.runs.get(jobId) ?? []).filter((r) => !ids.has(r.runId)), ...adding.filter((r) => r.jobId === jobId)];
  const over = all.length - keep;
  if (over <= 0) return [];
  return all.filter((r) => !isActive(r)).slice(0, over).map((r) => ({ jobId, runId: r.runId }));
}

/** The dependency state after a job ended, and the runs of its children that may now go. */
function dependentsOf(m: JobsState, jobId: string, success: boolean, now: number, random: () => string, dag = m.dag): Pick<JobsChange, 'dag' | 'runs'> {
  const after = afterEnd([...m.jobs.values()], dag, { id: jobId, at: now, success });
  if (after.state === dag) return { runs: [] };
  const runs = after.run.map((id) => m.jobs.get(id)).filter((j): j is Job => j !== undefined && !j.disabled).map((j) => newRun(j, 'parents', now, random));
  return { dag: after.state, runs };
}

/** A run's end, in one change with what follows from it: the dependency state, and the runs of the children it lets go. */
function endRun(m: JobsState, run: RunRecord, state: 'SUCCESS' | 'FAILED', now: number, rules: JobsRules, o: { message?: string; exitCode?: number | undefined }): JobsChange {
  // A success's message says how it got there, not what the last retry said.
  const { retryAt: _, message: said, ...rest } = run;
  const message = o.message ?? (state === 'SUCCESS' ? (run.attempts.length > 1 ? `succeeded on attempt ${run.attempts.length}` : undefined) : said);
  const done: RunRecord = { ...rest, state, endedAt: now, ...(message ? { message } : {}), ...(o.exitCode !== undefined ? { exitCode: o.exitCode } : {}) };
  const follow = dependentsOf(m, done.jobId, state === 'SUCCESS', now, rules.random);
  const runs = [done, ...follow.runs ?? []];
  return { runs, ...(follow.dag ? { dag: follow.dag } : {}), deleteRuns: retention(m, done.jobId, runs, rules.keepRuns) };
}

// ---- status updates -------------------------------------------------------------------------

export function onStatus(m: JobsModel, status: TaskStatus, now: number, rules: JobsRules): StatusOutcome<JobsChange, JobsEvent> {
  const ids = runOfTask(status.taskId);
  const run = ids && current(m, ids);
  const attempt = run?.attempts.find((a) => a.taskId === status.taskId);
  // Unknown to the store (an orphan), or back after its end was counted (its agent was
  // partitioned, and the run went on without it): it must not run beside what replaced it.
  // A resent end of an ended attempt changes nothing.
  if (!run || !attempt || attempt.endedAt !== undefined) return { stray: true };
  if (attempt.state === status.state && status.exitCode === undefined) return {};
  return { commit: commitOf(attemptMoved(m, run, attempt, status, now, rules)) };
}

function attemptMoved(m: JobsState, run: RunRecord, attempt: Attempt, status: TaskStatus, now: number, rules: JobsRules): JobsChange {
  const ended = isTerminal(status.state) || status.state === 'TASK_UNKNOWN';
  const a: Attempt = {
    ...attempt, state: status.state,
    ...(status.state === 'TASK_RUNNING' && attempt.runningAt === undefined ? { runningAt: now } : {}),
    ...(ended ? { endedAt: now } : {}),
    ...(status.exitCode !== undefined ? { exitCode: status.exitCode } : {}),
    ...(status.message ? { message: status.message } : {}),
  };
  let r: RunRecord = { ...run, attempts: run.attempts.map((x) => (x.taskId === a.taskId ? a : x)) };
  if (!isActive(run)) return { runs: [r] };   // a late update of a finished run: kept, nothing follows
  if (status.state === 'TASK_RUNNING') r.state = 'ACTIVE';
  if (!ended) return { runs: [r] };
  if (status.state === 'TASK_FINISHED') return endRun(m, r, 'SUCCESS', now, rules, { exitCode: status.exitCode ?? 0 });
  const why = `attempt ${r.attempts.length} ended ${status.state}${status.message ? `: ${status.message}` : ''}`;
  if (r.stopRequested) return endRun(m, r, 'FAILED', now, rules, { message: r.stopRequested, exitCode: status.exitCode });
  if (attempt.runningAt === undefined && NOT_TRIED.has(status.state)) {
    return { runs: [{ ...r, state: 'STARTING', message: `${why}; launching it again` }] };   // never tried: not a failure
  }
  const failures = r.attempts.filter((x) => x.endedAt !== undefined && x.state !== 'TASK_FINISHED' && !(x.runningAt === undefined && NOT_TRIED.has(x.state))).length;
  const job = m.jobs.get(run.jobId);
  const retries = job?.restartPolicy === 'NEVER' ? 0 : job?.retries ?? 0;
  if (failures <= retries) {
    const delay = Math.min(rules.retryDelayMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
    r = { ...r, state: 'STARTING', retryAt: now + delay, message: `${why}; retry ${failures} of ${retries} in ${Math.round(delay / 100) / 10} s` };
    return { runs: [r] };
  }
  return endRun(m, r, 'FAILED', now, rules, { message: why, exitCode: status.exitCode });
}

// ---- the look at everything -------------------------------------------------------------------

/** What one look decides, gathered as it goes: runs by id in their new versions, cursors, jobs, the dependency state. */
class Look {
  readonly runs = new Map<string, RunRecord>();
  readonly cursors: { jobId: string; at: number }[] = [];
  readonly jobs: Job[] = [];
  dag: JobsChange['dag'];
  wakeAt = Infinity;

  constructor(private readonly m: JobsModel, private readonly now: number, private readonly rules: JobsRules) {}

  put(r: RunRecord): void {
    this.runs.set(r.runId, r);
  }

  /** Ends a run that has no live task, with the children its end lets go. */
  fail(r: RunRecord, message: string): void {
    const { retryAt: _, ...rest } = r;
    this.put({ ...rest, state: 'FAILED', endedAt: this.now, message });
    const follow = dependentsOf(this.m, r.jobId, false, this.now, this.rules.random, this.dag);
    if (follow.dag) {
      this.dag = follow.dag;
      for (const c of follow.runs ?? []) this.put(c);
    }
  }

  change(): JobsChange | undefined {
    if (this.runs.size === 0 && this.cursors.length === 0 && this.jobs.length === 0 && !this.dag) return undefined;
    const list = [...this.runs.values()];
    const deleteRuns = [...new Set(list.map((r) => r.jobId))].flatMap((id) => retention(this.m, id, list, this.rules.keepRuns));
    return { runs: list, cursors: this.cursors, jobs: this.jobs, deleteRuns, ...(this.dag ? { dag: this.dag } : {}) };
  }
}

/** An occurrence found due: its run (or a SKIPPED record), what it replaces, the missed ones, the cursor moved. */
function occurrence(look: Look, m: JobsModel, { job, schedule, due: d }: DueJob, now: number, random: () => string): void {
  const sched = job.schedule!;
  look.cursors.push({ jobId: job.id, at: d.cursor });
  if (d.missedCount > 0) {
    const last = d.missed[d.missed.length - 1]!;
    look.put({
      ...newRun(job, 'schedule', now, random, last), state: 'MISSED', endedAt: now,
      message: `${d.missedCount} occurrence${d.missedCount === 1 ? '' : 's'} missed (the latest ${new Date(last).toISOString()}): more than startingDeadlineSeconds=${sched.startingDeadlineSeconds} late, or passed over for a later one`,
    });
  }
  if (d.run !== undefined) {
    const active = activeRuns(m, job.id);
    const start = concurrency(sched.concurrencyPolicy, active.length);
    const at = new Date(d.run).toISOString();
    if (start === 'skip') {
      look.put({ ...newRun(job, 'schedule', now, random, d.run), state: 'SKIPPED', endedAt: now, message: `concurrencyPolicy FORBID: run ${active.map((r) => r.runId).join(', ')} still going` });
    } else {
      const run = newRun(job, 'schedule', now, random, d.run);
      if (start === 'replace') for (const r of active) look.put({ ...r, stopRequested: `replaced by run ${run.runId} (concurrencyPolicy REPLACE, occurrence ${at})` });
      look.put(run);
    }
  }
  if (exhausted(schedule, d.cursor)) look.jobs.push({ ...job, disabled: true });   // R[n] has run n times
}

/** One active run (in its new version) looked at: past its deadline, never launched in time, stopped and gone, or waiting. */
function activeRun(look: Look, job: Job, r: RunRecord, now: number): WaitingRun | undefined {
  const live = liveAttempt(r);
  const deadline = job.activeDeadlineSeconds !== undefined && r.startedAt !== undefined ? r.startedAt + job.activeDeadlineSeconds * 1000 : Infinity;
  const launchBy = live === undefined && !r.attempts.some((a) => a.runningAt !== undefined) ? (r.createdAt ?? now) + job.maxLaunchDelaySeconds * 1000 : Infinity;
  if (!r.stopRequested && deadline <= now) {
    const stopped = { ...r, stopRequested: `past its deadline: still going after activeDeadlineSeconds=${job.activeDeadlineSeconds}` };
    if (live) look.put(stopped); else look.fail(stopped, stopped.stopRequested);
    return undefined;
  }
  if (!r.stopRequested && launchBy <= now) {
    look.fail(r, `not launched within maxLaunchDelay=${job.maxLaunchDelaySeconds} s: no offer could take it`);
    return undefined;
  }
  if (r.stopRequested && !live) {
    look.fail(r, r.stopRequested);
    return undefined;
  }
  look.wakeAt = Math.min(look.wakeAt, deadline, launchBy);
  if (needsLaunch(r, now)) return { job, run: r };
  if (!live && r.retryAt !== undefined) look.wakeAt = Math.min(look.wakeAt, r.retryAt);
  return undefined;
}

export function evaluate(m: JobsModel, now: number, rules: JobsRules): Evaluation<JobsChange, JobsEvent, WaitingRun> {
  const look = new Look(m, now, rules);
  const found = rules.book.due(m.jobs.values(), (id: string) => m.cursors.get(id), now);
  look.wakeAt = found.wakeAt;
  for (const d of found.due) occurrence(look, m, d, now, rules.random);
  // Every active run, in its new version.
  const active = allActiveRuns(m);
  const all = active.map((r) => look.runs.get(r.runId) ?? r);
  if (look.runs.size > 0) {
    // Runs this look started (not yet in the active index): usually none, so the set is built only then.
    const known = new Set(active.map((r) => r.runId));
    for (const r of look.runs.values()) if (isActive(r) && !known.has(r.runId)) all.push(r);
  }
  const waiting: WaitingRun[] = [];
  for (const r of all) {
    const job = m.jobs.get(r.jobId);
    const w = job && activeRun(look, job, r, now);
    if (w) waiting.push(w);
  }
  const change = look.change();
  const kills: TaskRef[] = [];
  const staging: (TaskRef & { since: number })[] = [];
  for (const r of active) {
    const a = liveAttempt(r);
    if (a && r.stopRequested) kills.push(ref(a));
    if (a?.state === 'TASK_STAGING') staging.push({ ...ref(a), since: a.startedAt });
  }
  return {
    commits: change ? [commitOf(change)] : [],
    wants: waiting.sort((a, b) => (a.run.createdAt ?? 0) - (b.run.createdAt ?? 0)),
    kills,
    staging,
    waiting: waiting.map(({ run }) => ({ key: `${run.jobId} ${run.runId}`, count: 1, ...(run.retryAt !== undefined ? { delayedUntil: run.retryAt } : {}) })),
    wakeAt: look.wakeAt,
  };
}

const ref = (a: Attempt): TaskRef => ({ taskId: a.taskId, agentId: a.agentId });

// ---- offers ------------------------------------------------------------------------------------

/** Offers → the next attempts of waiting runs, written before they are launched. */
export function place(m: JobsModel, offers: readonly Offer[], wants: readonly WaitingRun[], now: number): Placement<JobsChange, JobsEvent> {
  // Only runs as stored now: a want from a look whose commit was lost names a run that is not.
  const waiting = wants.flatMap(({ job, run }) => { const r = current(m, run); return r && needsLaunch(r, now) ? [{ job, run: r }] : []; });
  const { placed, refusals } = placeRuns(offers, waiting);
  const launches = new Map<string, TaskInfo[]>();
  for (const p of placed) launches.set(p.offerId, [...launches.get(p.offerId) ?? [], p.task]);
  const runs = placed.map((p) => {
    const run = current(m, { jobId: p.jobId, runId: p.runId })!;
    const attempt: Attempt = { taskId: p.task.taskId, agentId: p.task.agentId, hostname: p.hostname, startedAt: now, state: 'TASK_STAGING' };
    const { retryAt: _, ...rest } = run;
    return { ...rest, startedAt: run.startedAt ?? now, attempts: [...run.attempts, attempt] };
  });
  return {
    ...(runs.length > 0 ? { commit: commitOf({ runs }) } : {}),
    launches, declined: refusals, more: waiting.length > placed.length,
  };
}

/** Five base-36 characters from a string (FNV-1a): stable names, not secrets. */
function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36).padStart(7, '0').slice(-5);
}
