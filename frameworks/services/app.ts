/**
 * App definitions in Marathon's JSON, so that the app files and clients people already have
 * work unchanged: `parseApp(json)` checks a definition, fills in Marathon's defaults, and
 * returns either the app or every problem found, each at its JSON path — the `details` of a
 * 422 answer (`{"message": "Object is not valid", "details": [{path, errors}]}`).
 *
 * Two passes: the JSON Schema (app-schema.ts) checks each field's type, range and choices;
 * then the code here checks what a schema cannot say (an id's path rules, a constraint's
 * operator and value, a health check's port index against the app's ports), on the parts the
 * schema passed, so that one answer names every problem. Only then are the defaults filled in.
 *
 * Pure: no I/O, no clock. Unknown fields are ignored, as Marathon ignores them; fields Agora
 * does not act on (fetch, secrets, readinessChecks, …) are not carried.
 */
import { APP, type AppJson, type ContainerJson, type HealthCheckJson } from './app-schema';
import { userPatternProblem } from '../shared/user-pattern';
import { isObject } from '../../common/json';
import type { Detail, Report } from '../../common/json-schema';

export type NetworkMode = 'host' | 'container/bridge' | 'container';
export type ConstraintOperator = 'UNIQUE' | 'CLUSTER' | 'GROUP_BY' | 'LIKE' | 'UNLIKE' | 'MAX_PER' | 'IS';
export type HealthProtocol = 'MESOS_HTTP' | 'MESOS_TCP' | 'COMMAND';
export type KillSelection = 'YOUNGEST_FIRST' | 'OLDEST_FIRST';

/**
 * Marathon's host volume: `hostPath` on the agent (absolute), or relative for a directory in
 * the task's sandbox. Whether the app's framework may mount an absolute one is the master's
 * ACLs' to say (host_volumes); a volume is never dropped on the way.
 */
export interface AppVolume { containerPath: string; hostPath: string; mode: 'RW' | 'RO' }
export interface PortMapping { containerPort: number; hostPort: number; servicePort: number; protocol: 'tcp' | 'udp'; name?: string }
export interface PortDefinition { port: number; protocol: 'tcp' | 'udp'; name?: string }
export interface Constraint { field: string; operator: ConstraintOperator; value?: string }

export interface AppHealthCheck {
  protocol: HealthProtocol;
  /** HTTP: the path probed; 200–399 is healthy. */
  path: string;
  /** Which of the app's ports (its port mappings or port definitions) the check probes. */
  portIndex?: number;
  /** A literal port instead of `portIndex`. */
  port?: number;
  command?: string;
  gracePeriodSeconds: number;
  intervalSeconds: number;
  timeoutSeconds: number;
  delaySeconds: number;
  maxConsecutiveFailures: number;
}

export type UnreachableStrategy = { inactiveAfterSeconds: number; expungeAfterSeconds: number } | 'disabled';

export interface App {
  /** Absolute path, `/grp/app`. */
  id: string;
  cmd?: string;
  args?: string[];
  cpus: number;
  mem: number;
  disk: number;
  gpus: number;
  instances: number;
  container?: { type: 'DOCKER' | 'MESOS'; docker?: { image: string; forcePullImage: boolean }; portMappings: PortMapping[]; volumes?: AppVolume[] };
  networks: { mode: NetworkMode }[];
  portDefinitions: PortDefinition[];
  requirePorts: boolean;
  env: Record<string, string>;
  labels: Record<string, string>;
  constraints: Constraint[];
  healthChecks: AppHealthCheck[];
  upgradeStrategy: { minimumHealthCapacity: number; maximumOverCapacity: number };
  backoffSeconds: number;
  backoffFactor: number;
  maxLaunchDelaySeconds: number;
  killSelection: KillSelection;
  unreachableStrategy: UnreachableStrategy;
  taskKillGracePeriodSeconds?: number;
  user?: string;
  dependencies: string[];
}

/** One place in the definition and what is wrong there (Marathon's 422 `details`). */
export type ValidationDetail = Detail;

export type ParsedApp = { ok: true; app: App } | { ok: false; details: ValidationDetail[] };

const OPERATORS: readonly ConstraintOperator[] = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS'];
/** Last segments the REST API's paths use after an app id (/v2/apps/{id}/tasks …), as in Marathon. */
const RESERVED = ['restart', 'tasks', 'versions'];
const SEGMENT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

/**
 * Resolves an app id against `base` (a group, `/` at the top): `app` → `/app`, `../x` and `./x`
 * as paths. Undefined when a segment is not lowercase letters, digits, '-' and '.' as
 * Marathon requires, or the path climbs above the root.
 */
export function resolveAppId(id: string, base = '/'): string | undefined {
  const parts = (id.startsWith('/') ? id : `${base.replace(/\/$/, '')}/${id}`).split('/').filter((p) => p !== '');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '.') continue;
    if (p === '..') {
      if (out.pop() === undefined) return undefined;
      continue;
    }
    if (!SEGMENT.test(p)) return undefined;
    out.push(p);
  }
  return out.length === 0 ? undefined : `/${out.join('/')}`;
}

/** Reads an app definition; relative ids (its own, its dependencies') resolve against the group `base`. */
export function parseApp(json: unknown, base = '/'): ParsedApp {
  const r = APP.report(json);
  if (!isObject(json)) return { ok: false, details: r.details };
  // The checks below read a part only where the report says the schema passed it.
  const j = json as AppJson;
  const id = r.clean('/id') ? checkId(r, j.id, base) : undefined;
  checkCommand(r, j);
  checkPorts(r, j);
  for (const [c, at] of r.items(j.constraints, '/constraints')) checkConstraint(r, c, at);
  checkUnreachable(r, j);
  const deps = r.clean('/dependencies') ? dependencies(j, id, base) : [];
  deps.forEach((d, i) => { if (d === undefined) r.add(`/dependencies(${i})`, `'${String(j.dependencies?.[i])}' is not a valid app id`); });
  if (!r.ok || id === undefined) return { ok: false, details: r.details };
  return { ok: true, app: appOf(j, id, deps as string[]) };
}

function checkId(r: Report, given: string, base: string): string | undefined {
  const id = resolveAppId(given, base);
  if (!id) r.add('/id', `'${given}' is not a valid app id: path segments of lowercase letters, digits, '-' and '.', not starting or ending with '-'`);
  else if (RESERVED.includes(id.slice(id.lastIndexOf('/') + 1))) r.add('/id', `'${given}' ends in a word the API's paths use (${RESERVED.join(', ')}): choose another name`);
  else return id;
  return undefined;
}

function checkCommand(r: Report, j: AppJson): void {
  if (!r.clean('/cmd') || !r.clean('/args') || !r.clean('/container/docker')) return;
  if (j.cmd != null && j.args != null) r.add('/cmd', 'give cmd (a shell command) or args (exec form), not both');
  if (j.cmd == null && j.args == null && !j.container?.docker) r.add('/cmd', 'an app needs cmd, args, or a Docker image to run');
}

const bridgedIn = (j: AppJson): boolean => (j.networks ?? []).some((n) => n.mode !== 'host');

/** Port definitions are for host networking; a health check's portIndex must name one of the app's ports. */
function checkPorts(r: Report, j: AppJson): void {
  if (!r.clean('/networks') || !r.clean('/portDefinitions') || !r.clean('/container/portMappings')) return;
  const bridged = bridgedIn(j);
  if (bridged && (j.portDefinitions ?? []).length > 0) {
    r.add('/portDefinitions', 'portDefinitions are for host networking; with container networks use container.portMappings');
  }
  const ports = bridged ? (j.container?.portMappings?.length ?? 0) : portDefinitionsOf(j).length;
  for (const [h, at] of r.items(j.healthChecks, '/healthChecks')) {
    const portIndex = h.portIndex ?? 0;
    if (h.protocol === 'COMMAND' || h.port !== undefined || portIndex < ports) continue;
    r.add(`${at}/portIndex`, `the app has ${ports} port${ports === 1 ? '' : 's'}, so portIndex ${portIndex} names none`);
  }
}

/** `[field, operator, value?]`: whether a value is needed, refused or a number depends on the operator. */
function checkConstraint(r: Report, c: string[], at: string): void {
  const [field, op, value] = c as [string, string, string | undefined];
  if (!OPERATORS.includes(op as ConstraintOperator)) return r.add(at, `'${op}' is not one of ${OPERATORS.join(', ')}`);
  if (field === '') r.add(at, 'the field is empty: use hostname or an agent attribute');
  if (['LIKE', 'UNLIKE', 'IS', 'MAX_PER'].includes(op) && value === undefined) r.add(at, `${op} needs a value`);
  if (op === 'UNIQUE' && value !== undefined) r.add(at, 'UNIQUE takes no value');
  if ((op === 'LIKE' || op === 'UNLIKE') && value !== undefined) {
    const bad = userPatternProblem(value);
    if (bad !== undefined) r.add(at, bad);
  }
  if ((op === 'MAX_PER' || op === 'GROUP_BY') && value !== undefined && !/^[1-9]\d*$/.test(value)) {
    r.add(at, `${op} takes a whole number > 0, got '${value}'`);
  }
}

function checkUnreachable(r: Report, j: AppJson): void {
  if (!r.clean('/unreachableStrategy')) return;
  const u = unreachableOf(j);
  if (u !== 'disabled' && u.expungeAfterSeconds < u.inactiveAfterSeconds) {
    r.add('/unreachableStrategy', `expungeAfterSeconds (${u.expungeAfterSeconds}) must not be below inactiveAfterSeconds (${u.inactiveAfterSeconds})`);
  }
}

/** Dependencies resolved against the app's own group (or `base` when its id is wrong); undefined where one is not an app id. */
function dependencies(j: AppJson, id: string | undefined, base: string): (string | undefined)[] {
  const group = id ? id.slice(0, id.lastIndexOf('/')) || '/' : base;
  return (j.dependencies ?? []).map((given) => resolveAppId(given, group));
}

// Marathon's defaults, filled in once the definition passed every check.

function appOf(j: AppJson, id: string, dependencies: string[]): App {
  const container = j.container ? containerOf(j.container) : undefined;
  return {
    id, cpus: j.cpus ?? 1, mem: j.mem ?? 128, disk: j.disk ?? 0, gpus: j.gpus ?? 0, instances: j.instances ?? 1,
    networks: (j.networks ?? [{ mode: 'host' }]).map((n) => ({ mode: n.mode })), portDefinitions: portDefinitionsOf(j), requirePorts: j.requirePorts ?? false,
    env: { ...j.env }, labels: { ...j.labels }, constraints: (j.constraints ?? []).map(constraintOf), healthChecks: (j.healthChecks ?? []).map(healthCheckOf),
    upgradeStrategy: { minimumHealthCapacity: j.upgradeStrategy?.minimumHealthCapacity ?? 1, maximumOverCapacity: j.upgradeStrategy?.maximumOverCapacity ?? 1 },
    backoffSeconds: j.backoffSeconds ?? 1, backoffFactor: j.backoffFactor ?? 1.15, maxLaunchDelaySeconds: j.maxLaunchDelaySeconds ?? 300,
    killSelection: j.killSelection ?? 'YOUNGEST_FIRST', unreachableStrategy: unreachableOf(j),
    dependencies,
    ...(j.cmd != null ? { cmd: j.cmd } : {}), ...(j.args != null ? { args: [...j.args] } : {}), ...(container ? { container } : {}),
    ...(j.taskKillGracePeriodSeconds !== undefined ? { taskKillGracePeriodSeconds: j.taskKillGracePeriodSeconds } : {}), ...(j.user != null ? { user: j.user } : {}),
  };
}

/** With host networking and no port definitions given, one port (any); bridged, none (the mappings are the ports). */
function portDefinitionsOf(j: AppJson): PortDefinition[] {
  if (j.portDefinitions == null) return bridgedIn(j) ? [] : [{ port: 0, protocol: 'tcp' }];
  return j.portDefinitions.map((d) => ({ port: d.port ?? 0, protocol: d.protocol ?? 'tcp', ...(d.name ? { name: d.name } : {}) }));
}

function containerOf(c: ContainerJson): NonNullable<App['container']> {
  const portMappings = (c.portMappings ?? []).map((m): PortMapping => ({
    containerPort: m.containerPort ?? 0, hostPort: m.hostPort ?? 0, servicePort: m.servicePort ?? 0, protocol: m.protocol ?? 'tcp', ...(m.name ? { name: m.name } : {}),
  }));
  const volumes = (c.volumes ?? []).map((v): AppVolume => ({ containerPath: v.containerPath, hostPath: v.hostPath, mode: v.mode }));
  return {
    type: c.type ?? 'DOCKER', ...(c.docker ? { docker: { image: c.docker.image, forcePullImage: c.docker.forcePullImage ?? false } } : {}),
    portMappings, ...(volumes.length ? { volumes } : {}),
  };
}

function constraintOf(c: string[]): Constraint {
  const [field, operator, value] = c as [string, ConstraintOperator, string | undefined];
  return { field, operator, ...(value !== undefined ? { value } : {}) };
}

function healthCheckOf(h: HealthCheckJson): AppHealthCheck {
  const protocol = h.protocol ?? 'MESOS_HTTP';
  const check: AppHealthCheck = {
    protocol, path: h.path ?? '/', gracePeriodSeconds: h.gracePeriodSeconds ?? 300, intervalSeconds: h.intervalSeconds ?? 60,
    timeoutSeconds: h.timeoutSeconds ?? 20, delaySeconds: h.delaySeconds ?? 15, maxConsecutiveFailures: h.maxConsecutiveFailures ?? 3,
  };
  if (protocol === 'COMMAND') check.command = h.command?.value;
  else if (h.port !== undefined) check.port = h.port;
  else check.portIndex = h.portIndex ?? 0;
  return check;
}

function unreachableOf(j: AppJson): UnreachableStrategy {
  const u = j.unreachableStrategy;
  if (u === 'disabled') return u;
  return { inactiveAfterSeconds: u?.inactiveAfterSeconds ?? 0, expungeAfterSeconds: u?.expungeAfterSeconds ?? 0 };
}
