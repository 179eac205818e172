/**
 * What the REST APIs (and the UI and CLI through them) can ask of the jobs framework, each
 * as a pure decision on the state: `(state, request, now) → commits and an answer`, or a
 * `JobsError` that says what was wrong and changes nothing. The framework runs each in its
 * turn on the shared runtime, which commits before it answers.
 */
import type { CommandOutcome } from '../shared/runtime';
import { dependencyProblem } from './dag';
import { activeRuns, commitOf, current, isActive, newRun, retention, type JobsEvent, type JobsRules } from './decide';
import { liveAttempt, type RunRecord } from './history';
import type { Job } from './job';
import type { JobsChange, JobsState } from './store';

/** A command refused: what was wrong, in words (and by JSON path); nothing changed. */
export class JobsError extends Error {
  override readonly name = 'JobsError';
  constructor(readonly kind: 'not-found' | 'exists' | 'conflict' | 'invalid', message: string, readonly details: { path: string; errors: string[] }[] = []) {
    super(message);
  }
}

type Outcome<T> = CommandOutcome<JobsChange, JobsEvent, T>;

const notFound = (id: string) => new JobsError('not-found', `Job '${id}' does not exist`);

/**
 * Creates (`create`), replaces (`replace`) or either (`upsert`) a job. Refused when its
 * parents do not exist or would form a cycle. A new schedule starts from now: occurrences
 * before it are not missed ones.
 */
export function putJob(m: JobsState, rules: JobsRules, job: Job, mode: 'create' | 'replace' | 'upsert', now: number): Outcome<Job> {
  const old = m.jobs.get(job.id);
  if (old && mode === 'create') throw new JobsError('exists', `Job with id '${job.id}' already exists`);
  if (!old && mode === 'replace') throw notFound(job.id);
  return storeJob(m, rules, old, job, now);
}

/** Changes a job by `change(job)`, on the state as it is: no other change comes between the read and the write. */
export function updateJob(m: JobsState, rules: JobsRules, id: string, change: (job: Job) => Job, now: number): Outcome<Job> {
  const old = m.jobs.get(id);
  if (!old) throw notFound(id);
  return storeJob(m, rules, old, { ...change(old), id }, now);
}

function storeJob(m: JobsState, rules: JobsRules, old: Job | undefined, job: Job, now: number): Outcome<Job> {
  const problem = dependencyProblem([...m.jobs.values()], job);
  if (problem) throw new JobsError('invalid', problem, [{ path: job.dialect === 'chronos' ? '/parents' : '/dependencies', errors: [problem] }]);
  const fixed = withStart(job, now);
  const fresh = !old || !old.schedule || !fixed.schedule || old.schedule.expression !== fixed.schedule.expression
    || old.schedule.timeZone !== fixed.schedule.timeZone || (!rules.book.scheduled(old) && fixed.schedule.enabled && !fixed.disabled);
  return { result: fixed, commits: [commitOf({ jobs: [fixed], ...(fresh && fixed.schedule ? { cursors: [{ jobId: job.id, at: now - 1 }] } : {}) })] };
}

/**
 * Deletes a job; refused while it runs, unless those runs are to be stopped. Jobs that
 * depend on it are refused too (Metronome), or re-parented (`reparent`, Chronos): a child
 * takes the deleted job's parents in its place, or its schedule when it had none. The
 * deleted job's live tasks are killed until they end.
 */
export function deleteJob(m: JobsState, id: string, o: { stopCurrentJobRuns: boolean; reparent?: boolean }, now: number): Outcome<Job> {
  const job = m.jobs.get(id);
  if (!job) throw notFound(id);
  const children = [...m.jobs.values()].filter((j) => j.parents.includes(id));
  if (children.length > 0 && !o.reparent) {
    throw new JobsError('conflict', `Job '${id}' cannot be deleted: ${children.map((c) => `'${c.id}'`).join(', ')} depend${children.length === 1 ? 's' : ''} on it`);
  }
  const reparented = children.map((c): Job => {
    const parents = [...new Set([...c.parents.filter((p) => p !== id), ...job.parents])];
    return parents.length > 0 || c.schedule || !job.schedule ? { ...c, parents } : { ...c, parents, schedule: job.schedule };
  });
  const active = activeRuns(m, id);
  if (active.length > 0 && !o.stopCurrentJobRuns) {
    throw new JobsError('conflict', `Job '${id}' has ${active.length} active run${active.length === 1 ? '' : 's'}. Override with stopCurrentJobRuns=true`);
  }
  const dag = structuredClone(m.dag);
  delete dag.doneAt[id];
  delete dag.triggeredAt[id];
  const change: JobsChange = {
    deleteJobs: [id], dag, jobs: reparented,
    cursors: reparented.filter((c) => c.schedule && c.parents.length === 0).map((c) => ({ jobId: c.id, at: now - 1 })),
  };
  const forget = active.flatMap((r) => { const a = liveAttempt(r); return a ? [{ taskId: a.taskId, agentId: a.agentId }] : []; });
  return { result: job, commits: [commitOf(change)], forget };
}

/** Starts a run now, whatever the schedule and the concurrency policy say. */
export function runNow(m: JobsState, rules: JobsRules, id: string, now: number): Outcome<RunRecord> {
  const job = m.jobs.get(id);
  if (!job) throw notFound(id);
  const run = newRun(job, 'manual', now, rules.random);
  return { result: run, commits: [commitOf({ runs: [run], deleteRuns: retention(m, id, [run], rules.keepRuns) })] };
}

/** Stops a run: its task is killed, and it ends FAILED, "stopped". */
export function stopRun(m: JobsState, jobId: string, runId: string): Outcome<RunRecord> {
  if (!m.jobs.has(jobId)) throw notFound(jobId);
  const run = current(m, { jobId, runId });
  if (!run || !isActive(run)) throw new JobsError('not-found', `Job '${jobId}' has no active run '${runId}'`);
  const stopped = { ...run, stopRequested: run.stopRequested ?? 'stopped on request' };
  return { result: stopped, commits: [commitOf({ runs: [stopped] })] };
}

/** Stops every active run of a job; how many there were. */
export function killJob(m: JobsState, jobId: string): Outcome<number> {
  if (!m.jobs.has(jobId)) throw notFound(jobId);
  const runs = activeRuns(m, jobId).filter((r) => !r.stopRequested).map((r) => ({ ...r, stopRequested: 'killed on request' }));
  return { result: runs.length, commits: runs.length > 0 ? [commitOf({ runs })] : [] };
}

/** A Chronos schedule with no start (`R/ /PT1H`) starts when the job is stored, written down so it stays put. */
function withStart(job: Job, now: number): Job {
  const s = job.schedule;
  if (!s || s.kind !== 'iso8601') return job;
  const parts = s.expression.split('/');
  if (parts.length !== 3 || parts[1] !== '') return job;
  const start = new Date(now).toISOString();
  return { ...job, schedule: { ...s, expression: `${parts[0]}/${start}/${parts[2]}` } };
}
