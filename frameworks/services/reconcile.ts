/**
 * The steady-state reconciler: one app's desired count against its instances at `now` →
 * how many to launch, which to kill, and until when to wait. Pure; the framework runs it on
 * every change and on a timer, and deployments (rolling restarts) are built on top of it.
 *
 * Marathon's rules, as REFERENCE.md (Frameworks 3) gives them:
 *  - an instance that failed or finished is replaced after the launch backoff: backoffSeconds,
 *    × backoffFactor for each further failure in a row, at most maxLaunchDelaySeconds; a kill
 *    does not grow it, a new app version resets it;
 *  - an unreachable instance counts as running until `inactiveAfterSeconds`, then a
 *    replacement is launched; after `expungeAfterSeconds` it is forgotten, and killed should it
 *    come back; with `unreachableStrategy: "disabled"` it counts as running for good;
 *  - scaling down kills the least useful first (unreachable, then not yet running, then
 *    unhealthy, then healthy), and among equals by `killSelection`.
 */
import type { App } from './app';

export type InstanceState = 'STAGING' | 'STARTING' | 'RUNNING' | 'UNREACHABLE';

export interface Instance {
  id: string;
  state: InstanceState;
  /** Health as the agent last reported it; undefined before the first result or without checks. */
  healthy?: boolean;
  /** When it was launched (ms). */
  launchedAt: number;
  /** When it became unreachable (ms), while it is. */
  unreachableSince?: number;
}

/** The launch backoff of an app: consecutive failures and when the last one happened. */
export interface Backoff {
  failures: number;
  lastFailureAt: number;
}

export interface Plan {
  launch: number;
  kill: string[];
  /** Unreachable instances to forget (expunged); kill them if they ever come back. */
  expunge: string[];
  /** Launches are held back by the backoff until then (ms); undefined when not waiting. */
  delayedUntil?: number;
}

/** How long after the last failure the next launch may go (ms). */
export function launchDelayMs(app: Pick<App, 'backoffSeconds' | 'backoffFactor' | 'maxLaunchDelaySeconds'>, failures: number): number {
  if (failures <= 0) return 0;
  const seconds = Math.min(app.backoffSeconds * app.backoffFactor ** (failures - 1), app.maxLaunchDelaySeconds);
  return Math.round(seconds * 1000);
}

/**
 * The backoff after another failure (TASK_FAILED or TASK_FINISHED; a kill is not one). A
 * failure coming more than maxLaunchDelaySeconds after the last delay ran out starts the count
 * again: the app had recovered, and an occasional crash weeks apart should not wait the full
 * maximum (Marathon drops delays that are long overdue).
 */
export function failed(backoff: Backoff | undefined, at: number, app?: Pick<App, 'backoffSeconds' | 'backoffFactor' | 'maxLaunchDelaySeconds'>): Backoff {
  if (backoff && app) {
    const delayEnded = backoff.lastFailureAt + launchDelayMs(app, backoff.failures);
    if (at - delayEnded > app.maxLaunchDelaySeconds * 1000) return { failures: 1, lastFailureAt: at };
  }
  return { failures: (backoff?.failures ?? 0) + 1, lastFailureAt: at };
}

/**
 * The unreachableStrategy applied: which instances still count (reachable, or unreachable for
 * less than inactiveAfterSeconds, or for good with "disabled"), and which to forget (unreachable
 * for expungeAfterSeconds). Those in between are inactive: replaced, not yet forgotten.
 */
export function byReachability(app: Pick<App, 'unreachableStrategy'>, instances: readonly Instance[], now: number): { counted: Instance[]; expunge: string[] } {
  const expunge: string[] = [];
  const counted: Instance[] = [];
  for (const i of instances) {
    if (i.state === 'UNREACHABLE' && app.unreachableStrategy !== 'disabled') {
      const { inactiveAfterSeconds, expungeAfterSeconds } = app.unreachableStrategy;
      const gone = now - (i.unreachableSince ?? now);
      if (gone >= expungeAfterSeconds * 1000) {
        expunge.push(i.id);
        continue;
      }
      if (gone >= inactiveAfterSeconds * 1000) continue;
    }
    counted.push(i);
  }
  return { counted, expunge };
}

export function reconcile(app: App, instances: readonly Instance[], backoff: Backoff | undefined, now: number): Plan {
  const { counted, expunge } = byReachability(app, instances, now);

  if (counted.length > app.instances) {
    const victims = [...counted].sort((a, b) => rank(a) - rank(b) || byKillSelection(app, a, b)).slice(0, counted.length - app.instances);
    return { launch: 0, kill: victims.map((v) => v.id), expunge };
  }
  const missing = app.instances - counted.length;
  if (missing === 0) return { launch: 0, kill: [], expunge };
  const until = backoff ? backoff.lastFailureAt + launchDelayMs(app, backoff.failures) : now;
  if (until > now) return { launch: 0, kill: [], expunge, delayedUntil: until };
  return { launch: missing, kill: [], expunge };
}

/** Lower is killed first: lost, not yet running, unhealthy, then healthy. */
function rank(i: Instance): number {
  if (i.state === 'UNREACHABLE') return 0;
  if (i.state !== 'RUNNING') return 1;
  if (i.healthy === false) return 2;
  if (i.healthy === undefined) return 3;
  return 4;
}

/** Among instances equally worth keeping, the order `killSelection` asks for. */
export function byKillSelection(app: Pick<App, 'killSelection'>, a: Instance, b: Instance): number {
  return app.killSelection === 'YOUNGEST_FIRST' ? b.launchedAt - a.launchedAt : a.launchedAt - b.launchedAt;
}
