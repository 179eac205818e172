/**
 * The jobs framework at run time: jobs, their cursors, runs and the dependency state, kept
 * in a store, on the shared runtime (../shared/runtime.ts), which takes the clock, offers,
 * status updates and API commands one at a time and acts on the pure decisions in
 * decide.ts. What this file adds is the jobs framework's commands and views.
 *
 * An attempt is written before its Accept is sent, a status update before it is
 * acknowledged, and a command before it is answered; a run's end, the children it lets go
 * and the dependency state are one commit (decide.ts says why an occurrence runs exactly
 * once; the runtime's header what each commit guarantees after a crash).
 *
 * Words: a *job* is a definition; an *occurrence* one time its schedule names; a *run* what
 * happens for an occurrence, for "run now" or for its parents' success; an *attempt* one
 * task of a run (a retry is the next attempt).
 */
import type { Clock } from '../../common/clock';
import type { Listeners } from '../../common/listeners';
import type { Logger } from '../../common/log';
import type { Offer, TaskStatus } from '../../common/types';
import type { Driver } from '../shared/driver';
import { ApiError } from '../shared/http';
import { FrameworkRuntime, type CommandOutcome } from '../shared/runtime';
import { dependencyProblem } from './dag';
import {
  activeRuns, allActiveRuns, applyChange, commitOf, evaluate, isActive, jobsModel, newRun, onStatus, place, retention,
  current, type JobsEvent, type JobsModel, type JobsRules, type WaitingRun,
} from './decide';
import { liveAttempt, type RunRecord } from './history';
import type { Job } from './job';
import type { Schedule } from './schedule';
import { ScheduleBook } from './schedule-book';
import type { JobsChange, JobsState, JobsStore } from './store';

export type { Driver } from '../shared/driver';
export { isActive, type JobsEvent };

/** A command refused: what was wrong, in words (and by JSON path); nothing changed. */
export class JobsError extends Error {
  override readonly name = 'JobsError';
  constructor(readonly kind: 'not-found' | 'exists' | 'conflict' | 'invalid', message: string, readonly details: { path: string; errors: string[] }[] = []) {
    super(message);
  }
}

export interface JobsFrameworkOptions {
  store: JobsStore;
  clock: Clock;
  log: Logger;
  /** Five or more random characters, for run ids. */
  random: () => string;
  /** The delay before a failed run's first retry; it doubles for each one after (default 10 s, Chronos waits 60). */
  retryDelayMs?: number;
  /** Runs kept per job, the newest (default 100). */
  keepRuns?: number;
  /** How long an offer nothing wants is declined for (default 5 s). */
  declineRefuseMs?: number;
}

type Outcome<T> = CommandOutcome<JobsChange, JobsEvent, T>;

export class JobsFramework {
  readonly state: JobsModel;
  private readonly runtime: FrameworkRuntime<JobsModel, JobsChange, JobsEvent, WaitingRun>;
  private readonly rules: JobsRules;

  constructor(state: JobsState, private readonly o: JobsFrameworkOptions) {
    this.state = jobsModel(state);
    const book = new ScheduleBook({ log: o.log, now: () => this.now() });
    this.rules = { book, random: o.random, retryDelayMs: o.retryDelayMs ?? 10_000, keepRuns: o.keepRuns ?? 100 };
    const rules = this.rules;
    this.runtime = new FrameworkRuntime(this.state, {
      name: 'jobs framework',
      apply: (m, c) => applyChange(m, c, book),
      evaluate: (m, now) => evaluate(m, now, rules),
      onStatus: (m, status, now) => onStatus(m, status, now, rules),
      place,
      live: (m) => allActiveRuns(m).flatMap((r) => { const a = liveAttempt(r); return a ? [{ taskId: a.taskId, agentId: a.agentId }] : []; }),
      idle: 'no job run is waiting',
      refusal: (e) => e instanceof JobsError || e instanceof ApiError,
    }, { store: o.store, clock: o.clock, log: o.log, ...(o.declineRefuseMs !== undefined ? { declineRefuseMs: o.declineRefuseMs } : {}) });
  }

  static async load(o: JobsFrameworkOptions): Promise<JobsFramework> {
    const f = new JobsFramework(await o.store.load(), o);
    // Due occurrences and runs waiting since before a restart are looked at now, not at the first offer.
    f.step(() => undefined).catch(() => undefined);
    return f;
  }

  /** Every stored change, in order (listeners are called once the step that stored it ends). */
  get events(): Listeners<JobsEvent> {
    return this.runtime.events;
  }

  now(): number {
    return this.o.clock.now();
  }

  /** Runs `fn` in the framework's turn; the state changes only inside steps. */
  step<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.runtime.step(fn);
  }

  private command<T>(decide: () => Outcome<T>): Promise<T> {
    return this.runtime.command(decide);
  }

  // ---- views -------------------------------------------------------------------------------

  runsOf(jobId: string): readonly RunRecord[] {
    return this.state.runs.get(jobId) ?? [];
  }

  activeRuns(jobId: string): RunRecord[] {
    return activeRuns(this.state, jobId);
  }

  /** Every active run, of every job. */
  allActiveRuns(): RunRecord[] {
    return allActiveRuns(this.state);
  }

  scheduleOf(job: Job): Schedule | undefined {
    return this.rules.book.scheduleOf(job);
  }

  /** Whether the job runs on its schedule now (it has one, enabled, and the job is not disabled). */
  scheduled(job: Job): boolean {
    return this.rules.book.scheduled(job);
  }

  /** The job's next occurrence (overdue ones included), if it runs on a schedule. */
  nextRun(jobId: string): number | undefined {
    const job = this.state.jobs.get(jobId);
    return job && this.rules.book.nextRun(job, this.state.cursors.get(jobId) ?? this.now());
  }

  // ---- the master connection ------------------------------------------------------------------

  attach(driver: Driver, frameworkId: string): Promise<void> {
    return this.runtime.attach(driver, frameworkId);
  }

  detach(): void {
    this.runtime.detach();
  }

  /** Takes no more steps; resolves once the one under way is done (its writes in). */
  stop(): Promise<void> {
    return this.runtime.stop();
  }

  onOffers(offers: Offer[]): Promise<void> {
    return this.runtime.onOffers(offers);
  }

  onUpdate(status: TaskStatus): Promise<void> {
    return this.runtime.onUpdate(status);
  }

  // ---- commands (the REST APIs, the UI and the CLI) -----------------------------------------

  /**
   * Creates (`create`), replaces (`replace`) or either (`upsert`) a job. Refused when its
   * parents do not exist or would form a cycle. A new schedule starts from now: occurrences
   * before it are not missed ones.
   */
  putJob(job: Job, mode: 'create' | 'replace' | 'upsert'): Promise<Job> {
    return this.command(() => {
      const old = this.state.jobs.get(job.id);
      if (old && mode === 'create') throw new JobsError('exists', `Job with id '${job.id}' already exists`);
      if (!old && mode === 'replace') throw new JobsError('not-found', `Job '${job.id}' does not exist`);
      return this.storeJob(old, job);
    });
  }

  /** Changes a job by `change(job)`, in one step: no other change comes between the read and the write. */
  updateJob(id: string, change: (job: Job) => Job): Promise<Job> {
    return this.command(() => {
      const old = this.state.jobs.get(id);
      if (!old) throw new JobsError('not-found', `Job '${id}' does not exist`);
      return this.storeJob(old, { ...change(old), id });
    });
  }

  private storeJob(old: Job | undefined, job: Job): Outcome<Job> {
    const problem = dependencyProblem([...this.state.jobs.values()], job);
    if (problem) throw new JobsError('invalid', problem, [{ path: job.dialect === 'chronos' ? '/parents' : '/dependencies', errors: [problem] }]);
    const now = this.now();
    const fixed = withStart(job, now);
    const fresh = !old || !old.schedule || !fixed.schedule || old.schedule.expression !== fixed.schedule.expression
      || old.schedule.timeZone !== fixed.schedule.timeZone || (!this.scheduled(old) && fixed.schedule.enabled && !fixed.disabled);
    return { result: fixed, commits: [commitOf({ jobs: [fixed], ...(fresh && fixed.schedule ? { cursors: [{ jobId: job.id, at: now - 1 }] } : {}) })] };
  }

  /**
   * Deletes a job; refused while it runs, unless those runs are to be stopped. Jobs that
   * depend on it are refused too (Metronome), or re-parented (`reparent`, Chronos): a child
   * takes the deleted job's parents in its place, or its schedule when it had none.
   */
  deleteJob(id: string, o: { stopCurrentJobRuns: boolean; reparent?: boolean }): Promise<Job> {
    return this.command(() => {
      const job = this.state.jobs.get(id);
      if (!job) throw new JobsError('not-found', `Job '${id}' does not exist`);
      const children = [...this.state.jobs.values()].filter((j) => j.parents.includes(id));
      if (children.length > 0 && !o.reparent) {
        throw new JobsError('conflict', `Job '${id}' cannot be deleted: ${children.map((c) => `'${c.id}'`).join(', ')} depend${children.length === 1 ? 's' : ''} on it`);
      }
      const reparented = children.map((c): Job => {
        const parents = [...new Set([...c.parents.filter((p) => p !== id), ...job.parents])];
        return parents.length > 0 || c.schedule || !job.schedule ? { ...c, parents } : { ...c, parents, schedule: job.schedule };
      });
      const active = this.activeRuns(id);
      if (active.length > 0 && !o.stopCurrentJobRuns) {
        throw new JobsError('conflict', `Job '${id}' has ${active.length} active run${active.length === 1 ? '' : 's'}. Override with stopCurrentJobRuns=true`);
      }
      const dag = structuredClone(this.state.dag);
      delete dag.doneAt[id];
      delete dag.triggeredAt[id];
      const now = this.now();
      const change: JobsChange = {
        deleteJobs: [id], dag, jobs: reparented,
        cursors: reparented.filter((c) => c.schedule && c.parents.length === 0).map((c) => ({ jobId: c.id, at: now - 1 })),
      };
      // Their records are gone: each live task is killed until it ends, and as an orphan if it reports again.
      const forget = active.flatMap((r) => { const a = liveAttempt(r); return a ? [{ taskId: a.taskId, agentId: a.agentId }] : []; });
      return { result: job, commits: [commitOf(change)], forget };
    });
  }

  /** Starts a run now, whatever the schedule and the concurrency policy say. */
  runNow(id: string): Promise<RunRecord> {
    return this.command(() => {
      const job = this.state.jobs.get(id);
      if (!job) throw new JobsError('not-found', `Job '${id}' does not exist`);
      const run = newRun(job, 'manual', this.now(), this.o.random);
      return { result: run, commits: [commitOf({ runs: [run], deleteRuns: retention(this.state, id, [run], this.rules.keepRuns) })] };
    });
  }

  /** Stops a run: its task is killed, and it ends FAILED, "stopped". */
  stopRun(jobId: string, runId: string): Promise<RunRecord> {
    return this.command(() => {
      if (!this.state.jobs.has(jobId)) throw new JobsError('not-found', `Job '${jobId}' does not exist`);
      const run = current(this.state, { jobId, runId });
      if (!run || !isActive(run)) throw new JobsError('not-found', `Job '${jobId}' has no active run '${runId}'`);
      const stopped = { ...run, stopRequested: run.stopRequested ?? 'stopped on request' };
      return { result: stopped, commits: [commitOf({ runs: [stopped] })] };
    });
  }

  /** Stops every active run of a job; how many there were. */
  killJob(jobId: string): Promise<number> {
    return this.command(() => {
      if (!this.state.jobs.has(jobId)) throw new JobsError('not-found', `Job '${jobId}' does not exist`);
      const runs = this.activeRuns(jobId).filter((r) => !r.stopRequested).map((r) => ({ ...r, stopRequested: 'killed on request' }));
      return { result: runs.length, commits: runs.length > 0 ? [commitOf({ runs })] : [] };
    });
  }
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

