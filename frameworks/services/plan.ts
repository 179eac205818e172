/**
 * What to do for one app now, from its record, its instances, its backoff and whether a
 * deployment restarts it: launch n / kill these / forget those / wait until. Pure; the
 * framework runs it after every change and acts on the answer.
 *
 *   no app any more (deleted)   → kill every instance; done once none is left
 *   restarting                  → rollingStep over old-config and current-config instances
 *   otherwise                   → the steady-state reconciler (scale, replace, backoff)
 *
 * Instances being killed take no part: they are going, so they neither count towards the
 * desired number nor towards the healthy floor of a rolling restart.
 */
import type { DeploymentAction, InstanceRecord, AppRecord } from './model';
import { byReachability, reconcile, launchDelayMs, type Backoff, type Instance } from './reconcile';
import { isHealthy, rollingStep } from './rolling';

export interface AppPlan {
  launch: number;
  kill: string[];
  expunge: string[];
  delayedUntil?: number;
}

function live(instances: readonly InstanceRecord[]): Instance[] {
  return instances.filter((i): i is InstanceRecord & Instance => i.state !== 'KILLING' && !i.killRequested)
    .map((i) => ({ id: i.taskId, state: i.state, healthy: i.healthy, launchedAt: i.stagedAt, unreachableSince: i.unreachableSince }));
}

export function planApp(rec: AppRecord | undefined, instances: readonly InstanceRecord[], backoff: Backoff | undefined,
  restarting: boolean, now: number): AppPlan {
  const alive = live(instances);
  if (!rec) return { launch: 0, kill: alive.map((i) => i.id), expunge: [] };
  if (!restarting) return reconcile(rec.app, alive, backoff, now);

  // The unreachableStrategy holds during a restart too: an inactive instance is replaced (here
  // by a new one), a long-gone one forgotten.
  const { counted, expunge } = byReachability(rec.app, alive, now);
  const byId = new Map(instances.map((i) => [i.taskId, i]));
  const old = counted.filter((i) => byId.get(i.id)?.configVersion !== rec.configVersion);
  const fresh = counted.filter((i) => byId.get(i.id)?.configVersion === rec.configVersion);
  const step = rollingStep(rec.app, old, fresh);
  const until = backoff ? backoff.lastFailureAt + launchDelayMs(rec.app, backoff.failures) : now;
  if (step.launch > 0 && until > now) return { launch: 0, kill: step.kill, expunge, delayedUntil: until };
  return { launch: step.launch, kill: step.kill, expunge };
}

/** Whether a deployment's action on one app has reached its goal. */
export function actionDone(action: DeploymentAction, rec: AppRecord | undefined, instances: readonly InstanceRecord[]): boolean {
  if (action.action === 'StopApplication' || !rec) return instances.length === 0;
  const alive = live(instances);
  if (action.action === 'RestartApplication') {
    const byId = new Map(instances.map((i) => [i.taskId, i]));
    const old = alive.filter((i) => byId.get(i.id)?.configVersion !== rec.configVersion);
    const fresh = alive.filter((i) => byId.get(i.id)?.configVersion === rec.configVersion);
    return rollingStep(rec.app, old, fresh).done && alive.length === instances.length;
  }
  // Start and scale: the desired number, every one healthy, and none still on its way out.
  return alive.length === rec.app.instances && alive.length === instances.length && alive.every((i) => isHealthy(rec.app, i));
}
