/**
 * The jobs' schedules as the runtime needs them, computed as little as it can: each job's
 * schedule parsed once per expression, its next occurrence once per cursor, and the earliest
 * of those remembered, so that a step (a status update, say, with 10k jobs) looks at no
 * schedule at all until an occurrence is due or jobs or cursors change.
 */
import type { Logger } from '../../common/log';
import type { Job } from './job';
import { due, type Due } from './occurrences';
import { cronSchedule, next, repeatingSchedule, type Schedule } from './schedule';

export interface DueJob { job: Job; schedule: Schedule; cursor: number; due: Due }

export class ScheduleBook {
  private readonly parsed = new Map<string, { key: string; schedule: Schedule | undefined }>();
  /** Per job, its next occurrence after a cursor. */
  private readonly upcoming = new Map<string, { cursor: number; schedule: Schedule; at: number | undefined }>();
  /** Whether jobs or cursors changed since the last full look, and the earliest next occurrence it found. */
  private seen = { changed: true, nextAt: Infinity };

  constructor(private readonly o: { log: Logger; now: () => number }) {}

  /** The job's schedule as the calculator reads it; undefined for a job without one. */
  scheduleOf(job: Job): Schedule | undefined {
    const s = job.schedule;
    if (!s) return undefined;
    const key = `${s.kind} ${s.expression} ${s.timeZone}`;
    const cached = this.parsed.get(job.id);
    if (cached?.key === key) return cached.schedule;
    const parsed = s.kind === 'cron' ? cronSchedule(s.expression, s.timeZone) : repeatingSchedule(s.expression, s.timeZone, this.o.now());
    if (!parsed.ok) this.o.log.error('a stored schedule does not parse; the job will not run on it', { jobId: job.id, error: parsed.error });
    const schedule = parsed.ok ? parsed.value : undefined;
    this.parsed.set(job.id, { key, schedule });
    return schedule;
  }

  /** Whether the job runs on its schedule now (it has one, enabled, and the job is not disabled). */
  scheduled(job: Job): boolean {
    return job.schedule !== undefined && job.schedule.enabled && !job.disabled && this.scheduleOf(job) !== undefined;
  }

  /** The job's next occurrence after its cursor (an overdue one included), if it runs on a schedule. */
  nextRun(job: Job, cursor: number): number | undefined {
    return this.scheduled(job) ? next(this.scheduleOf(job)!, cursor) : undefined;
  }

  /** Jobs or cursors changed (or a look's findings were not stored): look at every schedule again. */
  changed(): void {
    this.seen.changed = true;
  }

  forget(jobId: string): void {
    this.parsed.delete(jobId);
    this.upcoming.delete(jobId);
  }

  /**
   * The jobs with occurrences to deal with now (their cursor moves), and when the next one is
   * due. `cursorOf` is a job's cursor, or undefined for one that has none yet.
   */
  due(jobs: Iterable<Job>, cursorOf: (jobId: string) => number | undefined, now: number): { due: DueJob[]; wakeAt: number } {
    if (!this.seen.changed && this.seen.nextAt > now) return { due: [], wakeAt: this.seen.nextAt };
    this.seen = { changed: false, nextAt: Infinity };
    const out: DueJob[] = [];
    for (const job of jobs) {
      if (!this.scheduled(job)) continue;
      const schedule = this.scheduleOf(job)!;
      const cursor = cursorOf(job.id) ?? now - 1;
      const known = this.upcoming.get(job.id);
      if (known && known.cursor === cursor && known.schedule === schedule && (known.at === undefined || known.at > now)) {
        this.seen.nextAt = Math.min(this.seen.nextAt, known.at ?? Infinity);
        continue;
      }
      const d = due(schedule, cursor, now, job.schedule!.startingDeadlineSeconds);
      this.upcoming.set(job.id, { cursor: d.cursor, schedule, at: d.wakeAt });
      this.seen.nextAt = Math.min(this.seen.nextAt, d.wakeAt ?? Infinity);
      if (d.cursor !== cursor) out.push({ job, schedule, cursor, due: d });
    }
    // What was found is due until its cursors are stored: should that commit fail, the next look finds it again.
    if (out.length > 0) this.seen.changed = true;
    return { due: out, wakeAt: this.seen.nextAt };
  }
}
