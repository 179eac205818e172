/**
 * Waiting on events, never on wall time: each helper resolves when the event arrives. The
 * jest timeout is the only clock, and only as a safety net.
 */
import type { Scheduler } from '../../frameworks/sdk';
import type { Offer, SchedulerEvent, TaskState, TaskStatus } from '../../common/types';

/** Records every event of a subscription, and lets a test wait for one that matches. */
export class EventLog {
  readonly events: SchedulerEvent[] = [];
  private waiters: { match: (e: SchedulerEvent) => boolean; resolve: (e: SchedulerEvent) => void }[] = [];

  /** Reads `s.events()`, which replays from SUBSCRIBED, so nothing sent before this is missed. */
  constructor(s: Scheduler) {
    void (async () => {
      try {
        for await (const e of s.events()) {
          this.events.push(e);
          this.waiters = this.waiters.filter((w) => (w.match(e) ? (w.resolve(e), false) : true));
        }
      } catch {
        // the subscription closed with an error; tests see it through their own waits
      }
    })();
  }

  /** The first event, past or future, that matches. */
  waitFor<E extends SchedulerEvent>(match: (e: SchedulerEvent) => e is E): Promise<E>;
  waitFor(match: (e: SchedulerEvent) => boolean): Promise<SchedulerEvent>;
  waitFor(match: (e: SchedulerEvent) => boolean): Promise<SchedulerEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The next matching event that arrives from now on. */
  next(match: (e: SchedulerEvent) => boolean): Promise<SchedulerEvent> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  async offer(match: (o: Offer) => boolean = () => true, fresh = false): Promise<Offer> {
    const pick = (e: SchedulerEvent) => e.type === 'OFFERS' && e.offers.some(match);
    const e = (await (fresh ? this.next(pick) : this.waitFor(pick))) as Extract<SchedulerEvent, { type: 'OFFERS' }>;
    return e.offers.find(match)!;
  }

  status(taskId: string, state: TaskState): Promise<TaskStatus> {
    return this.waitFor((e) => e.type === 'UPDATE' && e.status.taskId === taskId && e.status.state === state)
      .then((e) => (e as Extract<SchedulerEvent, { type: 'UPDATE' }>).status);
  }

  /** Every state a task went through, in the order the framework saw them. */
  states(taskId: string): TaskState[] {
    return this.events.flatMap((e) => (e.type === 'UPDATE' && e.status.taskId === taskId ? [e.status.state] : []));
  }
}
