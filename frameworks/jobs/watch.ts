/**
 * What the jobs framework keeps asking the master until it is answered: kills of tasks that
 * must not run (a stopped run's task; a stray — an orphan the store does not know, an
 * attempt back after its end was counted, a deleted job's task), sent again every 10 s until
 * the task ends; and attempts still TASK_STAGING a minute after launch, asked about every
 * minute (a launch whose Accept and reconcile were both lost would otherwise wait for ever:
 * the master answers TASK_GONE for a task it never saw, and the run is launched again).
 * In memory: after a restart, reconciliation finds the strays again.
 */
import type { Logger } from '../../common/log';
import type { Driver } from '../shared/driver';
import { liveAttempt, type RunRecord } from './history';

const KILL_RETRY_MS = 10_000;
const STAGING_ASK_MS = 60_000;

type TaskRef = { taskId: string; agentId: string };

export class TaskWatch {
  private readonly killsSent = new Map<string, number>();
  /** Tasks that must not run and have not ended yet: task id → agent id. */
  private readonly strays = new Map<string, string>();
  /** When each attempt long in TASK_STAGING was last asked about. */
  private readonly stagingAsked = new Map<string, number>();

  constructor(private readonly o: { log: Logger; now: () => number }) {}

  /** A new connection: every kill and every question is due again. */
  reset(): void {
    this.killsSent.clear();
    this.stagingAsked.clear();
  }

  /** A task that must not run: killed now, and until it ends. */
  stray(driver: Driver | undefined, t: TaskRef): void {
    this.strays.set(t.taskId, t.agentId);
    this.kill(driver, t);
  }

  /** A task's end: no more kills for it. */
  ended(taskId: string): void {
    this.strays.delete(taskId);
  }

  private kill(driver: Driver | undefined, t: TaskRef): void {
    if (!driver) return;   // sent once connected: reset() makes it due
    this.killsSent.set(t.taskId, this.o.now());
    driver.kill(t.taskId, { agentId: t.agentId }).catch((e: Error) => this.o.log.warn('kill failed', { taskId: t.taskId, error: e.message }));
  }

  /** Sends what is due for the active runs and the strays; the next time something will be. */
  tick(driver: Driver, active: readonly RunRecord[]): number {
    return Math.min(this.resendKills(driver, active), this.askAboutStaging(driver, active));
  }

  private resendKills(driver: Driver, active: readonly RunRecord[]): number {
    const now = this.o.now();
    let next = Infinity;
    const wanted = new Set<string>();
    const want = (t: TaskRef) => {
      wanted.add(t.taskId);
      const sent = this.killsSent.get(t.taskId);
      if (sent === undefined || now - sent >= KILL_RETRY_MS) this.kill(driver, t);
      next = Math.min(next, (this.killsSent.get(t.taskId) ?? now) + KILL_RETRY_MS);
    };
    for (const r of active) {
      const a = r.stopRequested ? liveAttempt(r) : undefined;
      if (a) want(a);
    }
    for (const [taskId, agentId] of this.strays) want({ taskId, agentId });
    for (const id of this.killsSent.keys()) if (!wanted.has(id)) this.killsSent.delete(id);
    return next;
  }

  private askAboutStaging(driver: Driver, active: readonly RunRecord[]): number {
    const now = this.o.now();
    let next = Infinity;
    const staging = new Set<string>();
    const ask: TaskRef[] = [];
    for (const r of active) {
      const a = liveAttempt(r);
      if (!a || a.state !== 'TASK_STAGING') continue;
      staging.add(a.taskId);
      const due = Math.max(a.startedAt, this.stagingAsked.get(a.taskId) ?? -Infinity) + STAGING_ASK_MS;
      if (due <= now) {
        ask.push({ taskId: a.taskId, agentId: a.agentId });
        this.stagingAsked.set(a.taskId, now);
        next = Math.min(next, now + STAGING_ASK_MS);
      } else {
        next = Math.min(next, due);
      }
    }
    for (const id of this.stagingAsked.keys()) if (!staging.has(id)) this.stagingAsked.delete(id);
    if (ask.length > 0) driver.reconcile(ask).catch((e: Error) => this.o.log.debug('reconcile failed', { error: e.message }));
    return next;
  }
}
