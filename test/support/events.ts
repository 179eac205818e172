/**
 * Waiting on events, never on wall time: each helper resolves when the event arrives. The
 * jest timeout is the only clock, and only as a safety net.
 */
import { add, scalar } from '../../common/resources';
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

  private readonly handedOut = new Set<string>();

  /** Offers received and not yet handed out by `offer()` nor rescinded. */
  outstanding(): Offer[] {
    const rescinded = new Set(this.events.flatMap((e) => (e.type === 'RESCIND' ? [e.offerId] : [])));
    return this.events.flatMap((e) => (e.type === 'OFFERS' ? e.offers : []))
      .filter((o) => !this.handedOut.has(o.id) && !rescinded.has(o.id));
  }

  /** The total of a scalar over the outstanding offers, e.g. every cpu offered and not yet used. */
  offeredTotal(name: string): number {
    return scalar(add([], this.outstanding().flatMap((o) => o.resources)), name);
  }

  /** Hands out every outstanding offer at once, e.g. to decline them all. */
  takeAll(): Offer[] {
    const all = this.outstanding();
    for (const o of all) this.handedOut.add(o.id);
    return all;
  }

  /** Resolves once `holds()` is true, checking again after every event. */
  until(holds: () => boolean): Promise<void> {
    if (holds()) return Promise.resolve();
    return this.next(() => holds()).then(() => undefined);
  }

  /**
   * An outstanding offer that matches: the oldest one that was neither handed out by an
   * earlier call nor rescinded, waiting for one if there is none yet. Each offer is handed
   * out once, since an offer id is good for one Accept.
   */
  offer(match: (o: Offer) => boolean = () => true): Promise<Offer> {
    const pick = (): Offer | undefined => {
      const rescinded = new Set(this.events.flatMap((e) => (e.type === 'RESCIND' ? [e.offerId] : [])));
      for (const e of this.events) {
        if (e.type !== 'OFFERS') continue;
        const o = e.offers.find((x) => !this.handedOut.has(x.id) && !rescinded.has(x.id) && match(x));
        if (o) { this.handedOut.add(o.id); return o; }
      }
      return undefined;
    };
    const now = pick();
    if (now) return Promise.resolve(now);
    // Another caller may take the offer first; then wait for the next one.
    return this.next((e) => e.type === 'OFFERS' && e.offers.some((x) => !this.handedOut.has(x.id) && match(x)))
      .then(() => pick() ?? this.offer(match));
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
