/**
 * App definitions in Marathon's JSON, so that the app files and clients people already have
 * work unchanged: `parseApp(json)` checks a definition, fills in Marathon's defaults, and
 * returns either the app or every problem found, each at its JSON path — the `details` of a
 * 422 answer (`{"message": "Object is not valid", "details": [{path, errors}]}`).
 *
 * Pure: no I/O, no clock. Unknown fields are ignored, as Marathon ignores them; fields Agora
 * does not act on (fetch, secrets, readinessChecks, …) are not carried.
 */
import { userPatternProblem } from '../shared/user-pattern';
import { isObject, type JsonObject as Json } from '../../common/json';

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
export interface ValidationDetail { path: string; errors: string[] }

export type ParsedApp = { ok: true; app: App } | { ok: false; details: ValidationDetail[] };

const OPERATORS: readonly ConstraintOperator[] = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS'];
/** Last segments the REST API's paths use after an app id (/v2/apps/{id}/tasks …), as in Marathon. */
const RESERVED = ['restart', 'tasks', 'versions'];
const SEGMENT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;


/** Collects problems by path while a definition is read. */
class Problems {
  private readonly byPath = new Map<string, string[]>();
  add(path: string, error: string): void {
    const list = this.byPath.get(path) ?? [];
    list.push(error);
    this.byPath.set(path, list);
  }
  get list(): ValidationDetail[] {
    return [...this.byPath].map(([path, errors]) => ({ path, errors }));
  }
}


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

export function parseApp(json: unknown, base = '/'): ParsedApp {
  const p = new Problems();
  if (!isObject(json)) return { ok: false, details: [{ path: '/', errors: ['expected a JSON object'] }] };
  const j = json;

  let id = '';
  if (typeof j.id !== 'string' || j.id.trim() === '') p.add('/id', 'id is required: a path such as /group/app');
  else {
    const resolved = resolveAppId(j.id, base);
    if (!resolved) p.add('/id', `'${j.id}' is not a valid app id: path segments of lowercase letters, digits, '-' and '.', not starting or ending with '-'`);
    else if (RESERVED.includes(resolved.slice(resolved.lastIndexOf('/') + 1))) {
      p.add('/id', `'${j.id}' ends in a word the API's paths use (${RESERVED.join(', ')}): choose another name`);
    } else id = resolved;
  }

  const cmd = optionalString(p, j, 'cmd');
  const args = stringList(p, j, 'args');
  if (cmd !== undefined && args !== undefined) p.add('/cmd', 'give cmd (a shell command) or args (exec form), not both');

  const cpus = number(p, j, 'cpus', 1, { min: 0.001 });
  const mem = number(p, j, 'mem', 128, { min: 0 });
  const disk = number(p, j, 'disk', 0, { min: 0 });
  const gpus = number(p, j, 'gpus', 0, { min: 0, integer: true });
  const instances = number(p, j, 'instances', 1, { min: 0, integer: true });

  const container = readContainer(p, j.container);
  if (cmd === undefined && args === undefined && !container?.docker) {
    p.add('/cmd', 'an app needs cmd, args, or a Docker image to run');
  }
  const networks = readNetworks(p, j.networks);
  const bridged = networks.some((n) => n.mode !== 'host');
  const portDefinitions = readPortDefinitions(p, j.portDefinitions, bridged);
  if (bridged && j.portDefinitions !== undefined && portDefinitions.length > 0) {
    p.add('/portDefinitions', 'portDefinitions are for host networking; with container networks use container.portMappings');
  }
  const requirePorts = bool(p, j, 'requirePorts', false);
  const env = stringMap(p, j, 'env');
  const labels = stringMap(p, j, 'labels');
  const constraints = readConstraints(p, j.constraints);
  const ports = bridged ? (container?.portMappings.length ?? 0) : portDefinitions.length;
  const healthChecks = readHealthChecks(p, j.healthChecks, ports);

  const us = j.upgradeStrategy;
  let upgradeStrategy = { minimumHealthCapacity: 1, maximumOverCapacity: 1 };
  if (us !== undefined) {
    if (!isObject(us)) p.add('/upgradeStrategy', 'expected an object {minimumHealthCapacity, maximumOverCapacity}');
    else {
      upgradeStrategy = {
        minimumHealthCapacity: number(p, us, 'minimumHealthCapacity', 1, { min: 0, max: 1 }, '/upgradeStrategy'),
        maximumOverCapacity: number(p, us, 'maximumOverCapacity', 1, { min: 0, max: 1 }, '/upgradeStrategy'),
      };
    }
  }
  const backoffSeconds = number(p, j, 'backoffSeconds', 1, { min: 0 });
  const backoffFactor = number(p, j, 'backoffFactor', 1.15, { min: 1 });
  const maxLaunchDelaySeconds = number(p, j, 'maxLaunchDelaySeconds', 300, { min: 0 });

  let killSelection: KillSelection = 'YOUNGEST_FIRST';
  if (j.killSelection !== undefined) {
    if (j.killSelection === 'YOUNGEST_FIRST' || j.killSelection === 'OLDEST_FIRST') killSelection = j.killSelection;
    else p.add('/killSelection', `'${String(j.killSelection)}' is not YOUNGEST_FIRST or OLDEST_FIRST`);
  }
  const unreachableStrategy = readUnreachable(p, j.unreachableStrategy);
  const taskKillGracePeriodSeconds = j.taskKillGracePeriodSeconds === undefined ? undefined : number(p, j, 'taskKillGracePeriodSeconds', 0, { min: 0 });
  const user = optionalString(p, j, 'user');
  const dependencies = (stringList(p, j, 'dependencies') ?? []).map((d, i) => {
    const r = resolveAppId(d, id ? id.slice(0, id.lastIndexOf('/')) || '/' : base);
    if (!r) p.add(`/dependencies(${i})`, `'${d}' is not a valid app id`);
    return r ?? d;
  });

  const details = p.list;
  if (details.length > 0) return { ok: false, details };
  const app: App = {
    id, cpus, mem, disk, gpus, instances, networks, portDefinitions, requirePorts, env, labels, constraints, healthChecks,
    upgradeStrategy, backoffSeconds, backoffFactor, maxLaunchDelaySeconds, killSelection, unreachableStrategy, dependencies,
    ...(cmd !== undefined ? { cmd } : {}), ...(args !== undefined ? { args } : {}), ...(container ? { container } : {}),
    ...(taskKillGracePeriodSeconds !== undefined ? { taskKillGracePeriodSeconds } : {}), ...(user !== undefined ? { user } : {}),
  };
  return { ok: true, app };
}

function number(p: Problems, j: Json, key: string, dflt: number, o: { min?: number; max?: number; integer?: boolean }, at = ''): number {
  const v = j[key];
  if (v === undefined) return dflt;
  const path = `${at}/${key}`;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    p.add(path, `expected a number, got ${JSON.stringify(v)}`);
    return dflt;
  }
  if (o.integer && !Number.isInteger(v)) p.add(path, `expected a whole number, got ${v}`);
  if (o.min !== undefined && v < o.min) p.add(path, `must be at least ${o.min}, got ${v}`);
  if (o.max !== undefined && v > o.max) p.add(path, `must be at most ${o.max}, got ${v}`);
  return v;
}

function bool(p: Problems, j: Json, key: string, dflt: boolean): boolean {
  const v = j[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') {
    p.add(`/${key}`, `expected true or false, got ${JSON.stringify(v)}`);
    return dflt;
  }
  return v;
}

function optionalString(p: Problems, j: Json, key: string, at = ''): string | undefined {
  const v = j[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    p.add(`${at}/${key}`, `expected a string, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v;
}

function stringList(p: Problems, j: Json, key: string): string[] | undefined {
  const v = j[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    p.add(`/${key}`, 'expected a list of strings');
    return undefined;
  }
  return v as string[];
}

function stringMap(p: Problems, j: Json, key: string): Record<string, string> {
  const v = j[key];
  if (v === undefined || v === null) return {};
  if (!isObject(v)) {
    p.add(`/${key}`, 'expected an object of string values');
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') out[k] = x;
    else p.add(`/${key}/${k}`, `expected a string, got ${JSON.stringify(x)}${isObject(x) && 'secret' in x ? ' (secrets are not supported)' : ''}`);
  }
  return out;
}

function protocolOf(p: Problems, v: unknown, path: string): 'tcp' | 'udp' {
  if (v === undefined || v === 'tcp') return 'tcp';
  if (v === 'udp') return 'udp';
  p.add(path, `protocol must be tcp or udp, got ${JSON.stringify(v)}`);
  return 'tcp';
}

function port(p: Problems, v: unknown, path: string, dflt = 0): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
    p.add(path, `expected a port number 0-65535, got ${JSON.stringify(v)}`);
    return dflt;
  }
  return v;
}

/** Host volumes only: persistent, external and secret volumes are refused by name, never ignored. */
function readVolumes(p: Problems, v: unknown, mesos: boolean): AppVolume[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    p.add('/container/volumes', 'expected a list of {containerPath, hostPath, mode}');
    return [];
  }
  if (mesos && v.length > 0) p.add('/container/volumes', 'volumes need a DOCKER container: a MESOS (process) task runs in the agent\'s own filesystem');
  const out: AppVolume[] = [];
  v.forEach((vol: unknown, i) => {
    const at = `/container/volumes(${i})`;
    if (!isObject(vol)) return p.add(at, 'expected an object {containerPath, hostPath, mode}');
    for (const kind of ['persistent', 'external', 'secret'] as const) {
      if (vol[kind] !== undefined) p.add(`${at}/${kind}`, `${kind} volumes are not supported: use a host volume {containerPath, hostPath, mode}`);
    }
    const { containerPath, hostPath, mode } = vol;
    if (typeof containerPath !== 'string' || !containerPath.startsWith('/')) p.add(`${at}/containerPath`, 'must be an absolute path in the container');
    if (typeof hostPath !== 'string' || hostPath === '' || hostPath.includes('\0')) p.add(`${at}/hostPath`, 'must be a path on the agent (absolute), or relative for a directory in the task\'s sandbox');
    if (mode !== 'RW' && mode !== 'RO') p.add(`${at}/mode`, `must be RW or RO, got ${JSON.stringify(mode)}`);
    if (typeof containerPath === 'string' && typeof hostPath === 'string' && (mode === 'RW' || mode === 'RO')) out.push({ containerPath, hostPath, mode });
  });
  return out;
}

function readContainer(p: Problems, v: unknown): App['container'] {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) {
    p.add('/container', 'expected an object');
    return undefined;
  }
  const type = v.type ?? 'DOCKER';
  if (type !== 'DOCKER' && type !== 'MESOS') p.add('/container/type', `'${String(type)}' is not DOCKER or MESOS`);
  let docker: { image: string; forcePullImage: boolean } | undefined;
  if (v.docker !== undefined) {
    if (!isObject(v.docker)) p.add('/container/docker', 'expected an object');
    else {
      const image = v.docker.image;
      if (typeof image !== 'string' || image.trim() === '') p.add('/container/docker/image', 'a Docker container needs an image');
      docker = { image: typeof image === 'string' ? image : '', forcePullImage: v.docker.forcePullImage === true };
      if (v.docker.network !== undefined) p.add('/container/docker/network', 'docker.network is replaced by the app\'s networks: [{"mode": "container/bridge"}]');
    }
  } else if (type === 'DOCKER') {
    p.add('/container/docker', 'a DOCKER container needs docker: {"image": …}');
  }
  const portMappings: PortMapping[] = [];
  if (v.portMappings !== undefined) {
    if (!Array.isArray(v.portMappings)) p.add('/container/portMappings', 'expected a list');
    else {
      v.portMappings.forEach((m: unknown, i) => {
        const at = `/container/portMappings(${i})`;
        if (!isObject(m)) return p.add(at, 'expected an object {containerPort, hostPort, protocol, name}');
        const name = typeof m.name === 'string' ? m.name : undefined;
        portMappings.push({
          containerPort: port(p, m.containerPort, `${at}/containerPort`), hostPort: port(p, m.hostPort, `${at}/hostPort`),
          servicePort: port(p, m.servicePort, `${at}/servicePort`), protocol: protocolOf(p, m.protocol, `${at}/protocol`),
          ...(name ? { name } : {}),
        });
      });
    }
  }
  const volumes = readVolumes(p, v.volumes, type === 'MESOS');
  return { type: type === 'MESOS' ? 'MESOS' : 'DOCKER', ...(docker ? { docker } : {}), portMappings, ...(volumes.length ? { volumes } : {}) };
}

function readNetworks(p: Problems, v: unknown): { mode: NetworkMode }[] {
  if (v === undefined || v === null) return [{ mode: 'host' }];
  if (!Array.isArray(v) || v.length === 0) {
    p.add('/networks', 'expected a non-empty list such as [{"mode": "container/bridge"}]');
    return [{ mode: 'host' }];
  }
  return v.map((n: unknown, i) => {
    const mode = isObject(n) ? n.mode : undefined;
    if (mode === 'host' || mode === 'container/bridge' || mode === 'container') return { mode };
    p.add(`/networks(${i})/mode`, `'${String(mode)}' is not host, container/bridge or container`);
    return { mode: 'host' as const };
  });
}

function readPortDefinitions(p: Problems, v: unknown, bridged: boolean): PortDefinition[] {
  if (v === undefined || v === null) return bridged ? [] : [{ port: 0, protocol: 'tcp' }];
  if (!Array.isArray(v)) {
    p.add('/portDefinitions', 'expected a list');
    return [];
  }
  return v.map((d: unknown, i) => {
    const at = `/portDefinitions(${i})`;
    if (!isObject(d)) {
      p.add(at, 'expected an object {port, protocol, name}');
      return { port: 0, protocol: 'tcp' as const };
    }
    const name = typeof d.name === 'string' ? d.name : undefined;
    return { port: port(p, d.port, `${at}/port`), protocol: protocolOf(p, d.protocol, `${at}/protocol`), ...(name ? { name } : {}) };
  });
}

function readConstraints(p: Problems, v: unknown): Constraint[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    p.add('/constraints', 'expected a list of [field, operator, value?]');
    return [];
  }
  const out: Constraint[] = [];
  v.forEach((c: unknown, i) => {
    const at = `/constraints(${i})`;
    if (!Array.isArray(c) || c.length < 2 || c.length > 3 || c.some((x) => typeof x !== 'string')) {
      return p.add(at, 'expected [field, operator] or [field, operator, value], all strings');
    }
    const [field, op, value] = c as [string, string, string | undefined];
    if (!OPERATORS.includes(op as ConstraintOperator)) return p.add(at, `'${op}' is not one of ${OPERATORS.join(', ')}`);
    const operator = op as ConstraintOperator;
    if (field === '') p.add(at, 'the field is empty: use hostname or an agent attribute');
    if ((operator === 'LIKE' || operator === 'UNLIKE' || operator === 'IS' || operator === 'MAX_PER') && value === undefined) {
      p.add(at, `${operator} needs a value`);
    }
    if (operator === 'UNIQUE' && value !== undefined) p.add(at, 'UNIQUE takes no value');
    if ((operator === 'LIKE' || operator === 'UNLIKE') && value !== undefined) {
      const bad = userPatternProblem(value);
      if (bad !== undefined) p.add(at, bad);
    }
    if ((operator === 'MAX_PER' || operator === 'GROUP_BY') && value !== undefined && !/^[1-9]\d*$/.test(value)) {
      p.add(at, `${operator} takes a whole number > 0, got '${value}'`);
    }
    out.push({ field, operator, ...(value !== undefined ? { value } : {}) });
  });
  return out;
}

function readHealthChecks(p: Problems, v: unknown, ports: number): AppHealthCheck[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    p.add('/healthChecks', 'expected a list');
    return [];
  }
  const out: AppHealthCheck[] = [];
  v.forEach((h: unknown, i) => {
    const at = `/healthChecks(${i})`;
    if (!isObject(h)) return p.add(at, 'expected an object');
    const protocol = h.protocol ?? 'MESOS_HTTP';
    if (protocol !== 'MESOS_HTTP' && protocol !== 'MESOS_TCP' && protocol !== 'COMMAND') {
      const hint = protocol === 'HTTP' || protocol === 'TCP' ? ` (checks run by the agent: use MESOS_${protocol})` : '';
      return p.add(`${at}/protocol`, `'${String(protocol)}' is not MESOS_HTTP, MESOS_TCP or COMMAND${hint}`);
    }
    const check: AppHealthCheck = {
      protocol,
      path: optionalString(p, h, 'path', at) ?? '/',
      gracePeriodSeconds: number(p, h, 'gracePeriodSeconds', 300, { min: 0 }, at),
      intervalSeconds: number(p, h, 'intervalSeconds', 60, { min: 0.001 }, at),
      timeoutSeconds: number(p, h, 'timeoutSeconds', 20, { min: 0.001 }, at),
      delaySeconds: number(p, h, 'delaySeconds', 15, { min: 0 }, at),
      maxConsecutiveFailures: number(p, h, 'maxConsecutiveFailures', 3, { min: 0, integer: true }, at),
    };
    if (protocol === 'COMMAND') {
      const command = isObject(h.command) && typeof h.command.value === 'string' ? h.command.value : undefined;
      if (!command) p.add(`${at}/command`, 'a COMMAND check needs command: {"value": "…"}');
      else check.command = command;
    } else if (h.port !== undefined) {
      check.port = port(p, h.port, `${at}/port`);
      if (h.portIndex !== undefined) p.add(at, 'give port or portIndex, not both');
    } else {
      const portIndex = h.portIndex === undefined ? 0 : number(p, h, 'portIndex', 0, { min: 0, integer: true }, at);
      if (portIndex >= ports) p.add(`${at}/portIndex`, `the app has ${ports} port${ports === 1 ? '' : 's'}, so portIndex ${portIndex} names none`);
      check.portIndex = portIndex;
    }
    out.push(check);
  });
  return out;
}

function readUnreachable(p: Problems, v: unknown): UnreachableStrategy {
  if (v === undefined || v === null) return { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 };
  if (v === 'disabled') return 'disabled';
  if (!isObject(v)) {
    p.add('/unreachableStrategy', 'expected "disabled" or {inactiveAfterSeconds, expungeAfterSeconds}');
    return { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 };
  }
  const inactiveAfterSeconds = number(p, v, 'inactiveAfterSeconds', 0, { min: 0 }, '/unreachableStrategy');
  const expungeAfterSeconds = number(p, v, 'expungeAfterSeconds', 0, { min: 0 }, '/unreachableStrategy');
  if (expungeAfterSeconds < inactiveAfterSeconds) {
    p.add('/unreachableStrategy', `expungeAfterSeconds (${expungeAfterSeconds}) must not be below inactiveAfterSeconds (${inactiveAfterSeconds})`);
  }
  return { inactiveAfterSeconds, expungeAfterSeconds };
}
