/**
 * The services framework at run time: the state, kept in a store, driven by offers, status
 * updates, the clock and API commands. Every one of those runs in turn (`serial`), and ends
 * with `evaluate()`: each app's plan (plan.ts) turned into kills, a list of wanted launches
 * for the next offers, deployments marked done, and a timer for the next backoff to expire.
 *
 * Order of effects, so that nothing acknowledged is lost and no task is launched twice:
 *  - a launch is committed to the store (STAGING) before its Accept goes to the master;
 *  - a status update is committed before it is acknowledged;
 *  - an API change is committed before the client gets its answer.
 * A restarted framework loads the store, subscribes under the same framework id, and asks
 * the master about every instance it knows (explicit reconciliation); a task of its own the
 * master reports but the store does not know is killed.
 */
import type { Clock, Timer } from '../../common/clock';
import type { Logger } from '../../common/log';
import { isTerminal, type Offer, type TaskStatus } from '../../common/types';
import type { Driver } from '../shared/driver';
import { StoppedError } from '../shared/http';
import { EventBus } from './events';
import { appIdOfTask } from './launch';
import { applyChange, deploymentOf, type Change, type InstanceRecord, type ServicesState } from './model';
import { actionDone, planApp } from './plan';
import { placeOffers, type Refusal, type Want } from './placement';
import { failed } from './reconcile';
import type { ServicesStore } from './store';
import { planJson } from './views';

export type { Driver } from '../shared/driver';

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
}

const KEEP_REFUSALS = 10;
/** After a failed step, the next evaluation (ms). */
const RETRY_MS = 1000;
/** A kill not answered by the task's end is sent again after this long (ms). */
const KILL_RETRY_MS = 10_000;

export { StoppedError };
const FAILURES: ReadonlySet<string> = new Set(['TASK_FAILED', 'TASK_FINISHED', 'TASK_ERROR', 'TASK_LOST']);

export class ServicesFramework {
  readonly bus: EventBus;
  private driver: Driver | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private wants: Want[] = [];
  private readonly queue = new Map<string, QueueEntry>();
  /** Whether the master has our role suppressed; undefined after (re)subscribing: say it again. */
  private suppressed: boolean | undefined;
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private stopped = false;

  private readonly launchTimeoutMs: number;
  readonly role: string;

  constructor(readonly state: ServicesState, private readonly o: FrameworkOptions) {
    this.bus = new EventBus(() => o.clock.now());
    this.launchTimeoutMs = o.launchTimeoutMs ?? 300_000;
    this.role = o.role ?? '*';
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

  /** Runs `fn` after everything queued before it; the state changes only inside. */
  serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(async () => {
      if (this.stopped) throw new StoppedError('the services framework is stopping');
      this.bus.hold();
      try {
        const out = await fn();
        await this.settle();
        return out;
      } finally {
        this.bus.release();
      }
    });
    // The caller has the rejection. What the step left undone (a kill, a launch, a timer) is
    // looked at again soon: every step ends by evaluating everything.
    this.chain = run.catch((e: Error) => {
      if (this.stopped || e instanceof StoppedError) return;
      this.o.log.warn('a step failed; evaluating again shortly', { error: e.message });
      this.wakeAt(Math.min(this.timerAt, this.now() + RETRY_MS));
    });
    return run;
  }

  /** Stores `change`, then applies it in memory. */
  async commit(change: Change): Promise<void> {
    await this.o.store.commit(change);
    applyChange(this.state, change);
  }

  /** (Re)subscribed under `frameworkId`: remember it, and ask the master about every instance we know. */
  attach(driver: Driver, frameworkId: string): Promise<void> {
    return this.serial(async () => {
      this.driver = driver;
      this.suppressed = undefined;
      if (this.state.frameworkId !== frameworkId) {
        await this.o.store.saveFrameworkId(frameworkId);
        this.state.frameworkId = frameworkId;
      }
      // Explicitly, what we know (the master answers even for tasks it lost); implicitly, all it
      // knows of ours, so that a task the store forgot turns up, and is killed as an orphan.
      const known = [...this.state.instances.values()].map((i) => ({ taskId: i.taskId, agentId: i.agentId }));
      const failed = (e: Error) => this.o.log.warn('reconcile failed', { error: e.message });
      if (known.length > 0) driver.reconcile(known).catch(failed);
      driver.reconcile([]).catch(failed);
      this.killsSent.clear();   // a new connection: every kill still wanted is sent again
    });
  }

  detach(): void {
    this.driver = undefined;
  }

  /** Takes no more steps, and resolves once the one under way is done (its writes in). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.chain;
  }

  queueEntries(): QueueEntry[] {
    return [...this.queue.values()];
  }

  onOffers(offers: Offer[]): Promise<void> {
    return this.serial(async () => {
      const driver = this.driver;
      if (!driver) return;
      const now = this.now();
      const { launches, refusals } = placeOffers(offers, this.wants, () => `instance-${this.newId()}`, now);
      const staged = [...launches.values()].flat().map((l) => l.instance);
      if (staged.length > 0) {
        try {
          await this.commit({ instances: staged });
        } catch (err) {
          // Not stored, so not launched; and an offer left unanswered would hold its agent's
          // resources until we disconnect (the master may never time it out).
          driver.decline(offers.map((o) => o.id), { refuseMs: RETRY_MS, reason: 'the services framework could not store its launches' }).catch(() => undefined);
          throw err;
        }
      }
      for (const [appId, list] of refusals) this.noteRefusals(appId, list, offers.length, now);
      const byOffer = new Map<string, string>();
      for (const list of refusals.values()) for (const r of list) if (!byOffer.has(r.offerId)) byOffer.set(r.offerId, r.reason);
      for (const offer of offers) {
        const tasks = launches.get(offer.id);
        if (tasks) {
          driver.launch(offer, tasks.map((t) => t.task)).catch((e: Error) => {
            // Refused outright: no status will come for these tasks. Ask the master about them;
            // it answers TASK_GONE for what it never launched, and they are replaced.
            this.o.log.warn('launch failed', { offerId: offer.id, error: e.message });
            driver.reconcile(tasks.map((t) => ({ taskId: t.instance.taskId, agentId: t.instance.agentId }))).catch(() => undefined);
          });
          for (const t of tasks) this.instanceEvent(t.instance, 'TASK_STAGING', `launched on ${offer.hostname}`);
          continue;
        }
        const reason = byOffer.get(offer.id);
        const refuseMs = this.wants.length > 0 ? 1000 : this.o.declineRefuseMs ?? 5000;
        // The reason reaches the master's offer log: an operator sees there why an app waits.
        driver.decline([offer.id], { refuseMs, reason: reason ?? 'nothing to launch' })
          .catch((e: Error) => this.o.log.debug('decline failed', { offerId: offer.id, error: e.message }));
      }
    });
  }

  private noteRefusals(appId: string, list: Refusal[], processed: number, now: number): void {
    const q = this.queue.get(appId);
    if (!q) return;
    q.processedOffers += processed;
    q.unusedOffers += list.length;
    q.lastUnusedOffers = [...q.lastUnusedOffers, ...list.map((r) => ({ ...r, at: now }))].slice(-KEEP_REFUSALS);
  }

  onUpdate(status: TaskStatus): Promise<void> {
    return this.serial(async () => {
      const i = this.state.instances.get(status.taskId);
      if (!i) {
        // Ours by its id, unknown to the store: an orphan (launched by a framework that lost its
        // record, or expunged). It must not run beside the instances we count.
        if (!isTerminal(status.state) && appIdOfTask(status.taskId) !== undefined) {
          this.driver?.kill(status.taskId, { agentId: status.agentId }).catch(() => undefined);
        }
      } else {
        await this.applyStatus(i, status);
      }
      // Stored above, so it may be acknowledged; not awaited: a master slow to answer must not
      // hold every other step.
      if (status.uuid) this.driver?.acknowledge(status).catch((e: Error) => this.o.log.debug('acknowledge failed', { error: e.message }));
    });
  }

  private async applyStatus(i: InstanceRecord, status: TaskStatus): Promise<void> {
    const now = this.now();
    const healthBefore = i.healthy;
    if (isTerminal(status.state) || status.state === 'TASK_UNKNOWN') {
      const change: Change = { deleteInstances: [i.taskId] };
      // What we killed ends however the master words it (KILLED, or LOST for a task it lost);
      // a launch dropped in an offer race was never tried. Neither grows the backoff.
      const failure = !i.killRequested && (FAILURES.has(status.state) || status.state === 'TASK_KILLED');
      if (failure && this.state.apps.get(i.appId)?.configVersion === i.configVersion) {
        change.backoffs = [{ appId: i.appId, backoff: failed(this.state.backoffs.get(i.appId), now, this.state.apps.get(i.appId)?.app) }];
      }
      if (failure) {
        change.failures = [{
          appId: i.appId, taskId: i.taskId, state: status.state, message: status.message, host: i.hostname, version: i.version,
          timestamp: new Date(now).toISOString(),
        }];
      }
      await this.commit(change);
      if (status.state === 'TASK_KILLED' && !i.killRequested && status.healthy === false) {
        this.bus.emit('unhealthy_instance_kill_event', { appId: i.appId, taskId: i.taskId, instanceId: i.instanceId, version: i.version, reason: status.message, host: i.hostname, slaveId: i.agentId });
      }
      this.instanceEvent(i, status.state, status.message);
      return;
    }
    const next: InstanceRecord = { ...i };
    if (status.state === 'TASK_STAGING') next.state = 'STAGING';
    if (status.state === 'TASK_STARTING') next.state = 'STARTING';
    if (status.state === 'TASK_RUNNING') {
      next.state = i.state === 'KILLING' ? 'KILLING' : 'RUNNING';
      next.startedAt ??= now;
      delete next.unreachableSince;
    }
    if (status.state === 'TASK_KILLING') next.state = 'KILLING';
    if (status.state === 'TASK_UNREACHABLE') {
      next.state = 'UNREACHABLE';
      next.unreachableSince ??= now;
    }
    if (status.healthy !== undefined) next.healthy = status.healthy;
    await this.commit({ instances: [next] });
    this.instanceEvent(next, status.state, status.message);
    if (next.healthy !== undefined && next.healthy !== healthBefore) {
      this.bus.emit('health_status_changed_event', { appId: i.appId, instanceId: i.instanceId, taskId: i.taskId, version: i.version, alive: next.healthy });
      this.bus.emit('instance_health_changed_event', { instanceId: i.instanceId, runSpecId: i.appId, runSpecVersion: i.version, healthy: next.healthy });
    }
  }

  private instanceEvent(i: InstanceRecord, taskStatus: string, message: string): void {
    this.bus.emit('status_update_event', {
      slaveId: i.agentId, taskId: i.taskId, taskStatus, message, appId: i.appId, host: i.hostname, ports: i.hostPorts, ipAddresses: [], version: i.version,
    });
    this.bus.emit('instance_changed_event', {
      instanceId: i.instanceId, condition: conditionOf(taskStatus), runSpecId: i.appId, agentId: i.agentId, host: i.hostname, runSpecVersion: i.version,
    });
  }

  /**
   * Asks the master to kill these instances; their TASK_KILLED is then no failure. An
   * unreachable one is forgotten at once (its agent cannot answer; should it come back, its
   * task is an orphan and is killed then), as Marathon expunges what it kills there.
   */
  async killInstances(instances: readonly InstanceRecord[]): Promise<void> {
    const unreachable = instances.filter((i) => i.state === 'UNREACHABLE');
    const fresh = instances.filter((i) => !i.killRequested && i.state !== 'UNREACHABLE');
    if (fresh.length > 0 || unreachable.length > 0) {
      await this.commit({ instances: fresh.map((i) => ({ ...i, killRequested: true })), deleteInstances: unreachable.map((i) => i.taskId) });
    }
    for (const i of instances) this.sendKill(i);
  }

  /** When each kill was last sent on this connection: one unanswered is sent again. */
  private readonly killsSent = new Map<string, number>();

  private sendKill(i: InstanceRecord): void {
    const driver = this.driver;
    if (!driver) return;   // sent once connected: attach() clears killsSent
    this.killsSent.set(i.taskId, this.now());
    const grace = this.state.apps.get(i.appId)?.app.taskKillGracePeriodSeconds;
    driver.kill(i.taskId, { agentId: i.agentId, ...(grace !== undefined ? { gracePeriodMs: grace * 1000 } : {}) })
      .catch((e: Error) => this.o.log.warn('kill failed', { taskId: i.taskId, error: e.message }));
  }

  /** Kills asked for and not yet answered by the task's end: sent again when due; the next due time. */
  private resendKills(now: number): number {
    let next = Infinity;
    for (const taskId of this.killsSent.keys()) if (!this.state.instances.has(taskId)) this.killsSent.delete(taskId);
    for (const i of this.state.instances.values()) {
      if (!i.killRequested) continue;
      const sent = this.killsSent.get(i.taskId);
      if (sent === undefined || now - sent >= KILL_RETRY_MS) this.sendKill(i);
      next = Math.min(next, (this.killsSent.get(i.taskId) ?? now) + KILL_RETRY_MS);
    }
    return next;
  }

  /** Evaluates until nothing follows: a kill written or a deployment done changes the state again. */
  private async settle(): Promise<void> {
    for (let round = 0; round < 4 && !this.stopped; round++) {
      const followUp = this.evaluate();
      if (followUp.length === 0) return;
      // Every write lands (or fails) before the step ends; the first failure fails the step.
      const failed = (await Promise.allSettled(followUp)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  /**
   * Every app's plan, acted on. Kills and expunges are written before they are sent; the
   * launches wanted wait for offers; deployments whose goal is reached are done.
   */
  private evaluate(): Promise<void>[] {
    const now = this.now();
    const s = this.state;
    // Instances by app, once per evaluation: a scan per app would cost apps × instances.
    const byApp = new Map<string, InstanceRecord[]>();
    for (const i of s.instances.values()) {
      const list = byApp.get(i.appId);
      if (list) list.push(i); else byApp.set(i.appId, [i]);
    }
    const appIds = new Set([...s.apps.keys(), ...byApp.keys()]);
    const wants: Want[] = [];
    const toKill: InstanceRecord[] = [];
    const expunged: string[] = [];
    let wakeAt = Infinity;
    for (const appId of [...appIds].sort()) {
      const rec = s.apps.get(appId);
      const instances = byApp.get(appId) ?? [];
      const restarting = deploymentOf(s, appId)?.actions.some((a) => a.app === appId && a.action === 'RestartApplication') ?? false;
      const plan = planApp(rec, instances, s.backoffs.get(appId), restarting, now);
      for (const id of plan.kill) toKill.push(s.instances.get(id) as InstanceRecord);
      const planned = new Set(plan.kill);
      expunged.push(...plan.expunge);
      if (plan.delayedUntil !== undefined) wakeAt = Math.min(wakeAt, plan.delayedUntil);
      // Unreachable instances are looked at again when they turn inactive or are to be forgotten.
      for (const i of instances) {
        // Staging for longer than the launch timeout: the agent never started it (Marathon's
        // task_launch_timeout): it is killed, and replaced like any instance that goes.
        if (i.state === 'STAGING' && !i.killRequested && !planned.has(i.taskId)) {
          const deadline = i.stagedAt + this.launchTimeoutMs;
          if (deadline <= now) toKill.push(i);
          else wakeAt = Math.min(wakeAt, deadline);
        }
        const us = rec?.app.unreachableStrategy;
        if (i.state === 'UNREACHABLE' && us && us !== 'disabled' && i.unreachableSince !== undefined) {
          for (const after of [us.inactiveAfterSeconds, us.expungeAfterSeconds]) {
            const at = i.unreachableSince + after * 1000;
            if (at > now) wakeAt = Math.min(wakeAt, at);
          }
        }
      }
      const waiting = rec && (plan.launch > 0 || plan.delayedUntil !== undefined);
      if (rec && plan.launch > 0) {
        wants.push({ rec, count: plan.launch, placed: instances.map((i) => ({ hostname: i.hostname, attributes: i.attributes })) });
      }
      if (waiting) {
        const q = this.queue.get(appId) ?? { appId, count: 0, since: now, processedOffers: 0, unusedOffers: 0, lastUnusedOffers: [] };
        q.count = plan.launch || (rec.app.instances - instances.length);
        q.delayedUntil = plan.delayedUntil;
        this.queue.set(appId, q);
      } else {
        this.queue.delete(appId);
      }
    }
    for (const appId of this.queue.keys()) if (!appIds.has(appId)) this.queue.delete(appId);   // deleted while waiting
    // Deployments first: a change someone waits for goes before steady-state replacements.
    const deploying = new Set([...s.deployments.values()].flatMap((d) => d.actions.map((a) => a.app)));
    this.wants = [...wants.filter((w) => deploying.has(w.rec.app.id)), ...wants.filter((w) => !deploying.has(w.rec.app.id))];

    const followUp: Promise<void>[] = [];
    if (toKill.length > 0) followUp.push(this.killInstances(toKill));
    if (expunged.length > 0) {
      const gone = expunged.map((id) => s.instances.get(id) as InstanceRecord);
      followUp.push(this.commit({ deleteInstances: expunged }).then(() => { for (const i of gone) this.sendKill(i); }));
    }
    followUp.push(...this.finishDeployments(byApp));
    if (this.driver) wakeAt = Math.min(wakeAt, this.resendKills(now));
    this.offerInterest();
    this.wakeAt(wakeAt);
    return followUp;
  }

  private finishDeployments(byApp: ReadonlyMap<string, InstanceRecord[]>): Promise<void>[] {
    const out: Promise<void>[] = [];
    for (const d of this.state.deployments.values()) {
      const done = d.actions.every((a) => actionDone(a, this.state.apps.get(a.app), byApp.get(a.app) ?? []));
      if (!done) continue;
      out.push(this.commit({ deleteDeployments: [d.id] }).then(() => {
        for (const a of d.actions) if (a.action === 'StopApplication') this.bus.emit('app_terminated_event', { appId: a.app });
        this.bus.emit('deployment_step_success', { plan: planJson(d), currentStep: { actions: d.actions } });
        this.bus.emit('deployment_success', { id: d.id, plan: planJson(d) });
      }));
    }
    return out;
  }

  /** Revive when something waits for offers, suppress when nothing does (Mesos: no offers wasted on us). */
  private offerInterest(): void {
    const driver = this.driver;
    if (!driver) return;
    const wanting = this.wants.length > 0;
    // On failure the state is unknown again, so the next evaluation says it once more.
    const unknown = (what: string) => (e: Error) => {
      this.o.log.debug(`${what} failed`, { error: e.message });
      this.suppressed = undefined;
      this.wakeAt(Math.min(this.timerAt, this.now() + RETRY_MS));
    };
    if (wanting && this.suppressed !== false) {
      this.suppressed = false;
      driver.revive().catch(unknown('revive'));
    } else if (!wanting && this.suppressed !== true && this.queue.size === 0) {
      this.suppressed = true;
      driver.suppress().catch(unknown('suppress'));
    }
  }

  private wakeAt(at: number): void {
    if (at === this.timerAt) return;
    this.timer?.cancel();
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timerAt = Infinity;
      this.timer = undefined;
      void this.serial(() => undefined);
    }, Math.max(0, at - this.now()));
  }
}

/** Marathon's instance condition for a task state: TASK_RUNNING → Running, TASK_GONE_BY_OPERATOR → Gone. */
export function conditionOf(taskState: string): string {
  const special: Record<string, string> = { TASK_GONE_BY_OPERATOR: 'Gone', TASK_LOST: 'Unknown', TASK_UNKNOWN: 'Unknown' };
  const name = taskState.replace(/^TASK_/, '').toLowerCase();
  return special[taskState] ?? name.charAt(0).toUpperCase() + name.slice(1);
}
