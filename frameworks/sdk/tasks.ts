/**
 * Pleasant constructors for what a framework sends: a task from a few named numbers, and
 * fitting tasks into offers. Everything returns the plain domain types of common/types.ts.
 */
import { contains, parse, rangesResource, scalarResource, subtract, type Resources } from '../../common/resources';
import type { ContainerInfo, HealthCheck, KillPolicy, Offer, PortMapping, TaskInfo } from '../../common/types';

export interface TaskSpec {
  id: string;
  name?: string;
  /** A shell command, run as `/bin/sh -c`. */
  command: string;
  cpus: number;
  mem: number;
  disk?: number;
  gpus?: number;
  /** Specific host ports to reserve from the offer's ranges. */
  ports?: number[];
  /** Docker image; without it the agent chooses (Docker with its default image, or a process). */
  image?: string;
  /** Force the process containerizer. */
  process?: boolean;
  network?: 'HOST' | 'BRIDGE' | 'NONE';
  portMappings?: PortMapping[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  healthCheck?: HealthCheck;
  killGracePeriodMs?: number;
  /** Extra resources in the agent flag syntax, e.g. `disks:{ssd1}`. */
  extra?: string;
}

export function taskResources(spec: Pick<TaskSpec, 'cpus' | 'mem' | 'disk' | 'gpus' | 'ports' | 'extra'>): Resources {
  const rs = [scalarResource('cpus', spec.cpus), scalarResource('mem', spec.mem)];
  if (spec.disk) rs.push(scalarResource('disk', spec.disk));
  if (spec.gpus) rs.push(scalarResource('gpus', spec.gpus));
  if (spec.ports?.length) rs.push(rangesResource('ports', spec.ports.map((p) => [p, p] as const)));
  return spec.extra ? [...rs, ...parse(spec.extra)] : rs;
}

/** A TaskInfo for `offer`'s agent, asking for unreserved resources. */
export function task(spec: TaskSpec, offer: Pick<Offer, 'agentId' | 'role'>): TaskInfo {
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
    command: { value: spec.command, argv: [], environment: { ...(spec.env ?? {}) }, user: '' },
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
