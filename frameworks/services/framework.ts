/**
 * The services framework at run time: its state, kept in a store, on the shared runtime
 * (../shared/runtime.ts), which takes offers, status updates, API commands and the clock one
 * at a time and acts on the pure decisions in decide.ts. What this file adds is the services
 * framework's own: its launch queue as `/v2/queue` shows it, and its events in Marathon's
 * shapes (`bus`).
 *
 * Order of effects, so that nothing acknowledged is lost and no task is launched twice (the
 * runtime's header says what each guarantees after a crash):
 *  - a launch is committed to the store (STAGING) before its Accept goes to the master;
 *  - a status update is committed before it is acknowledged;
 *  - an API change is committed before the client gets its answer.
 * A restarted framework loads the store, subscribes under the same framework id, and asks
 * the master about every instance it knows (explicit reconciliation); a task of its own the
 * master reports but the store does not know is killed.
 */
import type { Clock } from '../../common/clock';
import type { Logger } from '../../common/log';
import { OnRuntime } from '../shared/on-runtime';
import { FrameworkRuntime, StoppedError, type CommandOutcome } from '../shared/runtime';
import { evaluate, onStatus, place, type ServicesEvaluation, type ServicesPlacement } from './decide';
import { EventBus, type ServicesEvent } from './events';
import { applyChange, type Change, type ServicesState } from './model';
import type { Refusal, Want } from './placement';
import type { ServicesStore } from './store';

export type { Driver } from '../shared/driver';
export { conditionOf } from './events';
export { StoppedError };

/** An app waiting for offers, as `/v2/queue` shows it. */
export interface QueueEntry {
  appId: string;
  count: number;
  since: number;
  delayedUntil?: number;
  processedOffers: number;
  unusedOffers: number;
  lastUnusedOffers: (Refusal & { at: number })[];
}

export interface FrameworkOptions {
  store: ServicesStore;
  clock: Clock;
  log: Logger;
  newId: () => string;
  /** How long an offer nothing wants is declined for (default 5 s). */
  declineRefuseMs?: number;
  /** The role the framework takes offers for (default *), shown on its tasks. */
  role?: string;
  /** How long an instance may stay STAGING before it is killed and replaced (default 5 min). */
  launchTimeoutMs?: number;
  /** A write was refused as fenced: the framework has stopped acting for good (the process should exit). */
  fenced?: (err: Error) => void;
}

const KEEP_REFUSALS = 10;

type Runtime = FrameworkRuntime<ServicesState, Change, ServicesEvent, Want, ServicesPlacement, ServicesEvaluation>;

export class ServicesFramework extends OnRuntime<ServicesState> {
  /** Every event in Marathon's shapes, for `/v2/events` and the UI. */
  readonly bus: EventBus;
  readonly role: string;
  protected readonly runtime: Runtime;
  private readonly queue = new Map<string, QueueEntry>();

  constructor(readonly state: ServicesState, private readonly o: FrameworkOptions) {
    super();
    this.bus = new EventBus(() => o.clock.now());
    this.role = o.role ?? '*';
    const launchTimeoutMs = o.launchTimeoutMs ?? 300_000;
    this.runtime = new FrameworkRuntime(state, {
      name: 'services framework',
      apply: applyChange,
      evaluate: (s, now) => evaluate(s, now, launchTimeoutMs),
      onStatus,
      place: (_s, offers, wants, now) => place(offers, wants, () => `instance-${o.newId()}`, now),
      live: (s) => [...s.instances.values()].map((i) => ({ taskId: i.taskId, agentId: i.agentId })),
      idle: 'nothing to launch',
    }, {
      store: o.store, clock: o.clock, log: o.log, ...(o.declineRefuseMs !== undefined ? { declineRefuseMs: o.declineRefuseMs } : {}),
      evaluated: (ev, now) => this.queued(ev, now),
      placed: (p, offers, now) => this.refused(p, offers.length, now),
      ...(o.fenced ? { fenced: o.fenced } : {}),
    });
    this.runtime.events.add((e) => this.bus.publish(e));
  }

  static async load(o: FrameworkOptions): Promise<ServicesFramework> {
    return new ServicesFramework(await o.store.load(), o);
  }

  get store(): ServicesStore {
    return this.o.store;
  }

  now(): number {
    return this.o.clock.now();
  }

  newId(): string {
    return this.o.newId();
  }

  /** Runs `fn` in the framework's turn; the state changes only inside. */
  serial<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.step(fn);
  }

  /** A command decided on the state in the framework's turn, committed, then answered. */
  command<T>(decide: (state: ServicesState, now: number) => CommandOutcome<Change, ServicesEvent, T>): Promise<T> {
    return this.runtime.command(decide);
  }

  queueEntries(): QueueEntry[] {
    return [...this.queue.values()];
  }

  /** The queue after a look: apps that wait for offers or for their launch delay. */
  private queued(ev: ServicesEvaluation, now: number): void {
    const waiting = new Set<string>();
    for (const w of ev.waiting ?? []) {
      waiting.add(w.key);
      const q = this.queue.get(w.key) ?? { appId: w.key, count: 0, since: now, processedOffers: 0, unusedOffers: 0, lastUnusedOffers: [] };
      q.count = w.count;
      q.delayedUntil = w.delayedUntil;
      this.queue.set(w.key, q);
    }
    for (const appId of this.queue.keys()) if (!waiting.has(appId)) this.queue.delete(appId);
  }

  /** Why the offers an app saw would not do, kept for `/v2/queue`. */
  private refused(p: ServicesPlacement, processed: number, now: number): void {
    for (const [appId, list] of p.refusals) {
      const q = this.queue.get(appId);
      if (!q) continue;
      q.processedOffers += processed;
      q.unusedOffers += list.length;
      q.lastUnusedOffers = [...q.lastUnusedOffers, ...list.map((r) => ({ ...r, at: now }))].slice(-KEEP_REFUSALS);
    }
  }
}
