/**
 * Accept, planned purely: from the call and a read-only view of the master, decide which
 * offers are consumed, which tasks launch, which get TASK_ERROR or TASK_DROPPED, which
 * filters the unused resources get, and what the offer log says. The master then applies
 * the plan in one go, so an invalid Accept changes nothing it should not.
 */
import { contains, format, isEmpty, subtract, type Resources } from '../common/resources';
import type { OfferLogEvent } from '../common/operator-types';
import type { Offer, TaskInfo, TaskStatus } from '../common/types';
import type { OfferFilter } from './allocator/types';
import type { AcceptCall } from './calls';
import { masterStatus } from './tasks';
import { validateOffers, validateTask } from './validation';

export interface AcceptView {
  now: number;
  /** This leader's epoch: an offer id of another one is refused, naming both. */
  epoch: number;
  /** max(refuse, allocation interval), already clamped. */
  refuseMs: number;
  offer(offerId: string): Offer | undefined;
  /** Whether the framework already has a task with this id. */
  taskInUse(taskId: string): boolean;
  /** Why the caller may not launch this task (the ACLs: its user, privileges, host paths), or undefined. */
  launchRefusal?(task: TaskInfo): string | undefined;
}

export interface Launch {
  task: TaskInfo;
  role: string;
}

export interface AcceptPlan {
  /** Offers leaving the book: consumed, or recovered because the Accept was invalid. */
  offers: Offer[];
  launches: Launch[];
  /** Master-generated updates for tasks that will not launch. */
  updates: TaskStatus[];
  filters: OfferFilter[];
  log: OfferLogEvent[];
}

export function planAccept(call: AcceptCall, view: AcceptView): AcceptPlan {
  const tasks = call.operations.flatMap((op) => op.tasks);
  const check = validateOffers(call.offerIds, call.frameworkId, view.offer, view.epoch);
  if (!check.ok) return rejectAll(call, view, tasks, check.message);

  const launches: Launch[] = [];
  const updates: TaskStatus[] = [];
  const claimed = new Set<string>();
  let remaining = check.pool;
  for (const task of tasks) {
    const inUse = (id: string) => claimed.has(id) || view.taskInUse(id);
    const result = validateTask(task, check.agentId, check.pool, remaining, inUse);
    if (!result.ok) {
      updates.push(masterStatus({
        taskId: task.taskId, frameworkId: call.frameworkId, agentId: check.agentId,
        state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message: result.message,
      }, view.now));
      continue;
    }
    const refused = view.launchRefusal?.(task);
    if (refused) {
      updates.push(masterStatus({
        taskId: task.taskId, frameworkId: call.frameworkId, agentId: check.agentId,
        state: 'TASK_ERROR', reason: 'REASON_TASK_UNAUTHORIZED', message: refused,
      }, view.now));
      continue;
    }
    claimed.add(task.taskId);
    remaining = result.remaining;
    launches.push({ task: { ...task, agentId: check.agentId }, role: roleFor(task.resources, check.offers) });
  }
  const { filters, log } = settleOffers(call, view, check.offers, launches);
  return { offers: check.offers, launches, updates, filters, log };
}

/** The role of the first offer that can hold the task's resources (offers are per role). */
function roleFor(resources: Resources, offers: readonly Offer[]): string {
  const fits = offers.find((o) => contains(o.resources, resources));
  return (fits ?? (offers[0] as Offer)).role;
}

/**
 * Splits what was launched over the offers, first offer first, so each offer's log line says
 * what of it went unused; that part is filtered for refuseMs, as if declined (Mesos).
 */
function settleOffers(call: AcceptCall, view: AcceptView, offers: readonly Offer[], launches: readonly Launch[]) {
  let launched: Resources = launches.reduce<Resources>((s, l) => [...s, ...l.task.resources], []);
  const taskIds = launches.map((l) => l.task.taskId);
  const filters: OfferFilter[] = [];
  const log: OfferLogEvent[] = [];
  for (const offer of offers) {
    const unused = subtract(offer.resources, launched);
    const used = subtract(offer.resources, unused);
    launched = subtract(launched, used);
    const base = { at: view.now, offerId: offer.id, frameworkId: offer.frameworkId, agentId: offer.agentId, role: offer.role, resources: format(offer.resources) };
    if (isEmpty(used)) {
      log.push({ type: 'DECLINED', ...base, refuseMs: view.refuseMs, reason: 'unused in accept' });
    } else {
      log.push({ type: 'ACCEPTED', ...base, taskIds, unused: format(unused) });
    }
    if (!isEmpty(unused)) {
      filters.push({ frameworkId: call.frameworkId, role: offer.role, agentId: offer.agentId, resources: unused, expiresAt: view.now + view.refuseMs });
    }
  }
  return { filters, log };
}

/**
 * Invalid offers: every task is dropped, and the framework's own offers among those named are
 * taken back without a filter — the framework never got to use them.
 */
function rejectAll(call: AcceptCall, view: AcceptView, tasks: readonly TaskInfo[], problem: string): AcceptPlan {
  const own = [...new Set(call.offerIds)].map(view.offer).filter((o): o is Offer => o?.frameworkId === call.frameworkId);
  const updates = tasks.map((t) => masterStatus({
    taskId: t.taskId, frameworkId: call.frameworkId, agentId: t.agentId,
    state: 'TASK_DROPPED', reason: 'REASON_INVALID_OFFERS', message: `invalid offers: ${problem}`,
  }, view.now));
  const log: OfferLogEvent[] = own.map((o) => ({
    type: 'DECLINED', at: view.now, offerId: o.id, frameworkId: o.frameworkId, agentId: o.agentId, role: o.role,
    resources: format(o.resources), refuseMs: 0, reason: `accept rejected: ${problem}`,
  }));
  return { offers: own, launches: [], updates, filters: [], log };
}
