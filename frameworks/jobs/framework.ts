/**
 * The jobs framework at run time: jobs, their cursors, runs and the dependency state, kept
 * in a store and driven by the clock, offers, status updates and API commands — each a step,
 * taken in turn (../shared/steps.ts), each ending with a look at every job (`settle`).
 *
 * Exactly once per occurrence: the look that finds an occurrence due writes the run's record
 * and moves the job's cursor in one atomic commit, before anything is launched. After a
 * crash either both are stored (the run is known: its tasks are reconciled, and it is
 * launched if it never was) or neither (the occurrence is due again, and runs late if still
 * within `startingDeadlineSeconds`). Likewise an attempt is written before its Accept is
 * sent, a status update before it is acknowledged, and a command before it is answered; a
 * run's end, the children it lets go and the dependency state are one commit too.
 *
 * Words: a *job* is a definition; an *occurrence* one time its schedule names; a *run* what
 * happens for an occurrence, for "run now" or for its parents' success; an *attempt* one
 * task of a run (a retry is the next attempt).
 */
import type { Clock } from '../../common/clock';
import { Listeners } from '../../common/listeners';
import type { Logger } from '../../common/log';
import { isTerminal, type Offer, type TaskStatus } from '../../common/types';
import type { Driver } from '../shared/driver';
import { ApiError } from '../shared/http';
import { Steps, RETRY_MS } from '../shared/steps';
import { afterEnd, dependencyProblem } from './dag';
import { liveAttempt, type Attempt, type RunRecord } from './history';
import type { Job } from './job';
import { placeRuns, runIdAt, runOfTask } from './launch';
import { TaskWatch } from './watch';
import { concurrency } from './occurrences';
import { exhausted, type Schedule } from './schedule';
import { ScheduleBook } from './schedule-book';
import { applyJobsChange, type JobsChange, type JobsState, type JobsStore } from './store';

export type { Driver } from '../shared/driver';

/**
 * What changed, after it is stored: a job created or changed, a job deleted, a run made or
 * moved on (served as `/v1/events`, for the UI and for tests to wait on).
 */
export type JobsEvent =
  | { type: 'job_updated'; job: Job }
  | { type: 'job_deleted'; jobId: string }
  | { type: 'run_updated'; run: RunRecord };

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

const ACTIVE: ReadonlySet<string> = new Set(['STARTING', 'ACTIVE']);
export const isActive = (r: RunRecord): boolean => ACTIVE.has(r.state);
/** Ends of an attempt that never started: the launch never happened, so it is tried again and not counted. */
const NOT_TRIED: ReadonlySet<string> = new Set(['TASK_DROPPED', 'TASK_GONE', 'TASK_UNKNOWN']);
const MAX_RETRY_DELAY_MS = 10 * 60_000;


export class JobsFramework {
  /** Every stored change, in order (listeners are called after the commit). */
  readonly events = new Listeners<JobsEvent>();
  private driver: Driver | undefined;
  private readonly steps: Steps;
  /** The jobs' schedules, parsed and their next occurrences found as seldom as can be (schedule-book.ts). */
  private readonly book: ScheduleBook;
  /** Kills and questions the master must answer (watch.ts). */
  private readonly watch: TaskWatch;
  private waiting: { job: Job; run: RunRecord }[] = [];
  /** The active runs (run id → job id): a step looks at these, not at every job's history. */
  private readonly active = new Map<string, string>();
  /** Whether the master has us suppressed; undefined after (re)subscribing: say it again. */
  private suppressed: boolean | undefined;
  private readonly retryDelayMs: number;
  private readonly keepRuns: number;

  constructor(readonly state: JobsState, private readonly o: JobsFrameworkOptions) {
    this.retryDelayMs = o.retryDelayMs ?? 10_000;
    this.keepRuns = o.keepRuns ?? 100;
    for (const r of [...state.runs.values()].flat()) if (isActive(r)) this.active.set(r.runId, r.jobId);
    this.book = new ScheduleBook({ log: o.log, now: () => this.now() });
    this.watch = new TaskWatch({ log: o.log, now: () => this.now() });
    this.steps = new Steps({ clock: o.clock, log: o.log, name: 'jobs framework', settle: () => this.settle(), refusal: (e) => e instanceof JobsError || e instanceof ApiError });
  }

  static async load(o: JobsFrameworkOptions): Promise<JobsFramework> {
    const f = new JobsFramework(await o.store.load(), o);
    // Due occurrences and runs waiting since before a restart are looked at now, not at the first offer.
    f.step(() => undefined).catch(() => undefined);
    return f;
  }

  now(): number {
    return this.o.clock.now();
  }

  /** Runs `fn` in the framework's turn; the state changes only inside steps. */
  step<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.steps.run(fn);
  }

  private async commit(change: JobsChange): Promise<void> {
    await this.o.store.commit(change);
    applyJobsChange(this.state, change);
    if (change.jobs?.length || change.deleteJobs?.length || change.cursors?.length) this.book.changed();
    for (const r of change.runs ?? []) if (isActive(r)) this.active.set(r.runId, r.jobId); else this.active.delete(r.runId);
    for (const { runId } of change.deleteRuns ?? []) this.active.delete(runId);
    for (const id of change.deleteJobs ?? []) for (const [runId, jobId] of this.active) if (jobId === id) this.active.delete(runId);
    for (const job of change.jobs ?? []) this.events.emit({ type: 'job_updated', job });
    for (const jobId of change.deleteJobs ?? []) this.events.emit({ type: 'job_deleted', jobId });
    for (const run of change.runs ?? []) this.events.emit({ type: 'run_updated', run });
  }

  // ---- views -------------------------------------------------------------------------------

  runsOf(jobId: string): readonly RunRecord[] {
    return this.state.runs.get(jobId) ?? [];
  }

  activeRuns(jobId: string): RunRecord[] {
    return this.runsOf(jobId).filter(isActive);
  }

  /** Every active run, of every job. */
  allActiveRuns(): RunRecord[] {
    return [...this.active].map(([runId, jobId]) => this.current({ jobId, runId })).filter((r): r is RunRecord => r !== undefined);
  }

  scheduleOf(job: Job): Schedule | undefined {
    return this.book.scheduleOf(job);
  }

  /** Whether the job runs on its schedule now (it has one, enabled, and the job is not disabled). */
  scheduled(job: Job): boolean {
    return this.book.scheduled(job);
  }

  /** The job's next occurrence (overdue ones included), if it runs on a schedule. */
  nextRun(jobId: string): number | undefined {
    const job = this.state.jobs.get(jobId);
    return job && this.book.nextRun(job, this.state.cursors.get(jobId) ?? this.now());
  }

  // ---- the master connection ------------------------------------------------------------------

  /** (Re)subscribed: remember the id, and ask the master about every attempt we think is live. */
  attach(driver: Driver, frameworkId: string): Promise<void> {
    return this.step(async () => {
      this.driver = driver;
      this.suppressed = undefined;
      if (this.state.frameworkId !== frameworkId) {
        await this.o.store.saveFrameworkId(frameworkId);
        this.state.frameworkId = frameworkId;
      }
      const live = this.allActiveRuns().flatMap((r) => r.attempts.filter((a) => a === liveAttempt(r)))
        .map((a) => ({ taskId: a.taskId, agentId: a.agentId }));
      const failed = (e: Error) => this.o.log.warn('reconcile failed', { error: e.message });
      // Explicitly what we know (the master answers even for tasks it never saw: TASK_GONE, and
      // they are launched again); implicitly all it knows of ours, so an orphan turns up and is killed.
      if (live.length > 0) driver.reconcile(live).catch(failed);
      driver.reconcile([]).catch(failed);
      this.watch.reset();
    });
  }

  detach(): void {
    this.driver = undefined;
  }

  /** Takes no more steps; resolves once the one under way is done (its writes in). */
  stop(): Promise<void> {
    return this.steps.stop();
  }

  onOffers(offers: Offer[]): Promise<void> {
    return this.step(async () => {
      const driver = this.driver;
      if (!driver) return;
      const now = this.now();
      const waiting = this.waiting.filter(({ run }) => this.needsLaunch(this.current(run) ?? run, now)).map(({ job, run }) => ({ job, run: this.current(run)! }));
      const { placed, refusals } = placeRuns(offers, waiting);
      if (placed.length > 0) {
        const runs = placed.map((p) => {
          const run = this.current({ jobId: p.jobId, runId: p.runId })!;
          const attempt: Attempt = { taskId: p.task.taskId, agentId: p.task.agentId, hostname: p.hostname, startedAt: now, state: 'TASK_STAGING' };
          const { retryAt: _, ...rest } = run;
          return { ...rest, startedAt: run.startedAt ?? now, attempts: [...run.attempts, attempt] };
        });
        try {
          await this.commit({ runs });
        } catch (err) {
          // Not stored, so not launched; an offer left unanswered would hold its agent's resources.
          driver.decline(offers.map((o) => o.id), { refuseMs: RETRY_MS, reason: 'the jobs framework could not store its launches' }).catch(() => undefined);
          throw err;
        }
      }
      const byOffer = new Map<string, typeof placed>();
      for (const p of placed) byOffer.set(p.offerId, [...(byOffer.get(p.offerId) ?? []), p]);
      for (const offer of offers) {
        const tasks = byOffer.get(offer.id);
        if (tasks) {
          driver.launch(offer, tasks.map((t) => t.task)).catch((e: Error) => {
            // Refused outright: no status will come. The master answers TASK_GONE for what it
            // never launched, and the run is launched again.
            this.o.log.warn('launch failed', { offerId: offer.id, error: e.message });
            driver.reconcile(tasks.map((t) => ({ taskId: t.task.taskId, agentId: t.task.agentId }))).catch(() => undefined);
          });
          continue;
        }
        const refuseMs = this.waiting.length > placed.length ? 1000 : this.o.declineRefuseMs ?? 5000;
        driver.decline([offer.id], { refuseMs, reason: refusals.get(offer.id) ?? 'no job run is waiting' })
          .catch((e: Error) => this.o.log.debug('decline failed', { offerId: offer.id, error: e.message }));
      }
    });
  }

  onUpdate(status: TaskStatus): Promise<void> {
    return this.step(async () => {
      const ids = runOfTask(status.taskId);
      const run = ids && this.current(ids);
      const attempt = run?.attempts.find((a) => a.taskId === status.taskId);
      if (!run || !attempt || attempt.endedAt !== undefined) {
        // Unknown to the store (an orphan), or back after its end was counted (its agent was
        // partitioned, and the run went on without it): it must not run beside what replaced
        // it. A resent end of an ended attempt changes nothing.
        this.stray(status);
      } else if (attempt.state !== status.state || status.exitCode !== undefined) {
        await this.applyStatus(run, attempt, status);
      }
      // Stored above, so it may be acknowledged; not awaited: a slow master must not hold every step.
      if (status.uuid) this.driver?.acknowledge(status).catch((e: Error) => this.o.log.debug('acknowledge failed', { error: e.message }));
    });
  }

  private stray(status: TaskStatus): void {
    if (isTerminal(status.state)) this.watch.ended(status.taskId);
    else this.watch.stray(this.driver, { taskId: status.taskId, agentId: status.agentId });
  }

  private async applyStatus(run: RunRecord, attempt: Attempt, status: TaskStatus): Promise<void> {
    const now = this.now();
    const ended = isTerminal(status.state) || status.state === 'TASK_UNKNOWN';
    const a: Attempt = {
      ...attempt, state: status.state,
      ...(status.state === 'TASK_RUNNING' && attempt.runningAt === undefined ? { runningAt: now } : {}),
      ...(ended ? { endedAt: now } : {}),
      ...(status.exitCode !== undefined ? { exitCode: status.exitCode } : {}),
      ...(status.message ? { message: status.message } : {}),
    };
    let r: RunRecord = { ...run, attempts: run.attempts.map((x) => (x.taskId === a.taskId ? a : x)) };
    if (!isActive(run)) return this.commit({ runs: [r] });   // a late update of a finished run: kept, nothing follows
    if (status.state === 'TASK_RUNNING') r.state = 'ACTIVE';
    if (!ended) return this.commit({ runs: [r] });
    const job = this.state.jobs.get(run.jobId);
    if (status.state === 'TASK_FINISHED') return this.end(r, 'SUCCESS', now, { exitCode: status.exitCode ?? 0 });
    const why = `attempt ${r.attempts.length} ended ${status.state}${status.message ? `: ${status.message}` : ''}`;
    if (r.stopRequested) return this.end(r, 'FAILED', now, { message: r.stopRequested, exitCode: status.exitCode });
    if (attempt.runningAt === undefined && NOT_TRIED.has(status.state)) {
      r = { ...r, state: 'STARTING', message: `${why}; launching it again` };   // never tried: not a failure
      return this.commit({ runs: [r] });
    }
    const failures = r.attempts.filter((x) => x.endedAt !== undefined && x.state !== 'TASK_FINISHED' && !(x.runningAt === undefined && NOT_TRIED.has(x.state))).length;
    const retries = job?.restartPolicy === 'NEVER' ? 0 : job?.retries ?? 0;
    if (failures <= retries) {
      const delay = Math.min(this.retryDelayMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
      r = { ...r, state: 'STARTING', retryAt: now + delay, message: `${why}; retry ${failures} of ${retries} in ${Math.round(delay / 100) / 10} s` };
      return this.commit({ runs: [r] });
    }
    return this.end(r, 'FAILED', now, { message: why, exitCode: status.exitCode });
  }

  /**
   * Ends a run, in one commit with what follows from it: the dependency state, and the runs of
   * the children its end lets go.
   */
  private async end(run: RunRecord, state: 'SUCCESS' | 'FAILED', now: number, o: { message?: string; exitCode?: number | undefined }): Promise<void> {
    // A success's message says how it got there, not what the last retry said.
    const { retryAt: _, message: said, ...rest } = run;
    const message = o.message ?? (state === 'SUCCESS' ? (run.attempts.length > 1 ? `succeeded on attempt ${run.attempts.length}` : undefined) : said);
    const done: RunRecord = { ...rest, state, endedAt: now, ...(message ? { message } : {}), ...(o.exitCode !== undefined ? { exitCode: o.exitCode } : {}) };
    const follow = this.dependentsOf(done.jobId, state === 'SUCCESS', now);
    const change: JobsChange = { runs: [done, ...follow.runs ?? []], ...(follow.dag ? { dag: follow.dag } : {}) };
    change.deleteRuns = this.retention(done.jobId, change.runs!);
    await this.commit(change);
  }

  /** The dependency state after a job ended, and the runs of its children that may now go. */
  private dependentsOf(jobId: string, success: boolean, now: number, dag = this.state.dag): Pick<JobsChange, 'dag' | 'runs'> {
    const jobs = [...this.state.jobs.values()];
    const after = afterEnd(jobs, dag, { id: jobId, at: now, success });
    if (after.state === dag) return { runs: [] };
    const runs = after.run.map((id) => this.state.jobs.get(id)).filter((j): j is Job => j !== undefined && !j.disabled).map((j) => this.newRun(j, 'parents', now));
    return { dag: after.state, runs };
  }

  /**
   * A new run. One for an occurrence is named by the occurrence (its time, and a digest of the
   * job and the time): a look retried after a commit whose answer was lost writes the same
   * record again, not a second run for the same occurrence.
   */
  private newRun(job: Job, trigger: RunRecord['trigger'], now: number, scheduledAt?: number): RunRecord {
    const runId = scheduledAt === undefined ? runIdAt(now, this.o.random()) : runIdAt(scheduledAt, digest(`${job.id} ${scheduledAt}`));
    return { runId, jobId: job.id, trigger, ...(scheduledAt !== undefined ? { scheduledAt } : {}), state: 'STARTING', attempts: [], createdAt: now };
  }

  /** Finished runs to delete so that a job keeps its newest `keepRuns` (active ones are never deleted). */
  private retention(jobId: string, adding: readonly RunRecord[]): { jobId: string; runId: string }[] {
    const ids = new Set(adding.filter((r) => r.jobId === jobId).map((r) => r.runId));
    const all = [...this.runsOf(jobId).filter((r) => !ids.has(r.runId)), ...adding.filter((r) => r.jobId === jobId)];
    const over = all.length - this.keepRuns;
    if (over <= 0) return [];
    return all.filter((r) => !isActive(r)).slice(0, over).map((r) => ({ jobId, runId: r.runId }));
  }

  /** The stored version of a run. */
  private current(ids: { jobId: string; runId: string }): RunRecord | undefined {
    return this.state.runs.get(ids.jobId)?.find((r) => r.runId === ids.runId);
  }

  private needsLaunch(run: RunRecord, now: number): boolean {
    return isActive(run) && !run.stopRequested && liveAttempt(run) === undefined && (run.retryAt ?? 0) <= now;
  }

  // ---- commands (the REST APIs, the UI and the CLI) -----------------------------------------

  /**
   * Creates (`create`), replaces (`replace`) or either (`upsert`) a job. Refused when its
   * parents do not exist or would form a cycle. A new schedule starts from now: occurrences
   * before it are not missed ones.
   */
  putJob(job: Job, mode: 'create' | 'replace' | 'upsert'): Promise<Job> {
    return this.step(async () => {
      const old = this.state.jobs.get(job.id);
      if (old && mode === 'create') throw new JobsError('exists', `Job with id '${job.id}' already exists`);
      if (!old && mode === 'replace') throw new JobsError('not-found', `Job '${job.id}' does not exist`);
      return this.storeJob(old, job);
    });
  }

  /** Changes a job by `change(job)`, in one step: no other change comes between the read and the write. */
  updateJob(id: string, change: (job: Job) => Job): Promise<Job> {
    return this.step(async () => {
      const old = this.state.jobs.get(id);
      if (!old) throw new JobsError('not-found', `Job '${id}' does not exist`);
      return this.storeJob(old, { ...change(old), id });
    });
  }

  private async storeJob(old: Job | undefined, job: Job): Promise<Job> {
    const problem = dependencyProblem([...this.state.jobs.values()], job);
    if (problem) throw new JobsError('invalid', problem, [{ path: job.dialect === 'chronos' ? '/parents' : '/dependencies', errors: [problem] }]);
    const now = this.now();
    const fixed = withStart(job, now);
    const fresh = !old || !old.schedule || !fixed.schedule || old.schedule.expression !== fixed.schedule.expression
      || old.schedule.timeZone !== fixed.schedule.timeZone || (!this.scheduled(old) && fixed.schedule.enabled && !fixed.disabled);
    await this.commit({ jobs: [fixed], ...(fresh && fixed.schedule ? { cursors: [{ jobId: job.id, at: now - 1 }] } : {}) });
    return fixed;
  }

  /**
   * Deletes a job; refused while it runs, unless those runs are to be stopped. Jobs that
   * depend on it are refused too (Metronome), or re-parented (`reparent`, Chronos): a child
   * takes the deleted job's parents in its place, or its schedule when it had none.
   */
  deleteJob(id: string, o: { stopCurrentJobRuns: boolean; reparent?: boolean }): Promise<Job> {
    return this.step(async () => {
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
      await this.commit({
        deleteJobs: [id], dag, jobs: reparented,
        cursors: reparented.filter((c) => c.schedule && c.parents.length === 0).map((c) => ({ jobId: c.id, at: now - 1 })),
      });
      this.book.forget(id);
      // Their records are gone: each live task is killed now, and as an orphan if it reports again.
      for (const r of active) {
        const a = liveAttempt(r);
        if (!a) continue;
        this.watch.stray(this.driver, a);
      }
      return job;
    });
  }

  /** Starts a run now, whatever the schedule and the concurrency policy say. */
  runNow(id: string): Promise<RunRecord> {
    return this.step(async () => {
      const job = this.state.jobs.get(id);
      if (!job) throw new JobsError('not-found', `Job '${id}' does not exist`);
      const run = this.newRun(job, 'manual', this.now());
      await this.commit({ runs: [run], deleteRuns: this.retention(id, [run]) });
      return run;
    });
  }

  /** Stops a run: its task is killed, and it ends FAILED, "stopped". */
  stopRun(jobId: string, runId: string): Promise<RunRecord> {
    return this.step(async () => {
      if (!this.state.jobs.has(jobId)) throw new JobsError('not-found', `Job '${jobId}' does not exist`);
      const run = this.current({ jobId, runId });
      if (!run || !isActive(run)) throw new JobsError('not-found', `Job '${jobId}' has no active run '${runId}'`);
      const stopped = { ...run, stopRequested: run.stopRequested ?? 'stopped on request' };
      await this.commit({ runs: [stopped] });
      return stopped;
    });
  }

  /** Stops every active run of a job; how many there were. */
  killJob(jobId: string): Promise<number> {
    return this.step(async () => {
      if (!this.state.jobs.has(jobId)) throw new JobsError('not-found', `Job '${jobId}' does not exist`);
      const runs = this.activeRuns(jobId).filter((r) => !r.stopRequested).map((r) => ({ ...r, stopRequested: 'killed on request' }));
      if (runs.length > 0) await this.commit({ runs });
      return runs.length;
    });
  }

  // ---- the look at everything -------------------------------------------------------------

  /** Looks until nothing follows (a run ended, or started, can make another look find more). */
  private async settle(): Promise<void> {
    let wakeAt = Infinity;
    for (let round = 0; round < 4 && !this.steps.stopped; round++) {
      const look = this.look(this.now());
      wakeAt = look.wakeAt;
      if (!look.change) break;
      try {
        await this.commit(look.change);
      } catch (err) {
        this.book.changed();   // the occurrences it found are due still: the next look finds them again
        throw err;
      }
    }
    if (this.driver) wakeAt = Math.min(wakeAt, this.watch.tick(this.driver, this.allActiveRuns()));
    this.offerInterest();
    this.steps.wakeAt(wakeAt);
  }

  /**
   * Every job and its active runs, looked at once: occurrences due (run, skipped, replacing,
   * or missed), deadlines passed, runs that waited too long for a launch, stopped runs whose
   * task is gone; and which runs wait for offers. One commit for all of it.
   */
  private look(now: number): { change?: JobsChange; wakeAt: number } {
    const runs = new Map<string, RunRecord>();   // runId → its new version in this look
    const cursors: { jobId: string; at: number }[] = [];
    const jobs: Job[] = [];
    let dag: JobsChange['dag'];
    let wakeAt = Infinity;
    const put = (r: RunRecord) => runs.set(r.runId, r);
    const endRun = (r: RunRecord, state: 'FAILED', message: string) => {
      const { retryAt: _, ...rest } = r;
      put({ ...rest, state, endedAt: now, message });
      const follow = this.dependentsOf(r.jobId, false, now, dag);
      if (follow.dag) { dag = follow.dag; for (const c of follow.runs ?? []) put(c); }
    };
    const found = this.book.due(this.state.jobs.values(), (id: string) => this.state.cursors.get(id), now);
    wakeAt = found.wakeAt;
    for (const { job, schedule, due: d } of found.due) {
      const sched = job.schedule!;
      cursors.push({ jobId: job.id, at: d.cursor });
      if (d.missedCount > 0) {
        const last = d.missed[d.missed.length - 1]!;
        put({
          ...this.newRun(job, 'schedule', now, last), state: 'MISSED', endedAt: now,
          message: `${d.missedCount} occurrence${d.missedCount === 1 ? '' : 's'} missed (the latest ${new Date(last).toISOString()}): more than startingDeadlineSeconds=${sched.startingDeadlineSeconds} late, or passed over for a later one`,
        });
      }
      if (d.run !== undefined) {
        const active = this.activeRuns(job.id);
        const start = concurrency(sched.concurrencyPolicy, active.length);
        const at = new Date(d.run).toISOString();
        if (start === 'skip') {
          put({ ...this.newRun(job, 'schedule', now, d.run), state: 'SKIPPED', endedAt: now, message: `concurrencyPolicy FORBID: run ${active.map((r) => r.runId).join(', ')} still going` });
        } else {
          const run = this.newRun(job, 'schedule', now, d.run);
          if (start === 'replace') for (const r of active) put({ ...r, stopRequested: `replaced by run ${run.runId} (concurrencyPolicy REPLACE, occurrence ${at})` });
          put(run);
        }
      }
      if (exhausted(schedule, d.cursor)) jobs.push({ ...job, disabled: true });   // R[n] has run n times
    }
    // Every active run, in its new version.
    const waiting: { job: Job; run: RunRecord }[] = [];
    const all = this.allActiveRuns().map((r) => runs.get(r.runId) ?? r);
    for (const r of runs.values()) if (isActive(r) && !all.some((x) => x.runId === r.runId)) all.push(r);
    for (const r of all) {
      const job = this.state.jobs.get(r.jobId);
      if (!job) continue;
      const live = liveAttempt(r);
      const deadline = job.activeDeadlineSeconds !== undefined && r.startedAt !== undefined ? r.startedAt + job.activeDeadlineSeconds * 1000 : Infinity;
      const launchBy = live === undefined && !r.attempts.some((a) => a.runningAt !== undefined) ? (r.createdAt ?? now) + job.maxLaunchDelaySeconds * 1000 : Infinity;
      if (!r.stopRequested && deadline <= now) {
        const stopped = { ...r, stopRequested: `past its deadline: still going after activeDeadlineSeconds=${job.activeDeadlineSeconds}` };
        if (live) put(stopped); else endRun(stopped, 'FAILED', stopped.stopRequested);
        continue;
      }
      if (!r.stopRequested && launchBy <= now) {
        endRun(r, 'FAILED', `not launched within maxLaunchDelay=${job.maxLaunchDelaySeconds} s: no offer could take it`);
        continue;
      }
      if (r.stopRequested && !live) {
        endRun(r, 'FAILED', r.stopRequested);
        continue;
      }
      wakeAt = Math.min(wakeAt, deadline, launchBy);
      if (this.needsLaunch(r, now)) waiting.push({ job, run: r });
      else if (!live && r.retryAt !== undefined) wakeAt = Math.min(wakeAt, r.retryAt);
    }
    this.waiting = waiting.sort((a, b) => (a.run.createdAt ?? 0) - (b.run.createdAt ?? 0));
    if (runs.size === 0 && cursors.length === 0 && jobs.length === 0 && !dag) return { wakeAt };
    const list = [...runs.values()];
    const deleteRuns = [...new Set(list.map((r) => r.jobId))].flatMap((id) => this.retention(id, list));
    return { change: { runs: list, cursors, jobs, deleteRuns, ...(dag ? { dag } : {}) }, wakeAt };
  }

  /** Revive when a run waits for offers, suppress when none does: no offers wasted on us. */
  private offerInterest(): void {
    const driver = this.driver;
    if (!driver) return;
    const wanting = this.waiting.length > 0;
    const unknown = (what: string) => (e: Error) => {
      this.o.log.debug(`${what} failed`, { error: e.message });
      this.suppressed = undefined;
      this.steps.soon();
    };
    if (wanting && this.suppressed !== false) {
      this.suppressed = false;
      driver.revive().catch(unknown('revive'));
    } else if (!wanting && this.suppressed !== true) {
      this.suppressed = true;
      driver.suppress().catch(unknown('suppress'));
    }
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

/** Five base-36 characters from a string (FNV-1a): stable names, not secrets. */
function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36).padStart(7, '0').slice(-5);
}
