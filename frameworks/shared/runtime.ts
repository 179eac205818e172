/**
 * The shell every framework runs on. A framework supplies pure decisions (`FrameworkLogic`):
 * what its state means now (`evaluate`), what a status update changes (`onStatus`), which
 * waiting launches go on which offers (`place`), and how a change lands in memory (`apply`).
 * The runtime owns everything with an effect: the step queue, the master connection (attach,
 * re-subscribe, reconcile), commits, offers, revive and suppress, kills until they are
 * answered, questions about launches never heard of, and wake-ups on the injected clock.
 *
 * One input at a time. Offers, status updates, API commands and the runtime's own timer are
 * steps (steps.ts), each taken after the one before has finished, each followed by a look
 * (`settle`): evaluate, commit what it decided, evaluate again, until nothing follows. A
 * failed step or look is retried with backoff, one policy for every framework.
 *
 * What a commit guarantees. A commit is three steps in this order:
 *   1. store: the change is written to the store, atomically (all of it or none);
 *   2. apply: the same change is applied to the state in memory;
 *   3. emit: its events are delivered to listeners, at the end of the step.
 * - A crash before 1 ends: nothing happened. The input that caused it is not acknowledged
 *   (a status update is acknowledged only after its change is stored, so the master sends it
 *   again; a command's caller got no answer), and a restarted framework decides again from
 *   the store.
 * - A crash between 1 and 3: the change is stored and survives; its events are lost with the
 *   process (events describe changes; they are not a log). A restarted framework loads the
 *   change, and listeners reading the state after re-attaching see it.
 * - A store failure at 1 leaves memory as it was (apply never runs) and fails the step: a
 *   command's caller hears the error; a look is retried. Memory is never ahead of the store.
 * - A FencedError at 1 (the store's epoch is newer than this framework's: another leader of
 *   it runs) is a failure that is NOT retried: the runtime stops for good (steps.ts), sends
 *   nothing more (not even the declines of a placement it could not store), tells `fenced`,
 *   and answers every later step with a StoppedError naming the epochs. Its shell exits.
 * - Launches are committed (as staging tasks) before their Accept is sent, so a crash after
 *   the commit finds them in the store and asks the master about them; a crash before it
 *   leaves the offer unanswered, and the master rescinds it.
 * runtime.test.ts proves each of these with a store that fails on demand.
 */
import type { Clock } from '../../common/clock';
import { isFenced } from '../../common/fenced-redis';
import { Listeners } from '../../common/listeners';
import type { Logger } from '../../common/log';
import { isTerminal, type Offer, type TaskInfo, type TaskStatus } from '../../common/types';
import type { Driver } from './driver';
import { StoppedError } from './http';
import { Steps, RETRY_MS } from './steps';

/** A task by its ids, as kills and reconciliation name it. */
export interface TaskRef {
  taskId: string;
  agentId: string;
}

/** A change to store and apply, and what to tell listeners once it is in. */
export interface Commit<C, E> {
  change: C;
  events?: E[];
}

/** Something waiting for offers, and why (`/v2/queue`, "why is my app not starting?"). */
export interface Waiting {
  key: string;
  count: number;
  delayedUntil?: number;
}

/** What `evaluate` decided: a plan, applied by the runtime. */
export interface Evaluation<C, E, W> {
  /** Changes to commit, in order; the runtime evaluates again after them. */
  commits: Commit<C, E>[];
  /** Launches waiting for offers, first served first. */
  wants: readonly W[];
  /** Tasks that must end, as the state says: a kill is sent, and sent again every 10 s while one stays here. */
  kills: readonly (TaskRef & { gracePeriodMs?: number })[];
  /** Tasks the changes forget that must still end: killed until their end is heard. */
  forget?: readonly TaskRef[];
  /** Tasks launched and not heard of since `since`: the master is asked about each once a minute. */
  staging?: readonly (TaskRef & { since: number })[];
  /** What waits for offers or for a delay to pass, by key. */
  waiting?: readonly Waiting[];
  /** When to evaluate again, if nothing happens before (Infinity: no need). */
  wakeAt: number;
}

/** Which waiting launches go on which offers. */
export interface Placement<C, E> {
  /** The launches as the state records them, stored before any Accept is sent. */
  commit?: Commit<C, E>;
  /** By offer id: the tasks to launch on it. */
  launches: ReadonlyMap<string, TaskInfo[]>;
  /** By offer id: why nothing was launched on it (the master's offer log shows it). */
  declined: ReadonlyMap<string, string>;
  /** Whether launches still wait after these offers: declined offers come back sooner. */
  more: boolean;
}

/** What a status update means to the framework. */
export interface StatusOutcome<C, E> {
  commit?: Commit<C, E>;
  /** The task is not (or no longer) one the framework counts: it must not run; killed until it ends. */
  stray?: boolean;
}

/** What a command decided: its answer, and what to commit before answering. */
export interface CommandOutcome<C, E, T> {
  result: T;
  commits?: Commit<C, E>[];
  /** Tasks whose records the commits drop and that must still end. */
  forget?: readonly TaskRef[];
}

/** A framework's decisions. All pure but `apply`, which changes only the state it is given. */
export interface FrameworkLogic<S, C, E, W, P extends Placement<C, E> = Placement<C, E>, V extends Evaluation<C, E, W> = Evaluation<C, E, W>> {
  /** Who is deciding, for logs and the StoppedError's words. */
  name: string;
  apply(state: S, change: C): void;
  evaluate(state: S, now: number): V;
  onStatus(state: S, status: TaskStatus, now: number): StatusOutcome<C, E>;
  place(state: S, offers: readonly Offer[], wants: readonly W[], now: number): P;
  /** The tasks the state counts as live: reconciled explicitly on every (re)subscription. */
  live(state: S): TaskRef[];
  /** Why an offer nothing wanted was declined. */
  idle: string;
  /** A refusal (bad input, changing nothing): answered, not logged, no reason to look again. */
  refusal?(e: Error): boolean;
}

export interface RuntimeStore<C> {
  commit(change: C): Promise<void>;
  saveFrameworkId(id: string): Promise<void>;
}

export interface RuntimeOptions<C, P, V> {
  store: RuntimeStore<C>;
  clock: Clock;
  log: Logger;
  /** How long an offer nothing wants is declined for (default 5 s). */
  declineRefuseMs?: number;
  /** Told of every evaluation and placement (a framework's views of its queue). */
  evaluated?: (ev: V, now: number) => void;
  placed?: (p: P, offers: readonly Offer[], now: number) => void;
  /** The store refused a write as fenced: the runtime has stopped for good (the process should exit). */
  fenced?: (err: Error) => void;
}

/** A kill not answered by the task's end is sent again after this long (ms). */
export const KILL_RETRY_MS = 10_000;
/** A task still staging is asked about this often (ms): a lost Accept and a lost answer both end. */
export const STAGING_ASK_MS = 60_000;
/** While wanting offers, declined ones come back after this long (ms). */
const WANTING_REFUSE_MS = 1000;
/** Rounds of evaluate-and-commit a look takes at most before leaving the rest to the next. */
const MAX_ROUNDS = 8;

export class FrameworkRuntime<S extends { frameworkId?: string }, C, E, W, P extends Placement<C, E> = Placement<C, E>, V extends Evaluation<C, E, W> = Evaluation<C, E, W>> {
  /** Every committed change's events, delivered when the step that made them ends. */
  readonly events = new Listeners<E>();
  private driver: Driver | undefined;
  private readonly steps: Steps;
  private wants: readonly W[] = [];
  /** Whether the master has us suppressed; undefined after (re)subscribing: say it again. */
  private suppressed: boolean | undefined;
  /** When each kill was last sent on this connection. */
  private readonly killsSent = new Map<string, number>();
  /** Tasks the state no longer knows that must end: task id → agent id. */
  private readonly strays = new Map<string, string>();
  /** When each staging task was last asked about. */
  private readonly stagingAsked = new Map<string, number>();
  private held: E[] = [];

  constructor(readonly state: S, private readonly logic: FrameworkLogic<S, C, E, W, P, V>, private readonly o: RuntimeOptions<C, P, V>) {
    this.steps = new Steps({
      clock: o.clock, log: o.log, name: logic.name, settle: () => this.settle(),
      ...(logic.refusal ? { refusal: logic.refusal } : {}),
      after: () => this.deliver(),
      ...(o.fenced ? { fenced: o.fenced } : {}),
    });
  }

  now(): number {
    return this.o.clock.now();
  }

  get connected(): boolean {
    return this.driver !== undefined;
  }

  /** Runs `fn` in the framework's turn (state changes only inside a step), then looks. */
  step<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.steps.run(fn);
  }

  /** A command: decided on the state as it is in the framework's turn, committed, then answered. */
  command<T>(decide: (state: S, now: number) => CommandOutcome<C, E, T>): Promise<T> {
    return this.step(async () => {
      const out = decide(this.state, this.now());
      for (const c of out.commits ?? []) await this.commit(c);
      for (const t of out.forget ?? []) this.strays.set(t.taskId, t.agentId);
      return out.result;
    });
  }

  /** Store, then apply, then (at the step's end) emit. Only inside a step. */
  async commit(c: Commit<C, E>): Promise<void> {
    await this.o.store.commit(c.change);
    this.logic.apply(this.state, c.change);
    if (c.events) this.held.push(...c.events);
  }

  private deliver(): void {
    const out = this.held;
    this.held = [];
    for (const e of out) this.events.emit(e);
  }

  /** (Re)subscribed under `frameworkId`: remember it, and ask the master about every task we know. */
  attach(driver: Driver, frameworkId: string): Promise<void> {
    return this.step(async () => {
      this.driver = driver;
      this.suppressed = undefined;
      this.killsSent.clear();   // a new connection: every kill and question still wanted is due again
      this.stagingAsked.clear();
      if (this.state.frameworkId !== frameworkId) {
        await this.o.store.saveFrameworkId(frameworkId);
        this.state.frameworkId = frameworkId;
      }
      // Explicitly what we know (the master answers even for tasks it lost: TASK_GONE, and they
      // are replaced); implicitly all it knows of ours, so an orphan turns up and is killed.
      const live = this.logic.live(this.state);
      const failed = (e: Error) => this.o.log.warn('reconcile failed', { error: e.message });
      if (live.length > 0) driver.reconcile(live).catch(failed);
      driver.reconcile([]).catch(failed);
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
      const p = this.logic.place(this.state, offers, this.wants, now);
      if (p.commit) {
        try {
          await this.commit(p.commit);
        } catch (err) {
          // Not stored, so not launched; an offer left unanswered would hold its agent's resources.
          // Fenced, this process sends nothing more: the newer leader's subscription replaced ours.
          if (isFenced(err)) throw err;
          driver.decline(offers.map((o) => o.id), { refuseMs: RETRY_MS, reason: `the ${this.logic.name} could not store its launches` }).catch(() => undefined);
          throw err;
        }
      }
      this.o.placed?.(p, offers, now);
      for (const offer of offers) {
        const tasks = p.launches.get(offer.id);
        if (tasks && tasks.length > 0) this.launch(driver, offer, tasks);
        else this.decline(driver, offer, p.declined.get(offer.id) ?? this.logic.idle, p.more);
      }
    });
  }

  private launch(driver: Driver, offer: Offer, tasks: TaskInfo[]): void {
    driver.launch(offer, tasks).catch((e: Error) => {
      // Refused outright: no status will come. The master answers TASK_GONE for what it never
      // launched, and the launch is tried again.
      this.o.log.warn('launch failed', { offerId: offer.id, error: e.message });
      driver.reconcile(tasks.map((t) => ({ taskId: t.taskId, agentId: t.agentId }))).catch(() => undefined);
    });
  }

  private decline(driver: Driver, offer: Offer, reason: string, more: boolean): void {
    const refuseMs = more ? WANTING_REFUSE_MS : this.o.declineRefuseMs ?? 5000;
    // The reason reaches the master's offer log: an operator sees there why something waits.
    driver.decline([offer.id], { refuseMs, reason })
      .catch((e: Error) => this.o.log.debug('decline failed', { offerId: offer.id, error: e.message }));
  }

  /** A status update: committed, then acknowledged (a crash before the commit means the master sends it again). */
  onUpdate(status: TaskStatus): Promise<void> {
    return this.step(async () => {
      const out = this.logic.onStatus(this.state, status, this.now());
      if (out.commit) await this.commit(out.commit);
      if (isTerminal(status.state) || status.state === 'TASK_UNKNOWN') this.strays.delete(status.taskId);
      else if (out.stray) this.strays.set(status.taskId, status.agentId);
      // Not awaited: a master slow to answer must not hold every other step.
      if (status.uuid) this.driver?.acknowledge(status).catch((e: Error) => this.o.log.debug('acknowledge failed', { error: e.message }));
    });
  }

  /** Evaluates and commits until nothing follows; then acts on the last evaluation. */
  private async settle(): Promise<void> {
    let ev = this.logic.evaluate(this.state, this.now());
    for (let round = 1; ev.commits.length > 0 && round < MAX_ROUNDS && !this.steps.stopped; round++) {
      for (const c of ev.commits) await this.commit(c);
      ev = this.logic.evaluate(this.state, this.now());
    }
    const now = this.now();
    this.wants = ev.wants;
    for (const t of ev.forget ?? []) this.strays.set(t.taskId, t.agentId);
    this.o.evaluated?.(ev, now);
    let wakeAt = ev.commits.length > 0 ? now : ev.wakeAt;   // rounds left over: look again at once
    const driver = this.driver;
    if (driver) {
      wakeAt = Math.min(wakeAt, this.sendKills(driver, ev.kills, now), this.askAboutStaging(driver, ev.staging ?? [], now));
      this.offerInterest(driver);
    }
    this.steps.wakeAt(wakeAt);
  }

  /** Sends every kill that is due; the next time one will be. */
  private sendKills(driver: Driver, kills: V['kills'], now: number): number {
    let next = Infinity;
    const wanted = new Set<string>();
    const want = (t: TaskRef & { gracePeriodMs?: number }) => {
      wanted.add(t.taskId);
      const sent = this.killsSent.get(t.taskId);
      if (sent === undefined || now - sent >= KILL_RETRY_MS) {
        this.killsSent.set(t.taskId, now);
        driver.kill(t.taskId, { agentId: t.agentId, ...(t.gracePeriodMs !== undefined ? { gracePeriodMs: t.gracePeriodMs } : {}) })
          .catch((e: Error) => this.o.log.warn('kill failed', { taskId: t.taskId, error: e.message }));
      }
      next = Math.min(next, (this.killsSent.get(t.taskId) ?? now) + KILL_RETRY_MS);
    };
    for (const t of kills) want(t);
    for (const [taskId, agentId] of this.strays) if (!wanted.has(taskId)) want({ taskId, agentId });
    for (const id of this.killsSent.keys()) if (!wanted.has(id)) this.killsSent.delete(id);
    return next;
  }

  /** Asks the master about tasks staging for a minute or more, once a minute each; the next time one is due. */
  private askAboutStaging(driver: Driver, staging: readonly (TaskRef & { since: number })[], now: number): number {
    let next = Infinity;
    const ask: TaskRef[] = [];
    const seen = new Set<string>();
    for (const t of staging) {
      seen.add(t.taskId);
      const due = Math.max(t.since, this.stagingAsked.get(t.taskId) ?? -Infinity) + STAGING_ASK_MS;
      if (due <= now) {
        ask.push({ taskId: t.taskId, agentId: t.agentId });
        this.stagingAsked.set(t.taskId, now);
        next = Math.min(next, now + STAGING_ASK_MS);
      } else {
        next = Math.min(next, due);
      }
    }
    for (const id of this.stagingAsked.keys()) if (!seen.has(id)) this.stagingAsked.delete(id);
    if (ask.length > 0) driver.reconcile(ask).catch((e: Error) => this.o.log.debug('reconcile failed', { error: e.message }));
    return next;
  }

  /** Revive when launches wait for offers, suppress when none does: no offers wasted on us. */
  private offerInterest(driver: Driver): void {
    const wanting = this.wants.length > 0;
    // On failure the master's view is unknown again, so the next look says it once more.
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

export { StoppedError };
