/**
 * One step of a rolling restart (Marathon's TaskReplaceActor, REFERENCE.md Frameworks 3):
 * given the instances of the old versions and those of the new one, what to launch and
 * which old instances to kill now. Pure and stateless: the framework runs it again whenever
 * an instance changes (launched, healthy, gone), until `done`.
 *
 *   minHealthy = ceil(n × minimumHealthCapacity)      never fewer healthy instances than this
 *   maxCapacity = floor(n × (1 + maximumOverCapacity)) never more instances than this
 *
 * (when the two are equal, one extra instance is allowed, or nothing could ever move). An
 * old instance is killed only if the healthy ones left, old and new, are still at least
 * minHealthy; the least useful old ones go first (not running, then unhealthy, then by
 * `killSelection`). New instances are launched up to the capacity left.
 */
import type { App } from './app';
import { byKillSelection, type Instance } from './reconcile';

export interface RollingStep {
  launch: number;
  kill: string[];
  /** Every instance is of the new version, n of them, all healthy. */
  done: boolean;
}

/** Healthy as a deployment counts it: running, and passing its checks if it has any. */
export function isHealthy(app: Pick<App, 'healthChecks'>, i: Instance): boolean {
  return i.state === 'RUNNING' && (app.healthChecks.length === 0 || i.healthy === true);
}

export function rollingBounds(app: Pick<App, 'instances' | 'upgradeStrategy'>): { minHealthy: number; maxCapacity: number } {
  const n = app.instances;
  const minHealthy = Math.ceil(n * app.upgradeStrategy.minimumHealthCapacity);
  const cap = Math.floor(n * (1 + app.upgradeStrategy.maximumOverCapacity));
  return { minHealthy, maxCapacity: minHealthy === cap ? cap + 1 : cap };
}

export function rollingStep(app: App, old: readonly Instance[], fresh: readonly Instance[]): RollingStep {
  const n = app.instances;
  const { minHealthy, maxCapacity } = rollingBounds(app);
  const freshHealthy = fresh.filter((i) => isHealthy(app, i)).length;
  let oldHealthy = old.filter((i) => isHealthy(app, i)).length;

  const kill: string[] = [];
  const candidates = [...old].sort((a, b) => usefulness(app, a) - usefulness(app, b) || byKillSelection(app, a, b));
  for (const i of candidates) {
    const healthy = isHealthy(app, i);
    if (healthy && oldHealthy - 1 + freshHealthy < minHealthy) continue;
    kill.push(i.id);
    if (healthy) oldHealthy--;
  }
  const remainingOld = old.length - kill.length;
  const launch = Math.max(0, Math.min(n - fresh.length, maxCapacity - remainingOld - fresh.length));
  const done = remainingOld === 0 && kill.length === 0 && fresh.length === n && freshHealthy === n;
  return { launch, kill, done };
}

function usefulness(app: App, i: Instance): number {
  if (i.state !== 'RUNNING') return 0;
  return isHealthy(app, i) ? 2 : 1;
}
