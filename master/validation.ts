/**
 * Pure validation of an Accept: each function returns an explanation or a success, never
 * throws and never touches state, so the master can decide everything before changing
 * anything. Messages name the offer, task, resource or port at fault and what was there.
 */
import {
  add, contains, format, normalize, ranges, subtract, UNRESERVED, type Range, type Resource, type Resources,
} from '../common/resources';
import type { Offer, TaskInfo } from '../common/types';
import { otherEpoch } from './offer-ids';

export type OffersCheck =
  | { ok: true; offers: Offer[]; agentId: string; pool: Resources }
  | { ok: false; message: string };

/**
 * The offers of one Accept: at least one, each made by this leader (its `epoch`), known, not
 * used before, this framework's, and all on one agent (a task cannot span machines).
 */
export function validateOffers(
  offerIds: readonly string[], frameworkId: string, lookup: (offerId: string) => Offer | undefined, epoch: number,
): OffersCheck {
  if (offerIds.length === 0) return { ok: false, message: 'no offer ids given' };
  const seen = new Set<string>();
  const offers: Offer[] = [];
  for (const id of offerIds) {
    if (seen.has(id)) return { ok: false, message: `offer ${id} is listed twice` };
    seen.add(id);
    const another = otherEpoch(id, epoch);
    if (another) return { ok: false, message: another };
    const offer = lookup(id);
    if (!offer) return { ok: false, message: `offer ${id} is unknown or was already used` };
    if (offer.frameworkId !== frameworkId) return { ok: false, message: `offer ${id} was not made to framework ${frameworkId}` };
    offers.push(offer);
  }
  const first = offers[0] as Offer;
  const other = offers.find((o) => o.agentId !== first.agentId);
  if (other) {
    return { ok: false, message: `offers ${first.id} and ${other.id} are on different agents (${first.agentId}, ${other.agentId})` };
  }
  return { ok: true, offers, agentId: first.agentId, pool: offers.reduce<Resources>((s, o) => add(s, o.resources), []) };
}

export type TaskCheck = { ok: true; remaining: Resources } | { ok: false; message: string };

/**
 * One task against what is left of the offered pool after the tasks before it in the same
 * Accept. `inUse` says whether the framework already has a task with that id.
 */
export function validateTask(
  task: TaskInfo, agentId: string, pool: Resources, remaining: Resources, inUse: (taskId: string) => boolean,
): TaskCheck {
  const id = task.taskId;
  if (!id) return { ok: false, message: 'a task has an empty task id' };
  if (inUse(id)) return { ok: false, message: `task id ${id} is already in use by this framework` };
  if (task.agentId && task.agentId !== agentId) {
    return { ok: false, message: `task ${id} names agent ${task.agentId} but the offers are on agent ${agentId}` };
  }
  if (normalize(task.resources).length === 0) return { ok: false, message: `task ${id} asks for no resources` };
  if (!task.command.value && task.command.argv.length === 0) {
    return { ok: false, message: `task ${id} has no command: set command.value (shell) or command.argv (exec)` };
  }
  // A secret is an environment variable: a name a shell can take, and not one `environment` sets too.
  for (const name of Object.keys(task.command.secrets ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return { ok: false, message: `task ${id} has a secret named '${name}': a secret is an environment variable, so use letters, digits and '_', not starting with a digit` };
    if (Object.hasOwn(task.command.environment, name)) return { ok: false, message: `task ${id} sets ${name} both in command.environment and as a secret: set it once` };
  }
  if (task.container.type === 'DOCKER' && !task.container.docker?.image) {
    return { ok: false, message: `task ${id} has container type DOCKER but no docker image` };
  }
  // A host port a container publishes is a port the task must hold: otherwise two tasks
  // could bind the same one and the offer check would never know.
  const held = ranges(task.resources, 'ports');
  const unheld = (task.container.docker?.portMappings ?? [])
    .find((m) => !held.some(([b, e]) => b <= m.hostPort && m.hostPort <= e));
  if (unheld) {
    return { ok: false, message: `task ${id} maps host port ${unheld.hostPort}, which is not among its ports resources [${held.map(([b, e]) => (b === e ? `${b}` : `${b}-${e}`)).join(',')}]` };
  }
  if (!contains(remaining, task.resources)) return { ok: false, message: misfit(id, task.resources, pool, remaining) };
  return { ok: true, remaining: subtract(remaining, task.resources) };
}

const label = (r: Resource): string => (r.role === UNRESERVED ? r.name : `${r.name}(${r.role})`);

const sameKey = (a: Resource) => (b: Resource): boolean => a.name === b.name && a.role === b.role;

/** Says which requested resource does not fit, and what the offer had left of it. */
function misfit(taskId: string, asked: Resources, pool: Resources, remaining: Resources): string {
  for (const want of normalize(asked)) {
    if (contains(remaining, [want])) continue;
    const left = remaining.filter(sameKey(want));
    const offered = pool.filter(sameKey(want));
    switch (want.kind) {
      case 'scalar': {
        const have = left[0]?.kind === 'scalar' ? left[0].value : 0;
        return `task ${taskId} asks for ${label(want)}:${want.value} but the offer has ${label(want)}:${have} left`;
      }
      case 'ranges': return portMisfit(taskId, want, ranges(offered, want.name), ranges(left, want.name));
      case 'set': return `task ${taskId} asks for ${format([want])} but the offer has ${format(left) || `no ${label(want)}`} left`;
    }
  }
  return `task ${taskId} asks for ${format(asked)} but the offer has ${format(remaining)} left`;
}

function portMisfit(taskId: string, want: Resource & { kind: 'ranges' }, offered: readonly Range[], left: readonly Range[]): string {
  const what = want.name === 'ports' ? 'port' : want.name;
  for (const [b, e] of want.ranges) {
    const outside = firstOutside(offered, b, e);
    if (outside !== undefined) return `task ${taskId}: ${what} ${outside} is outside the offered ${label(want)} ${show(offered)}`;
    const taken = firstOutside(left, b, e);
    if (taken !== undefined) return `task ${taskId}: ${what} ${taken} is already taken by another task in this accept`;
  }
  return `task ${taskId} asks for ${format([want])} but the offer has ${label(want)} ${show(left)} left`;
}

const show = (set: readonly Range[]): string => `[${set.map(([b, e]) => `${b}-${e}`).join(',')}]`;

/** The first number in [begin, end] that no range of `set` covers; one step per range. */
function firstOutside(set: readonly Range[], begin: number, end: number): number | undefined {
  let p = begin;
  while (p <= end) {
    const cover = set.find(([b, e]) => b <= p && p <= e);
    if (!cover) return p;
    p = cover[1] + 1;
  }
  return undefined;
}
