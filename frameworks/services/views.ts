/**
 * The JSON the REST API answers with, in Marathon's shapes (R/v2/types/*.raml): an app with
 * its counts, a task, a deployment, a queue entry. Pure functions of the state.
 */
import type { App } from './app';
import type { AppRecord, Deployment, InstanceRecord, ServicesState, TaskFailure } from './model';
import { instancesOf, deploymentOf } from './model';
import { isHealthy } from './rolling';

/** An app definition as Marathon writes it: what `parseApp` reads back to the same app. */
export function appDefinition(app: App): Record<string, unknown> {
  const { constraints, healthChecks, ...rest } = app;
  return {
    ...rest,
    constraints: constraints.map((c) => [c.field, c.operator, ...(c.value !== undefined ? [c.value] : [])]),
    healthChecks: healthChecks.map(({ command, ...h }) => ({ ...h, ...(command !== undefined ? { command: { value: command } } : {}) })),
  };
}

export interface AppCounts {
  tasksStaged: number;
  tasksRunning: number;
  tasksHealthy: number;
  tasksUnhealthy: number;
}

export function counts(app: App | undefined, instances: readonly InstanceRecord[]): AppCounts {
  let tasksStaged = 0, tasksRunning = 0, tasksHealthy = 0, tasksUnhealthy = 0;
  for (const i of instances) {
    if (i.state === 'STAGING' || i.state === 'STARTING') tasksStaged++;
    if (i.state === 'RUNNING') tasksRunning++;
    if (app && app.healthChecks.length > 0 && i.state === 'RUNNING') {
      if (i.healthy === true) tasksHealthy++;
      else if (i.healthy === false) tasksUnhealthy++;
    }
  }
  return { tasksStaged, tasksRunning, tasksHealthy, tasksUnhealthy };
}

export function taskJson(i: InstanceRecord, app: App | undefined): Record<string, unknown> {
  const healthChecked = (app?.healthChecks.length ?? 0) > 0 && i.healthy !== undefined;
  return {
    id: i.taskId,
    appId: i.appId,
    instanceId: i.instanceId,
    host: i.hostname,
    ports: i.hostPorts,
    servicePorts: [],
    slaveId: i.agentId,
    agentId: i.agentId,
    state: i.state === 'KILLING' ? 'TASK_KILLING' : `TASK_${i.state}`,
    stagedAt: new Date(i.stagedAt).toISOString(),
    startedAt: i.startedAt !== undefined ? new Date(i.startedAt).toISOString() : null,
    version: i.version,
    ipAddresses: [],
    ...(healthChecked ? { healthCheckResults: [{ alive: i.healthy, instanceId: i.instanceId, consecutiveFailures: i.healthy ? 0 : 1 }] } : {}),
    /** Beyond Marathon: whether the instance counts as healthy for deployments. */
    healthy: app ? isHealthy(app, { id: i.taskId, state: i.state === 'KILLING' ? 'RUNNING' : i.state, healthy: i.healthy, launchedAt: i.stagedAt }) && i.state !== 'KILLING' : false,
  };
}

export function deploymentJson(d: Deployment): Record<string, unknown> {
  return {
    id: d.id,
    version: d.version,
    affectedApps: d.actions.map((a) => a.app),
    affectedPods: [],
    steps: [{ actions: d.actions.map((a) => ({ action: a.action, app: a.app })) }],
    currentActions: d.actions.map((a) => ({ action: a.action, app: a.app, readinessCheckResults: [] })),
    currentStep: 1,
    totalSteps: 1,
  };
}

export type Embed = 'tasks' | 'counts' | 'deployments' | 'lastTaskFailure' | 'readiness' | 'taskStats';

/** An app with what Marathon adds to it on GET: version, counts, deployments, and what `embed` asks for. */
export function appJson(s: ServicesState, rec: AppRecord, embed: ReadonlySet<Embed>): Record<string, unknown> {
  const instances = instancesOf(s, rec.app.id);
  const d = deploymentOf(s, rec.app.id);
  const failure: TaskFailure | undefined = s.failures.get(rec.app.id);
  return {
    ...appDefinition(rec.app),
    version: rec.version,
    versionInfo: { lastScalingAt: rec.version, lastConfigChangeAt: rec.configVersion },
    ...counts(rec.app, instances),
    deployments: d ? [{ id: d.id }] : [],
    ...(embed.has('tasks') ? { tasks: instances.map((i) => taskJson(i, rec.app)) } : {}),
    ...(embed.has('lastTaskFailure') && failure ? { lastTaskFailure: failure } : {}),
    ...(embed.has('readiness') ? { readinessCheckResults: [] } : {}),
  };
}

/** `embed=apps.tasks&embed=app.counts…` → the set of things to embed. */
export function embedsOf(params: URLSearchParams): Set<Embed> {
  const out = new Set<Embed>();
  for (const e of params.getAll('embed')) {
    const name = e.replace(/^apps?\./, '') as Embed;
    out.add(name);
  }
  return out;
}
