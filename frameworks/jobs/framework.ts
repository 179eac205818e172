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
import { ApiError } from '../shared/http';
import { OnRuntime } from '../shared/on-runtime';
import { FrameworkRuntime, type CommandOutcome } from '../shared/runtime';
import * as commands from './commands';
import { JobsError } from './commands';
import {
  activeRuns, allActiveRuns, applyChange, evaluate, isActive, jobsModel, onStatus, place, type JobsEvent, type JobsModel, type JobsRules, type WaitingRun,
} from './decide';
import { liveAttempt, type RunRecord } from './history';
import type { Job } from './job';
import type { Schedule } from './schedule';
import { ScheduleBook } from './schedule-book';
import type { JobsChange, JobsState, JobsStore } from './store';

export type { Driver } from '../shared/driver';
export { isActive, JobsError, type JobsEvent };

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
  /** A write was refused as fenced: the framework has stopped acting for good (the process should exit). */
  fenced?: (err: Error) => void;
}

type Outcome<T> = CommandOutcome<JobsChange, JobsEvent, T>;

export class JobsFramework extends OnRuntime<JobsModel> {
  readonly state: JobsModel;
  protected readonly runtime: FrameworkRuntime<JobsModel, JobsChange, JobsEvent, WaitingRun>;
  private readonly rules: JobsRules;

  constructor(state: JobsState, private readonly o: JobsFrameworkOptions) {
    super();
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
    }, {
      store: o.store, clock: o.clock, log: o.log, ...(o.declineRefuseMs !== undefined ? { declineRefuseMs: o.declineRefuseMs } : {}),
      ...(o.fenced ? { fenced: o.fenced } : {}),
    });
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

  // ---- commands (the REST APIs, the UI and the CLI): decided in commands.ts ------------------

  /** Creates (`create`), replaces (`replace`) or either (`upsert`) a job. */
  putJob(job: Job, mode: 'create' | 'replace' | 'upsert'): Promise<Job> {
    return this.command(() => commands.putJob(this.state, this.rules, job, mode, this.now()));
  }

  /** Changes a job by `change(job)`, in one step: no other change comes between the read and the write. */
  updateJob(id: string, change: (job: Job) => Job): Promise<Job> {
    return this.command(() => commands.updateJob(this.state, this.rules, id, change, this.now()));
  }

  /** Deletes a job (see commands.ts for when it is refused, and how children are re-parented). */
  deleteJob(id: string, o: { stopCurrentJobRuns: boolean; reparent?: boolean }): Promise<Job> {
    return this.command(() => commands.deleteJob(this.state, id, o, this.now()));
  }

  /** Starts a run now, whatever the schedule and the concurrency policy say. */
  runNow(id: string): Promise<RunRecord> {
    return this.command(() => commands.runNow(this.state, this.rules, id, this.now()));
  }

  /** Stops a run: its task is killed, and it ends FAILED, "stopped". */
  stopRun(jobId: string, runId: string): Promise<RunRecord> {
    return this.command(() => commands.stopRun(this.state, jobId, runId));
  }

  /** Stops every active run of a job; how many there were. */
  killJob(jobId: string): Promise<number> {
    return this.command(() => commands.killJob(this.state, jobId));
  }
}

