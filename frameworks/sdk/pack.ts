/**
 * Bin-packing several tasks into one offer. Pure.
 *
 * First-fit decreasing by dominant share: each task's share of the offer is its largest
 * fraction of any one scalar (a task asking half the offer's memory and a tenth of its cpus
 * has a share of 0.5), as DRF measures a framework. Placing the largest first leaves the
 * small ones to fill the gaps; in the order given, a small task taken early can leave no
 * room for a big one that would have fit alone. Host ports are part of the fit: a `0` in a
 * spec's `ports` is any port still free in the offer, picked lowest first (`pickPorts`), so no
 * two tasks of one packing share a port.
 */
import { contains, format, scalar, scalarTotals, subtract, UNRESERVED, type Resources } from '../../common/resources';
import type { Offer, TaskInfo } from '../../common/types';
import { InvalidArgumentError } from './errors';
import { pickPorts, portEnv, task, taskResources, type TaskSpec } from './tasks';

/** A spec that did not fit, and why, in words fit for a log line or a decline reason. */
export interface Unplaced {
  spec: TaskSpec;
  reason: string;
}

/** What `pack` made of an offer. */
export interface Packing {
  /** Tasks to launch with the offer, the largest first; ports resolved, `PORT0…` and `PORTS` set. */
  tasks: TaskInfo[];
  /** Specs that did not fit, in the order given. */
  unplaced: Unplaced[];
  /** What the tasks leave of the offer. */
  left: Resources;
}

/**
 * Places as many of `specs` as fit in `offer`, first-fit decreasing by dominant share. Does
 * not change `specs`. A placed task with ports gets them in its environment as `PORT0`,
 * `PORT1`… (in the order of its `ports`) and `PORTS` (comma-separated); its own `env` wins.
 * Throws InvalidArgumentError for specs no offer could take as written: a blank or repeated
 * id, a negative or non-finite amount, a port outside 0–65535 or a literal port twice.
 */
export function pack(offer: Offer, specs: readonly TaskSpec[]): Packing {
  specs.forEach(validate);
  const ids = new Set<string>();
  for (const [i, s] of specs.entries()) {
    if (ids.has(s.id)) throw new InvalidArgumentError(`specs[${i}].id`, `'${s.id}' is used by an earlier spec: task ids must be unique`);
    ids.add(s.id);
  }
  const totals = scalarTotals(offer.resources);
  const order = specs.map((spec, index) => ({ spec, index, share: dominantShare(spec, totals) }))
    .sort((a, b) => b.share - a.share || a.index - b.index);

  let left = offer.resources;
  const tasks: TaskInfo[] = [];
  const unplaced: (Unplaced & { index: number })[] = [];
  for (const { spec, index } of order) {
    const wanted = spec.ports ?? [];
    // Only unreserved ports: `task` asks for unreserved resources.
    const ports = pickPorts(left.filter((r) => r.role === UNRESERVED), wanted);
    if (!ports) {
      unplaced.push({ spec, index, reason: portShortfall(offer.resources, left, wanted) });
      continue;
    }
    const need = taskResources({ ...spec, ports });
    if (!contains(left, need)) {
      unplaced.push({ spec, index, reason: shortfall(left, need) });
      continue;
    }
    left = subtract(left, need);
    tasks.push(task({ ...spec, ports, env: { ...portEnv(ports), ...spec.env } }, offer));
  }
  unplaced.sort((a, b) => a.index - b.index);
  return { tasks, unplaced: unplaced.map(({ spec, reason }) => ({ spec, reason })), left };
}

/** The largest fraction of any one offered scalar the spec asks for; Infinity for one the offer lacks. */
function dominantShare(spec: TaskSpec, totals: Map<string, number>): number {
  let share = 0;
  for (const [name, need] of scalarTotals(taskResources({ ...spec, ports: [] }))) {
    const offered = totals.get(name) ?? 0;
    share = Math.max(share, need === 0 ? 0 : offered === 0 ? Infinity : need / offered);
  }
  return share;
}

function portShortfall(offered: Resources, left: Resources, wanted: readonly number[]): string {
  const inOffer = (rs: Resources, p: number) => rs.some((r) => r.name === 'ports' && r.kind === 'ranges' && r.role === UNRESERVED && r.ranges.some(([b, e]) => p >= b && p <= e));
  for (const p of wanted) {
    if (p === 0) continue;
    if (!inOffer(offered, p)) return `port ${p} is not among the offer's unreserved ports`;
    if (!inOffer(left, p)) return `port ${p} went to another task of this offer`;
  }
  const free = left.reduce((n, r) => n + (r.name === 'ports' && r.kind === 'ranges' && r.role === UNRESERVED
    ? r.ranges.reduce((m, [b, e]) => m + e - b + 1, 0) : 0), 0);
  const literal = wanted.filter((p) => p !== 0);
  const any = wanted.length - literal.length;
  const besides = literal.length > 0 ? ` besides ${literal.join(', ')}` : '';
  return `needs ${any} free port${any === 1 ? '' : 's'}${besides}, ${Math.max(0, free - literal.length)} left`;
}

function shortfall(left: Resources, need: Resources): string {
  const short = [...scalarTotals(need)]
    .filter(([name, amount]) => scalar(left, name) < amount)
    .map(([name, amount]) => `${name}: needs ${amount}, ${scalar(left, name)} left`);
  return short.length > 0 ? short.join(', ') : `needs ${format(need)}, the offer has ${format(left)} left`;
}

function validate(spec: TaskSpec, i: number): void {
  if (typeof spec.id !== 'string' || !spec.id.trim()) throw new InvalidArgumentError(`specs[${i}].id`, 'a task needs a non-empty id');
  for (const name of ['cpus', 'mem', 'disk', 'gpus'] as const) {
    const v = spec[name];
    if (v === undefined && (name === 'disk' || name === 'gpus')) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new InvalidArgumentError(`specs[${i}].${name}`, `must be a finite number ≥ 0, got ${String(v)}`);
    }
  }
  const seen = new Set<number>();
  for (const p of spec.ports ?? []) {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new InvalidArgumentError(`specs[${i}].ports`, `${String(p)} is not a port: give 1–65535, or 0 for any free one`);
    if (p !== 0 && seen.has(p)) throw new InvalidArgumentError(`specs[${i}].ports`, `port ${p} is asked for twice`);
    seen.add(p);
  }
}
