/**
 * The services framework's decisions, as pure functions of its state and the time, for the
 * shared runtime (../shared/runtime.ts) to act on:
 *  - `evaluate`: every app's plan (plan.ts) as one commit (kills written before they are sent,
 *    unreachable instances forgotten, deployments whose goal is reached done), the launches
 *    wanted for the next offers (deployments first), every kill still unanswered, and when to
 *    look again (a backoff ending, a launch timing out, an unreachable instance's deadlines);
 *  - `onStatus`: a status update as a change to its instance (a failure grows the app's
 *    backoff and is kept as its last failure), or an orphan to kill;
 *  - `place`: offers → staging instances, and why each offer left unused would not do.
 */
import { isTerminal, type Offer, type TaskInfo, type TaskStatus } from '../../common/types';
import type { Commit, Evaluation, Placement, StatusOutcome, TaskRef, Waiting } from '../shared/runtime';
import type { ServicesEvent } from './events';
import { appIdOfTask } from './launch';
import { deploymentOf, type Change, type HealthHistory, type InstanceRecord, type ServicesState } from './model';
import { actionDone, planApp } from './plan';
import { placeOffers, type Refusal, type Want } from './placement';
import { failed } from './reconcile';

export type ServicesCommit = Commit<Change, ServicesEvent>;
export type ServicesEvaluation = Evaluation<Change, ServicesEvent, Want>;
export interface ServicesPlacement extends Placement<Change, ServicesEvent> {
  /** Per app id: why the offers it could not use were refused. */
  refusals: ReadonlyMap<string, Refusal[]>;
}

/** Ends that count as the instance failing (a kill we asked for is not one). */
const FAILURES: ReadonlySet<string> = new Set(['TASK_FAILED', 'TASK_FINISHED', 'TASK_ERROR', 'TASK_LOST']);

/**
 * Asks for these instances' end: the reachable are marked (their TASK_KILLED is then no
 * failure) and killed until they end; an unreachable one is forgotten at once (its agent
 * cannot answer; should it come back its task is killed then), as Marathon expunges what it
 * kills there.
 */
export function killChange(instances: readonly InstanceRecord[]): { change: Change; forget: TaskRef[] } {
  const unreachable = instances.filter((i) => i.state === 'UNREACHABLE');
  const fresh = instances.filter((i) => !i.killRequested && i.state !== 'UNREACHABLE');
  return {
    change: { instances: fresh.map((i) => ({ ...i, killRequested: true })), deleteInstances: unreachable.map((i) => i.taskId) },
    forget: unreachable.map(ref),
  };
}

const ref = (i: InstanceRecord): TaskRef => ({ taskId: i.taskId, agentId: i.agentId });

/** One pass over the instances: each app's, and those the runtime must kill or ask about. */
function scan(s: ServicesState): { byApp: Map<string, InstanceRecord[]>; kills: ServicesEvaluation['kills'][number][]; staging: (TaskRef & { since: number })[] } {
  const byApp = new Map<string, InstanceRecord[]>();
  const kills: ServicesEvaluation['kills'][number][] = [];
  const staging: (TaskRef & { since: number })[] = [];
  for (const i of s.instances.values()) {
    const list = byApp.get(i.appId);
    if (list) list.push(i); else byApp.set(i.appId, [i]);
    if (i.killRequested) kills.push({ ...ref(i), ...grace(s, i) });
    else if (i.state === 'STAGING') staging.push({ ...ref(i), since: i.stagedAt });
  }
  return { byApp, kills, staging };
}

/** What the look at every app gathers: what to kill, forget, launch, and the next deadline. */
interface Gathered {
  kill: InstanceRecord[];
  expunge: InstanceRecord[];
  wants: Want[];
  waiting: Waiting[];
  wakeAt: number;
}

/** One app's plan, added to what the look gathers (nothing allocated for an app with nothing to do). */
function lookAtApp(s: ServicesState, appId: string, instances: readonly InstanceRecord[], now: number, launchTimeoutMs: number, g: Gathered): void {
  const rec = s.apps.get(appId);
  const restarting = deploymentOf(s, appId)?.actions.some((a) => a.app === appId && a.action === 'RestartApplication') ?? false;
  const plan = planApp(rec, instances, s.backoffs.get(appId), restarting, now);
  const planned = plan.kill.length > 0 ? new Set(plan.kill) : undefined;
  for (const id of plan.kill) g.kill.push(s.instances.get(id) as InstanceRecord);
  for (const id of plan.expunge) g.expunge.push(s.instances.get(id) as InstanceRecord);
  if (plan.delayedUntil !== undefined) g.wakeAt = Math.min(g.wakeAt, plan.delayedUntil);
  for (const i of instances) {
    // Staging for longer than the launch timeout: the agent never started it (Marathon's
    // task_launch_timeout): it is killed, and replaced like any instance that goes.
    if (i.state === 'STAGING' && !i.killRequested && !planned?.has(i.taskId)) {
      const deadline = i.stagedAt + launchTimeoutMs;
      if (deadline <= now) g.kill.push(i); else g.wakeAt = Math.min(g.wakeAt, deadline);
    }
    // Unreachable instances are looked at again when they turn inactive or are to be forgotten.
    const us = rec?.app.unreachableStrategy;
    if (i.state === 'UNREACHABLE' && us && us !== 'disabled' && i.unreachableSince !== undefined) {
      for (const after of [us.inactiveAfterSeconds, us.expungeAfterSeconds]) {
        const at = i.unreachableSince + after * 1000;
        if (at > now) g.wakeAt = Math.min(g.wakeAt, at);
      }
    }
  }
  if (rec && plan.launch > 0) g.wants.push({ rec, count: plan.launch, placed: instances.map((i) => ({ hostname: i.hostname, attributes: i.attributes })) });
  if (rec && (plan.launch > 0 || plan.delayedUntil !== undefined)) {
    g.waiting.push({ key: appId, count: plan.launch || rec.app.instances - instances.length, ...(plan.delayedUntil !== undefined ? { delayedUntil: plan.delayedUntil } : {}) });
  }
}

const NO_INSTANCES: readonly InstanceRecord[] = [];

/** Every app's plan, as one commit and what the runtime must send. */
export function evaluate(s: ServicesState, now: number, launchTimeoutMs: number): ServicesEvaluation {
  const { byApp: instances, kills, staging } = scan(s);
  const g: Gathered = { kill: [], expunge: [], wants: [], waiting: [], wakeAt: Infinity };
  for (const appId of s.apps.keys()) lookAtApp(s, appId, instances.get(appId) ?? NO_INSTANCES, now, launchTimeoutMs, g);
  for (const [appId, list] of instances) if (!s.apps.has(appId)) lookAtApp(s, appId, list, now, launchTimeoutMs, g);   // deleted apps' instances
  // In app id order, not the maps' (a sort of what waits, not of every app, each step).
  const byId = <T>(id: (x: T) => string) => (a: T, b: T) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0);
  const wants = g.wants.sort(byId((w: Want) => w.rec.app.id));
  const waiting = g.waiting.sort(byId((w: Waiting) => w.key));
  const { kill, expunge, wakeAt } = g;
  // Deployments first: a change someone waits for goes before steady-state replacements.
  const deploying = new Set([...s.deployments.values()].flatMap((d) => d.actions.map((a) => a.app)));
  const ordered = [...wants.filter((w) => deploying.has(w.rec.app.id)), ...wants.filter((w) => !deploying.has(w.rec.app.id))];
  const killed = killChange(kill);
  const done = [...s.deployments.values()].filter((d) => d.actions.every((a) => actionDone(a, s.apps.get(a.app), instances.get(a.app) ?? [])));
  const change: Change = {
    instances: killed.change.instances ?? [],
    deleteInstances: [...killed.change.deleteInstances ?? [], ...expunge.map((i) => i.taskId)],
    deleteDeployments: done.map((d) => d.id),
  };
  const empty = change.instances!.length === 0 && change.deleteInstances!.length === 0 && done.length === 0;
  return {
    commits: empty ? [] : [{ change, events: done.map((deployment): ServicesEvent => ({ type: 'deployment-done', deployment })) }],
    wants: ordered,
    kills,
    forget: [...killed.forget, ...expunge.map(ref)],
    staging,
    waiting,
    wakeAt,
  };
}

function grace(s: ServicesState, i: InstanceRecord): { gracePeriodMs?: number } {
  const seconds = s.apps.get(i.appId)?.app.taskKillGracePeriodSeconds;
  return seconds !== undefined ? { gracePeriodMs: seconds * 1000 } : {};
}

/** A status update: its instance's new record (or its end), or an orphan to kill. */
export function onStatus(s: ServicesState, status: TaskStatus, now: number): StatusOutcome<Change, ServicesEvent> {
  const i = s.instances.get(status.taskId);
  // Ours by its id, unknown to the store: an orphan (launched by a framework that lost its
  // record, or forgotten). It must not run beside the instances we count.
  if (!i) return { stray: appIdOfTask(status.taskId) !== undefined };
  if (isTerminal(status.state) || status.state === 'TASK_UNKNOWN') return { commit: ended(s, i, status, now) };
  const next: InstanceRecord = { ...i };
  if (status.state === 'TASK_STAGING') next.state = 'STAGING';
  if (status.state === 'TASK_STARTING') next.state = 'STARTING';
  if (status.state === 'TASK_RUNNING') {
    next.state = i.state === 'KILLING' ? 'KILLING' : 'RUNNING';
    next.startedAt ??= now;
    // Only when there: a `delete` turns the record into a slow dictionary object, and every look reads them all.
    if (next.unreachableSince !== undefined) delete next.unreachableSince;
  }
  if (status.state === 'TASK_KILLING') next.state = 'KILLING';
  if (status.state === 'TASK_UNREACHABLE') {
    next.state = 'UNREACHABLE';
    next.unreachableSince ??= now;
  }
  const change: Change = { instances: [next] };
  if (status.healthy !== undefined) {
    next.healthy = status.healthy;
    change.health = [{ taskId: i.taskId, history: healthAfter(s.health.get(i.taskId), status, now) }];
  }
  const events: ServicesEvent[] = [{ type: 'instance', instance: next, taskState: status.state, message: status.message }];
  if (next.healthy !== undefined && next.healthy !== i.healthy) events.push({ type: 'health', instance: i, healthy: next.healthy });
  return { commit: { change, events } };
}

/** The health history after a verdict; a verdict heard again (a resent update) changes nothing. */
export function healthAfter(h: HealthHistory | undefined, status: TaskStatus, now: number): HealthHistory {
  const at = status.timestampMs > 0 ? status.timestampMs : now;
  const last = Math.max(h?.lastSuccess ?? -Infinity, h?.lastFailure ?? -Infinity);
  const base: HealthHistory = h ?? { consecutiveFailures: 0 };
  if (at <= last) return base;
  if (status.healthy) return { ...base, firstSuccess: base.firstSuccess ?? at, lastSuccess: at, consecutiveFailures: 0 };
  return { ...base, lastFailure: at, ...(status.message ? { lastFailureCause: status.message } : {}), consecutiveFailures: base.consecutiveFailures + 1 };
}

/** An instance's end: forgotten; a failure grows its app's backoff and is its last failure. */
function ended(s: ServicesState, i: InstanceRecord, status: TaskStatus, now: number): ServicesCommit {
  const change: Change = { deleteInstances: [i.taskId] };
  // What we killed ends however the master words it (KILLED, or LOST for a task it lost);
  // a launch dropped in an offer race was never tried. Neither grows the backoff.
  const failure = !i.killRequested && (FAILURES.has(status.state) || status.state === 'TASK_KILLED');
  const rec = s.apps.get(i.appId);
  if (failure && rec?.configVersion === i.configVersion) {
    change.backoffs = [{ appId: i.appId, backoff: failed(s.backoffs.get(i.appId), now, rec.app) }];
  }
  if (failure) {
    change.failures = [{
      appId: i.appId, taskId: i.taskId, state: status.state, message: status.message, host: i.hostname, version: i.version,
      timestamp: new Date(now).toISOString(),
    }];
  }
  const events: ServicesEvent[] = [];
  if (status.state === 'TASK_KILLED' && !i.killRequested && status.healthy === false) events.push({ type: 'unhealthy-kill', instance: i, reason: status.message });
  events.push({ type: 'instance', instance: i, taskState: status.state, message: status.message });
  return { change, events };
}

/** Offers → staging instances (stored before they are launched), and why the rest were declined. */
export function place(offers: readonly Offer[], wants: readonly Want[], newInstanceId: () => string, now: number): ServicesPlacement {
  const { launches, refusals } = placeOffers(offers, wants, newInstanceId, now);
  const byOffer = new Map<string, TaskInfo[]>();
  const events: ServicesEvent[] = [];
  const staged: InstanceRecord[] = [];
  const hostOf = new Map(offers.map((o) => [o.id, o.hostname]));
  for (const [offerId, list] of launches) {
    byOffer.set(offerId, list.map((l) => l.task));
    for (const l of list) {
      staged.push(l.instance);
      events.push({ type: 'instance', instance: l.instance, taskState: 'TASK_STAGING', message: `launched on ${hostOf.get(offerId) ?? ''}` });
    }
  }
  const declined = new Map<string, string>();
  for (const list of refusals.values()) for (const r of list) if (!declined.has(r.offerId)) declined.set(r.offerId, r.reason);
  return {
    ...(staged.length > 0 ? { commit: { change: { instances: staged }, events } } : {}),
    launches: byOffer, declined, refusals, more: wants.length > 0,
  };
}
