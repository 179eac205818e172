/**
 * The JSON the REST API answers with, in Marathon's shapes (R/v2/types/*.raml): an app with
 * its counts, a task, a deployment, a queue entry. Pure functions of the state.
 */
import type { App } from './app';
import type { AppRecord, Deployment, HealthHistory, InstanceRecord, ServicesState, TaskFailure } from './model';
import { instancesOf, deploymentOf } from './model';

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

/** A task in Marathon's shape (task.raml Task), and nothing more: strict clients refuse unknown fields. */
export function taskJson(i: InstanceRecord, app: App | undefined, role: string, health?: HealthHistory): Record<string, unknown> {
  const healthChecked = (app?.healthChecks.length ?? 0) > 0 && i.healthy !== undefined;
  return {
    id: i.taskId,
    appId: i.appId,
    host: i.hostname,
    ports: i.hostPorts,
    servicePorts: app ? servicePorts(app) : [],
    slaveId: i.agentId,
    state: i.state === 'KILLING' ? 'TASK_KILLING' : `TASK_${i.state}`,
    stagedAt: new Date(i.stagedAt).toISOString(),
    ...(i.startedAt !== undefined ? { startedAt: new Date(i.startedAt).toISOString() } : {}),
    version: i.version,
    ipAddresses: [],
    role,
    ...(healthChecked ? { healthCheckResults: [healthResult(i, health)] } : {}),
  };
}

/** Marathon's HealthCheckResult for an instance: the verdict, and when verdicts came. */
function healthResult(i: InstanceRecord, h: HealthHistory | undefined): Record<string, unknown> {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    alive: i.healthy, instanceId: i.taskId, consecutiveFailures: h?.consecutiveFailures ?? (i.healthy ? 0 : 1),
    ...(h?.firstSuccess !== undefined ? { firstSuccess: iso(h.firstSuccess) } : {}),
    ...(h?.lastSuccess !== undefined ? { lastSuccess: iso(h.lastSuccess) } : {}),
    ...(h?.lastFailure !== undefined ? { lastFailure: iso(h.lastFailure) } : {}),
    ...(h?.lastFailureCause !== undefined ? { lastFailureCause: h.lastFailureCause } : {}),
  };
}

/** The app's service ports: its port definitions' ports (host networking) or its mappings' service ports. */
export function servicePorts(app: App): number[] {
  return app.networks.some((n) => n.mode !== 'host') ? (app.container?.portMappings ?? []).map((m) => m.servicePort) : app.portDefinitions.map((d) => d.port);
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

/** A deployment plan as events carry it (Marathon's DeploymentPlan): id, steps, version. */
export function planJson(d: Deployment): Record<string, unknown> {
  return { id: d.id, version: d.version, steps: [{ actions: d.actions.map((a) => ({ action: a.action, app: a.app })) }] };
}

export type Embed = 'tasks' | 'counts' | 'deployments' | 'lastTaskFailure' | 'readiness' | 'taskStats' | 'failures';

/**
 * Marathon's taskStats: counts and life times of the app's tasks, in all (totalSummary), of
 * the current config and of older ones, and of those started since the last scale. A
 * category without tasks is left out.
 */
export function taskStats(rec: AppRecord, instances: readonly InstanceRecord[], now: number): Record<string, unknown> {
  const stats = (list: readonly InstanceRecord[]) => {
    const c = counts(rec.app, list);
    const lives = list.filter((i) => i.startedAt !== undefined).map((i) => (now - (i.startedAt as number)) / 1000).sort((a, b) => a - b);
    const average = lives.length ? lives.reduce((x, y) => x + y, 0) / lives.length : 0;
    const median = lives.length ? (lives[Math.floor((lives.length - 1) / 2)]! + lives[Math.ceil((lives.length - 1) / 2)]!) / 2 : 0;
    return { stats: { counts: { staged: c.tasksStaged, running: c.tasksRunning, healthy: c.tasksHealthy, unhealthy: c.tasksUnhealthy }, ...(lives.length ? { lifeTime: { averageSeconds: average, medianSeconds: median } } : {}) } };
  };
  const groups: [string, InstanceRecord[]][] = [
    ['startedAfterLastScaling', instances.filter((i) => i.stagedAt >= Date.parse(rec.version))],
    ['withLatestConfig', instances.filter((i) => i.configVersion === rec.configVersion)],
    ['withOutdatedConfig', instances.filter((i) => i.configVersion !== rec.configVersion)],
    ['totalSummary', [...instances]],
  ];
  return Object.fromEntries(groups.filter(([, list]) => list.length > 0).map(([name, list]) => [name, stats(list)]));
}

/** An app with what Marathon adds to it on GET: version, counts, deployments, and what `embed` asks for. */
export function appJson(s: ServicesState, rec: AppRecord, embed: ReadonlySet<Embed>, role: string, now = Date.now()): Record<string, unknown> {
  const instances = instancesOf(s, rec.app.id);
  const d = deploymentOf(s, rec.app.id);
  const failure: TaskFailure | undefined = s.failures.get(rec.app.id);
  return {
    ...appDefinition(rec.app),
    version: rec.version,
    versionInfo: { lastScalingAt: rec.version, lastConfigChangeAt: rec.configVersion },
    ...counts(rec.app, instances),
    deployments: d ? [{ id: d.id }] : [],
    ...(embed.has('tasks') || embed.has('failures') ? { tasks: instances.map((i) => taskJson(i, rec.app, role, s.health.get(i.taskId))) } : {}),
    ...((embed.has('lastTaskFailure') || embed.has('failures')) && failure ? { lastTaskFailure: failure } : {}),
    ...(embed.has('taskStats') ? { taskStats: taskStats(rec, instances, now) } : {}),
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
