/**
 * Changes to apps become deployments: `deploy(state, targets, …)` → the atomic change to
 * store and the deployment that carries it out, or the deployments in the way. Pure.
 *
 * Marathon's rules (REFERENCE.md, Frameworks 3):
 *  - a new app is started, a deleted one stopped; a change of `instances` alone is a scale
 *    (instances keep running); any other change, or a restart, is a rolling restart: the
 *    app gets a new configVersion and its older instances are replaced;
 *  - one deployment per app: a change to an app held by a deployment is refused (409)
 *    unless forced, which cancels the deployment in the way where it stands;
 *  - a new version resets the launch backoff;
 *  - a deployment remembers the apps as they were, so deleting it rolls them back.
 */
import type { App } from './app';
import { deploymentOf, instancesOf, type AppRecord, type Change, type Deployment, type DeploymentAction, type ServicesState } from './model';
import { servicePorts } from './views';

export interface Target {
  appId: string;
  /** The new definition; null deletes the app. */
  app: App | null;
  /** Replace every instance even if only `instances` changed (POST …/restart). */
  restart?: boolean;
  /** Restore this configVersion (a rollback): instances launched under it count as current. */
  configVersion?: string;
}

export interface DeployOptions {
  force: boolean;
  /** The version this change gets (ISO, later than every stored one). */
  version: string;
  deploymentId: string;
  now: number;
}

export type DeployResult =
  | { ok: true; change: Change; deployment: Deployment }
  | { ok: false; conflicts: Deployment[] };

export function deploy(s: ServicesState, targets: readonly Target[], o: DeployOptions): DeployResult {
  const conflicts = new Map<string, Deployment>();
  for (const t of targets) {
    const d = deploymentOf(s, t.appId);
    if (d) conflicts.set(d.id, d);
  }
  if (conflicts.size > 0 && !o.force) return { ok: false, conflicts: [...conflicts.values()] };

  const change: Change = { apps: [], versions: [], deleteApps: [], deployments: [], deleteDeployments: [...conflicts.keys()], backoffs: [] };
  const actions: DeploymentAction[] = [];
  const original: Record<string, AppRecord | null> = {};
  const targeted = new Set(targets.map((t) => t.appId));
  const usedPorts = new Set([...s.apps.values()].filter((r) => !targeted.has(r.app.id)).flatMap((r) => servicePorts(r.app)));
  for (let t of targets) {
    const current = s.apps.get(t.appId);
    // A forced change over a cancelled deployment rolls back to what that one started from.
    const cancelled = [...conflicts.values()].find((d) => t.appId in d.original);
    original[t.appId] = cancelled ? cancelled.original[t.appId] ?? null : current ?? null;
    if (t.app === null) {
      if (!current && instancesOf(s, t.appId).length === 0) continue;
      actions.push({ action: 'StopApplication', app: t.appId });
      change.deleteApps!.push(t.appId);
      change.backoffs!.push({ appId: t.appId, backoff: null });
      continue;
    }
    t = { ...t, app: withServicePorts(t.app, usedPorts, current?.app) };
    const configChanged = t.restart || !current || !sameConfig(current.app, t.app as App);
    const configVersion = t.configVersion ?? (configChanged ? o.version : (current as AppRecord).configVersion);
    const rec: AppRecord = { app: t.app as App, version: o.version, configVersion };
    change.apps!.push(rec);
    change.versions!.push({ appId: t.appId, version: o.version, app: t.app as App });
    if (!current) actions.push({ action: 'StartApplication', app: t.appId });
    else if (configVersion !== current.configVersion) actions.push({ action: 'RestartApplication', app: t.appId });
    else actions.push({ action: 'ScaleApplication', app: t.appId });
    if (configVersion !== current?.configVersion) change.backoffs!.push({ appId: t.appId, backoff: null });
  }
  const deployment: Deployment = { id: o.deploymentId, version: o.version, actions, original, startedAt: o.now };
  change.deployments!.push(deployment);
  return { ok: true, change, deployment };
}

/** Where Marathon takes service ports from (its local_port_min/max defaults). */
export const SERVICE_PORTS = { min: 10000, max: 20000 };

/**
 * Every service port left 0 gets one: the app's previous one at that place if it had one,
 * else the lowest free in 10000–20000. Service ports name an app's ports cluster-wide (a load
 * balancer binds them); `used` holds the ones taken and gains the ones handed out.
 */
export function withServicePorts(app: App, used: Set<number>, previous?: App): App {
  const before = previous ? servicePorts(previous) : [];
  let next = SERVICE_PORTS.min;
  const pick = (given: number, i: number): number => {
    if (given !== 0) return given;
    const kept = before[i];
    if (kept && !used.has(kept)) return kept;
    while (used.has(next) && next <= SERVICE_PORTS.max) next++;
    return next <= SERVICE_PORTS.max ? next : 0;
  };
  const take = (p: number): number => { if (p !== 0) used.add(p); return p; };
  if (app.networks.some((n) => n.mode !== 'host')) {
    if (!app.container) return app;
    const portMappings = app.container.portMappings.map((m, i) => ({ ...m, servicePort: take(pick(m.servicePort, i)) }));
    return { ...app, container: { ...app.container, portMappings } };
  }
  return { ...app, portDefinitions: app.portDefinitions.map((d, i) => ({ ...d, port: take(pick(d.port, i)) })) };
}

/** The targets that undo a deployment: every app it touched, back as it was. */
export function rollbackTargets(d: Deployment): Target[] {
  return Object.entries(d.original).map(([appId, rec]) => (rec ? { appId, app: rec.app, configVersion: rec.configVersion } : { appId, app: null }));
}

/** Equal in everything but the instance count. */
export function sameConfig(a: App, b: App): boolean {
  return canonical({ ...a, instances: 0 }) === canonical({ ...b, instances: 0 });
}

/** JSON with object keys sorted, so that two equal definitions read from anywhere compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
