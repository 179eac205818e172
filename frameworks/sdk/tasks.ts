/**
 * Pleasant constructors for what a framework sends: a task from a few named numbers, and
 * fitting tasks into offers in the order given (`fit`; `pack` in pack.ts reorders to fit
 * more). Everything returns the plain domain types of common/types.ts.
 */
import { contains, parse, rangesResource, scalarResource, subtract, type Resources } from '../../common/resources';
import type { ContainerInfo, HealthCheck, KillPolicy, Offer, PortMapping, TaskInfo } from '../../common/types';
import { InvalidArgumentError } from './errors';

/** A task in a few named numbers; `task(spec, offer)` makes the TaskInfo. */
export interface TaskSpec {
  /** Unique among the framework's tasks. */
  id: string;
  /** For people; defaults to the id. */
  name?: string;
  /** A shell command, run as `/bin/sh -c`. */
  command: string;
  cpus: number;
  /** Memory in MB. */
  mem: number;
  /** Disk in MB. */
  disk?: number;
  gpus?: number;
  /** Host ports to reserve from the offer's ranges. With `pack`, a 0 is any free one. */
  ports?: number[];
  /** Docker image; without it the agent chooses (Docker with its default image, or a process). */
  image?: string;
  /** Force the process containerizer. */
  process?: boolean;
  /** Docker network mode (Docker's default, BRIDGE, when absent). */
  network?: 'HOST' | 'BRIDGE' | 'NONE';
  /** Docker port mappings; their host ports must also be in `ports`. */
  portMappings?: PortMapping[];
  /** Environment of the command. */
  env?: Record<string, string>;
  /** Environment variables whose values are secret: the task gets them, and Agora never shows, logs or records them. */
  secrets?: Record<string, string>;
  labels?: Record<string, string>;
  /** Probed by the agent; results arrive as updates with `healthy` set. */
  healthCheck?: HealthCheck;
  /** Time between SIGTERM and SIGKILL when the task is killed (default 3 s). */
  killGracePeriodMs?: number;
  /** Extra resources in the agent flag syntax, e.g. `disks:{ssd1}`. */
  extra?: string;
}

/** The resources a spec asks for, unreserved, as `task` puts them in the TaskInfo. */
export function taskResources(spec: Pick<TaskSpec, 'cpus' | 'mem' | 'disk' | 'gpus' | 'ports' | 'extra'>): Resources {
  const rs = [scalarResource('cpus', spec.cpus), scalarResource('mem', spec.mem)];
  if (spec.disk) rs.push(scalarResource('disk', spec.disk));
  if (spec.gpus) rs.push(scalarResource('gpus', spec.gpus));
  if (spec.ports?.length) rs.push(rangesResource('ports', spec.ports.map((p) => [p, p] as const)));
  return spec.extra ? [...rs, ...parse(spec.extra)] : rs;
}

/**
 * A TaskInfo for `offer`'s agent, asking for unreserved resources. Its ports must be the
 * host ports themselves: a `0` (any port) is resolved by `pack` or `pickPorts` first, and
 * refused here with an InvalidArgumentError.
 */
export function task(spec: TaskSpec, offer: Pick<Offer, 'agentId' | 'role'>): TaskInfo {
  if (spec.ports?.includes(0)) {
    throw new InvalidArgumentError(`task ${spec.id} ports`, 'port 0 means any free port: pick one with pickPorts(offer.resources, ports), or place the task with pack(offer, specs)');
  }
  const container: ContainerInfo = spec.process
    ? { type: 'PROCESS' }
    : spec.image
      ? { type: 'DOCKER', docker: { image: spec.image, network: spec.network, portMappings: spec.portMappings ?? [], forcePullImage: false } }
      : { type: 'DEFAULT' };
  const killPolicy: KillPolicy | undefined = spec.killGracePeriodMs === undefined ? undefined : { gracePeriodMs: spec.killGracePeriodMs };
  return {
    taskId: spec.id,
    name: spec.name ?? spec.id,
    agentId: offer.agentId,
    resources: taskResources(spec),
    command: { value: spec.command, argv: [], environment: { ...(spec.env ?? {}) }, user: '', ...(spec.secrets ? { secrets: { ...spec.secrets } } : {}) },
    container,
    healthCheck: spec.healthCheck,
    killPolicy,
    labels: { ...(spec.labels ?? {}) },
  };
}

/**
 * Takes specs from the front of `pending` while they fit in what is left of `offer`, and
 * returns the tasks to launch with it. The specs taken are removed from `pending`.
 */
export function fit(offer: Offer, pending: TaskSpec[]): TaskInfo[] {
  let left = offer.resources;
  const out: TaskInfo[] = [];
  while (pending.length > 0) {
    const need = taskResources(pending[0]!);
    if (!contains(left, need)) break;
    left = subtract(left, need);
    out.push(task(pending.shift()!, offer));
  }
  return out;
}

/**
 * Host ports for a task from what `available` offers (its `ports` ranges, any role): each
 * entry of `wanted` is a port the task must have, or 0 for any free one, picked lowest
 * first. Undefined when the offer cannot give them all (a literal port it lacks, or too few).
 */
export function pickPorts(available: Resources, wanted: readonly number[]): number[] | undefined {
  const free = new Set<number>();
  const ranges = available.flatMap((r) => (r.name === 'ports' && r.kind === 'ranges' ? r.ranges : []));
  const literal = new Set(wanted.filter((p) => p !== 0));
  for (const p of literal) if (!ranges.some(([b, e]) => p >= b && p <= e)) return undefined;
  const out: number[] = [];
  let need = wanted.filter((p) => p === 0).length;
  for (const [b, e] of [...ranges].sort((x, y) => x[0] - y[0])) {
    for (let p = b; p <= e && need > 0; p++) {
      if (literal.has(p) || free.has(p)) continue;
      free.add(p);
      need--;
    }
  }
  if (need > 0) return undefined;
  const picked = [...free];
  for (const p of wanted) out.push(p !== 0 ? p : (picked.shift() as number));
  return out;
}

/**
 * The environment a task learns its host ports from: `PORT0`, `PORT1`… in order, `PORTS`
 * (comma-separated) and, for a port with a name, `PORT_<NAME>` (upper case, other characters
 * as `_`). Marathon's names, so that programs written for it find their ports.
 */
export function portEnv(ports: readonly number[], names: readonly (string | undefined)[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  if (ports.length > 0) env.PORTS = ports.join(',');
  ports.forEach((p, i) => {
    env[`PORT${i}`] = String(p);
    const name = names[i];
    if (name) env[`PORT_${name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = String(p);
  });
  return env;
}
