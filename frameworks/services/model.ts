/**
 * What the services framework keeps, in Redis or in memory: apps with their versions,
 * instances (one task each), deployments and launch backoffs. Plain data, JSON as stored.
 *
 * Vocabulary (Marathon's): an *app* is a definition with a desired instance count; an
 * *instance* is one launch of it, run as one Mesos task; a *deployment* moves apps from one
 * definition to another (start, scale, restart, stop) and is the only way apps change.
 */
import type { App } from './app';
import type { Backoff, InstanceState } from './reconcile';

export interface AppRecord {
  app: App;
  /** When this definition was stored: Marathon's `version`, an ISO timestamp. */
  version: string;
  /**
   * When the definition last changed in more than `instances` (or was restarted): instances
   * launched under an older config are replaced by a rolling restart; a scale keeps them.
   */
  configVersion: string;
}

/** An instance's state as the framework tracks it: the reconciler's, plus being killed. */
export type InstanceRecordState = InstanceState | 'KILLING';

export interface InstanceRecord {
  instanceId: string;
  taskId: string;
  appId: string;
  /** The app's configVersion it was launched with. */
  configVersion: string;
  /** The app's version it was launched with (Marathon's task `version`). */
  version: string;
  agentId: string;
  hostname: string;
  attributes: Record<string, string>;
  hostPorts: number[];
  state: InstanceRecordState;
  /** The agent's latest health verdict; undefined before the first, or without checks. */
  healthy?: boolean;
  /** When it was launched (ms). */
  stagedAt: number;
  /** When it first ran (ms). */
  startedAt?: number;
  unreachableSince?: number;
  /** The framework asked for the kill: its TASK_KILLED is not a failure. */
  killRequested?: boolean;
}

/**
 * An instance's health over time, as Marathon's healthCheckResults show it. Agents report a
 * verdict when it changes (as Mesos's executors do), so `lastSuccess` is when the latest
 * healthy verdict was reached, and `consecutiveFailures` counts the unhealthy verdicts since
 * the last healthy one. Kept in memory only, as Marathon keeps its health results: a
 * restarted framework starts with none (each instance's current verdict, `healthy`, is stored).
 */
export interface HealthHistory {
  firstSuccess?: number;
  lastSuccess?: number;
  lastFailure?: number;
  lastFailureCause?: string;
  consecutiveFailures: number;
}

export type DeploymentActionType = 'StartApplication' | 'ScaleApplication' | 'RestartApplication' | 'StopApplication';

export interface DeploymentAction {
  action: DeploymentActionType;
  app: string;
}

export interface Deployment {
  id: string;
  /** The version of the change that made it (ISO). */
  version: string;
  actions: DeploymentAction[];
  /** Every affected app as it was before, for a rollback; null: it did not exist. */
  original: Record<string, AppRecord | null>;
  startedAt: number;
}

/** Why the latest task of an app failed (Marathon's `lastTaskFailure`). */
export interface TaskFailure {
  appId: string;
  taskId: string;
  state: string;
  message: string;
  host: string;
  version: string;
  timestamp: string;
}

/** Everything that survives a restart of the framework. */
export interface ServicesState {
  frameworkId?: string;
  apps: Map<string, AppRecord>;
  /** By task id. */
  instances: Map<string, InstanceRecord>;
  deployments: Map<string, Deployment>;
  backoffs: Map<string, Backoff>;
  failures: Map<string, TaskFailure>;
  /** By task id; in memory only (a Change's `health` is applied, never stored). */
  health: Map<string, HealthHistory>;
}

export function emptyState(): ServicesState {
  return { apps: new Map(), instances: new Map(), deployments: new Map(), backoffs: new Map(), failures: new Map(), health: new Map() };
}

/** One atomic write: everything in it lands, or nothing does. */
export interface Change {
  apps?: AppRecord[];
  /** Stored definitions to keep under their versions (GET /v2/apps/{id}/versions). */
  versions?: { appId: string; version: string; app: App }[];
  deleteApps?: string[];
  instances?: InstanceRecord[];
  deleteInstances?: string[];
  deployments?: Deployment[];
  deleteDeployments?: string[];
  backoffs?: { appId: string; backoff: Backoff | null }[];
  failures?: TaskFailure[];
  /** Health histories, applied in memory and not stored. */
  health?: { taskId: string; history: HealthHistory }[];
}

/** Applies a committed change to the in-memory state. */
export function applyChange(s: ServicesState, c: Change): void {
  for (const r of c.apps ?? []) s.apps.set(r.app.id, r);
  for (const id of c.deleteApps ?? []) {
    s.apps.delete(id);
    s.failures.delete(id);   // as the Redis store drops them: a new app of that id starts clean
  }
  for (const i of c.instances ?? []) s.instances.set(i.taskId, i);
  for (const id of c.deleteInstances ?? []) {
    s.instances.delete(id);
    s.health.delete(id);
  }
  for (const { taskId, history } of c.health ?? []) s.health.set(taskId, history);
  for (const d of c.deployments ?? []) s.deployments.set(d.id, d);
  for (const id of c.deleteDeployments ?? []) s.deployments.delete(id);
  for (const { appId, backoff } of c.backoffs ?? []) {
    if (backoff) s.backoffs.set(appId, backoff); else s.backoffs.delete(appId);
  }
  for (const f of c.failures ?? []) s.failures.set(f.appId, f);
}

export function instancesOf(s: ServicesState, appId: string): InstanceRecord[] {
  const out: InstanceRecord[] = [];
  for (const i of s.instances.values()) if (i.appId === appId) out.push(i);
  return out;
}

/** The deployment that holds `appId`, if any: one per app at a time. */
export function deploymentOf(s: ServicesState, appId: string): Deployment | undefined {
  for (const d of s.deployments.values()) if (d.actions.some((a) => a.app === appId)) return d;
  return undefined;
}
