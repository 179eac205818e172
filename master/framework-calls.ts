/**
 * The scheduler calls, as functions over the master's state. Each checks the caller first
 * (`authorize`) and the arguments next, throwing a CallError before touching anything.
 */
import assert from 'node:assert/strict';
import { format } from '../common/resources';
import { newId } from '../common/ids';
import { isTerminal, type ClusterAgent, type FrameworkInfo, type Task, type TaskInfo } from '../common/types';
import { planAccept, type AcceptPlan } from './accept';
import { otherEpoch } from './offer-ids';
import { agentStatus, assertNotOvercommitted } from './agents';
import { usageOf } from './allocation';
import type {
  AcceptCall, AcknowledgeCall, CallBase, DeclineCall, KillCall, ReconcileCall, RolesCall, Subscription, UpdateFrameworkCall,
} from './calls';
import { CallError, RegistryUnavailableError } from './errors';
import { refuseMsFor } from './filters';
import { rolesOf, validateFrameworkInfo, type FrameworkRecord } from './frameworks';
import { noteFramework } from './operator-notes';
import type { FrameworkStream } from './ports';
import type { Principal } from '../common/security/credentials';
import { reconcile as answerReconcile } from './reconcile';
import { dropConnection, now, persist, removeFramework, rescindOffer, tell, type MasterState } from './state';
import { masterStatus } from './tasks';

/** The framework behind a call, if the call presents its live stream. */
export function authorize(s: MasterState, call: CallBase): FrameworkRecord {
  if (!call.frameworkId) throw new CallError('INVALID_ARGUMENT', 'framework_id is missing');
  if (!call.streamId) throw new CallError('INVALID_ARGUMENT', `stream_id is missing: present the stream id from SUBSCRIBED`);
  const record = s.frameworks.get(call.frameworkId);
  if (!record) {
    const why = s.frameworks.wasRemoved(call.frameworkId) ? 'was removed' : 'is not known to this master';
    throw new CallError('NOT_FOUND', `framework ${call.frameworkId} ${why}`);
  }
  if (!record.connection) throw new CallError('FAILED_PRECONDITION', `framework ${call.frameworkId} is not subscribed: subscribe again`);
  if (record.connection.streamId !== call.streamId) {
    throw new CallError('PERMISSION_DENIED', `stream id ${call.streamId} is not the live subscription of framework ${call.frameworkId}`);
  }
  if (call.principal && call.principal.name !== record.info.principal) {
    throw new CallError('PERMISSION_DENIED',
      `principal '${call.principal.name}' may not act for framework ${call.frameworkId}, which belongs to principal '${record.info.principal}'`);
  }
  return record;
}

/**
 * The checks a subscription passes before anything changes: the info, a removed id, the
 * principal that owns a known id, the roles it may register for. The info to subscribe with.
 */
function checkSubscription(s: MasterState, asked: FrameworkInfo, principal?: Principal): FrameworkInfo {
  const info = principal ? withPrincipal(asked, principal) : asked;
  const problem = validateFrameworkInfo(info);
  if (problem) throw new CallError('INVALID_ARGUMENT', problem);
  if (info.id && s.frameworks.wasRemoved(info.id)) {
    throw new CallError('FAILED_PRECONDITION', `framework ${info.id} was removed; subscribe without an id to start afresh`);
  }
  const record = info.id ? s.frameworks.get(info.id) : undefined;
  // Framework ids are public (/api/v1/state): the id alone must not let another principal take a framework over.
  if (record && principal && record.info.principal !== principal.name) {
    throw new CallError('PERMISSION_DENIED',
      `principal '${principal.name}' may not subscribe as framework ${info.id}, which belongs to principal '${record.info.principal}'`);
  }
  if (principal) for (const role of info.roles) s.authorizer.check('register_frameworks', principal, role);
  return info;
}

/**
 * Before a subscription: a framework the master does not know is stored in the registry
 * first, so that a master taking over knows it, and a subscription the registry cannot take
 * is refused (RegistryUnavailableError) before the master knows the framework — nothing half
 * registered is left behind. A known framework failing over needs no wait: its record is
 * there, and `subscribe` defers the change. Resolves with the info to subscribe with, its id
 * given (a new one for a framework that named none).
 */
export async function admitFramework(s: MasterState, asked: FrameworkInfo, principal?: Principal): Promise<FrameworkInfo> {
  const info = checkSubscription(s, asked, principal);
  if (info.id && s.frameworks.get(info.id)) return info;
  const admitted = { ...info, id: info.id || newId('fw') };
  try {
    await s.writes.write(`store framework ${admitted.id}`, () => s.registry.saveFramework(admitted, null));
  } catch (err) {
    // Sent before it failed, it may have landed: the record goes again, in its turn.
    if (err instanceof RegistryUnavailableError && err.attempted) {
      persist(s, `forget framework ${admitted.id}, whose subscription was refused`, () => s.registry.removeFramework(admitted.id));
    }
    throw err;
  }
  return admitted;
}

/**
 * A first subscription, or a failover: the same id again, keeping the framework's tasks.
 * Mesos allows one connection per framework, so a newer one closes the older one. Over gRPC
 * `admitFramework` comes first (`admitted`: it just stored this record); called alone
 * (in-process), a new framework's record is deferred like any other change.
 */
export function subscribe(s: MasterState, asked: FrameworkInfo, stream: FrameworkStream, principal?: Principal, admitted = false): Subscription {
  const info = checkSubscription(s, asked, principal);
  const frameworkId = info.id || newId('fw');
  let record = s.frameworks.get(frameworkId);
  const known = record !== undefined;
  if (record) {
    record.connection?.stream.send({ type: 'ERROR', message: 'framework failed over: a newer subscription took over' });
    dropConnection(record);
    record.failover?.cancel();
    record.failover = undefined;
    // Offers do not survive a failover: the new scheduler never saw them.
    for (const { offer } of s.offers.ofFramework(frameworkId)) rescindOffer(s, offer.id, 'framework failed over');
    setInfo(s, record, { ...info, id: frameworkId });
  } else {
    record = { info: { ...info, id: frameworkId }, registeredAt: now(s), suppressedRoles: new Set() };
    s.frameworks.add(record);
  }
  const streamId = newId('stream');
  const heartbeat = s.config.clock.setInterval(() => stream.send({ type: 'HEARTBEAT' }), s.config.frameworkHeartbeatIntervalMs);
  record.connection = { streamId, stream, heartbeat };
  // A framework met before (failover, or recovered from the registry) is updated: connected again.
  noteFramework(s, known ? 'FRAMEWORK_UPDATED' : 'FRAMEWORK_ADDED', record);
  if (known || !admitted) saveFramework(s, record, null);
  stream.send({ type: 'SUBSCRIBED', frameworkId, streamId, heartbeatIntervalMs: s.config.frameworkHeartbeatIntervalMs, master: s.info });
  s.log.info('framework subscribed', { frameworkId, name: info.name, streamId });
  s.allocateSoon();
  return { frameworkId, streamId };
}

/** The framework's info as it is now, and its deadline, recorded in the registry in their turn. */
function saveFramework(s: MasterState, record: FrameworkRecord, deadlineMs: number | null): void {
  const info = record.info;
  persist(s, `save framework ${info.id}`, () => s.registry.saveFramework(info, deadlineMs));
}

/** FrameworkInfo.principal is who authenticated: a framework may leave it empty, but not name another. */
function withPrincipal(info: FrameworkInfo, principal: Principal): FrameworkInfo {
  if (info.principal && info.principal !== principal.name) {
    throw new CallError('PERMISSION_DENIED', `framework_info.principal '${info.principal}' is not the authenticated principal '${principal.name}'`);
  }
  return { ...info, principal: principal.name };
}

/**
 * The stream went away. Offers are taken back at once; the framework and its tasks stay for
 * its failover timeout (0, the Mesos default, means it is removed right now).
 */
export function disconnect(s: MasterState, frameworkId: string, streamId: string): void {
  const record = s.frameworks.get(frameworkId);
  if (!record || record.connection?.streamId !== streamId) return; // an older stream, already replaced
  dropConnection(record);
  for (const { offer } of s.offers.ofFramework(frameworkId)) rescindOffer(s, offer.id, 'framework disconnected');
  const timeoutMs = record.info.failoverTimeoutMs;
  s.log.info('framework disconnected', { frameworkId, failoverTimeoutMs: timeoutMs });
  if (timeoutMs <= 0) {
    removeFramework(s, record, 'disconnected with a failover timeout of 0');
    return;
  }
  const deadlineMs = now(s) + timeoutMs;
  armFailover(s, record, deadlineMs);
  noteFramework(s, 'FRAMEWORK_UPDATED', record);
  saveFramework(s, record, deadlineMs);
}

/**
 * Removes the framework at `deadlineMs` unless it subscribes again first. The deadline is
 * absolute so a master recovering the framework from the registry keeps the original one.
 */
export function armFailover(s: MasterState, record: FrameworkRecord, deadlineMs: number): void {
  const timeoutMs = record.info.failoverTimeoutMs;
  record.failover?.cancel();
  record.failover = s.config.clock.setTimeout(
    () => removeFramework(s, record, `did not come back within its failover timeout of ${timeoutMs} ms`), Math.max(0, deadlineMs - now(s)));
}

export function accept(s: MasterState, call: AcceptCall): void {
  const record = authorize(s, call);
  const at = now(s);
  const plan = planAccept(call, {
    now: at,
    epoch: s.config.epoch,
    refuseMs: refuseMsFor(call.filters, s.config.defaultRefuseMs, s.config.allocationIntervalMs),
    offer: (id) => s.offers.get(id)?.offer,
    taskInUse: (id) => s.tasks.has(call.frameworkId, id),
    ...(call.principal ? { launchRefusal: (task: TaskInfo) => s.authorizer.launchRefusal(call.principal!, task) } : {}),
  });
  timeAccepted(s, plan, at);
  for (const filter of plan.filters) s.filters.add(filter);
  for (const { task, role } of plan.launches) {
    const staging = masterStatus({
      taskId: task.taskId, frameworkId: call.frameworkId, agentId: task.agentId, state: 'TASK_STAGING', reason: 'REASON_UNKNOWN', message: '',
    }, at);
    const entry: Task = {
      taskId: task.taskId, name: task.name, frameworkId: call.frameworkId, agentId: task.agentId,
      state: 'TASK_STAGING', resources: task.resources, status: staging, info: task,
    };
    s.tasks.add({ task: entry, role, updatedAt: at, launchedAt: at });
  }
  const agentId = plan.launches[0]?.task.agentId;
  if (agentId) assertNotOvercommitted(agentId, usageOf(s, agentId));
  for (const { task } of plan.launches) s.agentPort.run(task.agentId, { frameworkId: call.frameworkId, frameworkInfo: record.info, task });
  for (const status of plan.updates) tell(s, call.frameworkId, { type: 'UPDATE', status });
  for (const event of plan.log) s.offerLog.record(event);
}

/**
 * Takes the Accept's offers out of the book, timing each one the Accept used (an ACCEPTED line
 * in the offer log) from when it was sent, so `agora_offer_accept_seconds_count` moves with
 * `agora_offers_total{event="accepted"}`. An offer named but left unused is a decline, and an
 * invalid Accept uses none: neither is timed.
 */
function timeAccepted(s: MasterState, plan: AcceptPlan, at: number): void {
  for (const offer of plan.offers) {
    const held = s.offers.remove(offer.id);
    if (held && plan.log.some((e) => e.type === 'ACCEPTED' && e.offerId === offer.id)) {
      s.latencies.offerAccept.observeElapsedMs(held.sentAt ?? held.offeredAt, at);
    }
  }
}

/** How much of a framework's decline reason the offer log keeps, in characters. */
export const MAX_DECLINE_REASON_CHARS = 500;

/**
 * A decline reason as the offer log keeps it: on one line (it is printed one event a line by
 * `agora offers`), at most MAX_DECLINE_REASON_CHARS characters, so a framework cannot fill
 * the log's ring with one long string; blank means the framework gave none. Truncated rather
 * than refused: the decline itself is valid, only its note is long.
 */
export function declineReason(raw: string | undefined): string {
  return oneLine(raw, MAX_DECLINE_REASON_CHARS) || 'declined by framework';
}

/** Words from outside as the master keeps them: on one line, at most `maxChars` characters ('' for blank). */
export function oneLine(raw: string | undefined, maxChars: number): string {
  const text = (raw ?? '').replace(/[\s\p{Cc}]+/gu, ' ').trim();
  const chars = Array.from(text);   // code points, so a cut never splits a surrogate pair
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join('')}…`;
}

/** Declined offers come back filtered for max(refuse, allocation interval). Unknown ids are
 * ignored: a decline racing a rescind is normal, not an error. */
export function decline(s: MasterState, call: DeclineCall): void {
  authorize(s, call);
  const at = now(s);
  const refuseMs = refuseMsFor(call.filters, s.config.defaultRefuseMs, s.config.allocationIntervalMs);
  const reason = declineReason(call.reason);
  for (const id of new Set(call.offerIds)) {
    const another = otherEpoch(id, s.config.epoch);
    if (another) {
      // A framework answering an offer of the master before this one: there is nothing to give back.
      s.log.debug(`decline ignored: ${another}`, { offerId: id, frameworkId: call.frameworkId });
      continue;
    }
    const offer = s.offers.get(id)?.offer;
    if (!offer || offer.frameworkId !== call.frameworkId) {
      s.log.debug('decline of an offer that is gone or not this framework\'s', { offerId: id, frameworkId: call.frameworkId });
      continue;
    }
    s.offers.remove(id);
    s.filters.add({ frameworkId: offer.frameworkId, role: offer.role, agentId: offer.agentId, resources: offer.resources, expiresAt: at + refuseMs });
    s.offerLog.record({
      type: 'DECLINED', at, offerId: id, frameworkId: offer.frameworkId, agentId: offer.agentId, role: offer.role,
      resources: format(offer.resources), refuseMs, reason,
    });
  }
}

function rolesFor(record: FrameworkRecord, asked: readonly string[]): Set<string> {
  const result = rolesOf(record, asked);
  if ('unknown' in result) {
    throw new CallError('INVALID_ARGUMENT', `role ${result.unknown} is not one of framework ${record.info.id}'s roles [${record.info.roles.join(', ')}]`);
  }
  return result.roles;
}

export function revive(s: MasterState, call: RolesCall): void {
  const record = authorize(s, call);
  const roles = rolesFor(record, call.roles);
  for (const role of roles) record.suppressedRoles.delete(role);
  s.filters.clear(call.frameworkId, roles);
  s.allocateSoon();
}

/** Outstanding offers stay out (as in Mesos); only new ones stop. */
export function suppress(s: MasterState, call: RolesCall): void {
  const record = authorize(s, call);
  for (const role of rolesFor(record, call.roles)) record.suppressedRoles.add(role);
}

export function kill(s: MasterState, call: KillCall): void {
  const record = authorize(s, call);
  if (call.principal) s.authorizer.check('kill_tasks', call.principal, record.info.principal);
  if (!call.taskId) throw new CallError('INVALID_ARGUMENT', 'task_id is missing');
  const entry = s.tasks.get(call.frameworkId, call.taskId);
  if (!entry) {
    tell(s, call.frameworkId, { type: 'UPDATE', status: masterStatus({
      taskId: call.taskId, frameworkId: call.frameworkId, agentId: call.agentId, state: 'TASK_LOST',
      reason: 'REASON_TASK_UNKNOWN', message: `cannot kill task ${call.taskId}: the master does not know it`,
    }, now(s)) });
    return;
  }
  if (isTerminal(entry.task.state)) return; // its terminal update is on its way to the framework
  s.agentPort.kill(entry.task.agentId, {
    frameworkId: call.frameworkId, taskId: call.taskId, killPolicy: call.killPolicy ?? entry.task.info?.killPolicy,
  });
}

/** Passed on to the agent, which stops resending that update. A terminal update, once
 * acknowledged, retires the task. */
export function acknowledge(s: MasterState, call: AcknowledgeCall): void {
  authorize(s, call);
  if (!call.taskId) throw new CallError('INVALID_ARGUMENT', 'task_id is missing');
  if (!call.uuid) throw new CallError('INVALID_ARGUMENT', `uuid is missing: only updates that carry a uuid are acknowledged`);
  const entry = s.tasks.get(call.frameworkId, call.taskId);
  if (entry && call.agentId && call.agentId !== entry.task.agentId) {
    throw new CallError('INVALID_ARGUMENT', `task ${call.taskId} runs on agent ${entry.task.agentId}, not ${call.agentId}`);
  }
  const agentId = call.agentId || entry?.task.agentId;
  if (!agentId) throw new CallError('INVALID_ARGUMENT', `agent_id is missing and task ${call.taskId} is unknown`);
  if (!s.agents.has(agentId)) throw new CallError('NOT_FOUND', `agent ${agentId} is not registered`);
  s.agentPort.ack(agentId, { frameworkId: call.frameworkId, taskId: call.taskId, uuid: call.uuid });
  if (entry && isTerminal(entry.task.state) && entry.task.status?.uuid === call.uuid) s.tasks.complete(call.frameworkId, call.taskId);
}

const STANDING = { active: 'registered', recovering: 'recovering', unreachable: 'unreachable' } as const;

export function reconcile(s: MasterState, call: ReconcileCall): void {
  authorize(s, call);
  const statuses = answerReconcile(call, {
    now: now(s),
    task: (id) => s.tasks.get(call.frameworkId, id)?.task,
    frameworkTasks: () => s.tasks.ofFramework(call.frameworkId).map((r) => r.task),
    agentStanding: (id) => {
      const agent = s.agents.get(id);
      if (agent) return STANDING[agentStatus(agent)];
      return s.goneAgents.has(id) ? 'gone' : 'unknown';
    },
  });
  for (const status of statuses) tell(s, call.frameworkId, { type: 'UPDATE', status });
}

/**
 * The agents, for a framework that places work by attribute or links to an agent's sandbox
 * files. They are no one framework's, so seeing them is a `view` of everything, as the
 * operator's `/api/v1/state` is: a framework needs that right, not only a live subscription.
 */
export function getAgents(s: MasterState, call: CallBase): ClusterAgent[] {
  authorize(s, call);
  if (call.principal) s.authorizer.check('view', call.principal);
  return s.agents.all().map((agent) => {
    const { id, hostname, port, attributes, resources } = agent.info;
    return { id, hostname, port, attributes: { ...attributes }, resources, unreachable: agentStatus(agent) === 'unreachable' };
  });
}

/**
 * The framework's record leaves the registry before anything is torn down: a teardown the
 * registry cannot take is refused (RegistryUnavailableError) and kills nothing, and one that
 * is answered survives the master — a master taking over does not bring the framework back.
 */
export async function teardown(s: MasterState, call: CallBase): Promise<void> {
  const record = authorize(s, call);
  if (call.principal) s.authorizer.check('teardown_frameworks', call.principal, record.info.principal);
  const frameworkId = record.info.id;
  await s.writes.write(`remove framework ${frameworkId}`, () => s.registry.removeFramework(frameworkId));
  // Stored. Gone meanwhile (its failover timeout), it is gone already; failed over, it is torn down all the same.
  const current = s.frameworks.get(frameworkId);
  if (current) removeFramework(s, current, 'torn down by the framework');
}

/** Name, roles, failover timeout and the rest change in place; offers for dropped roles go. */
export function updateFramework(s: MasterState, call: UpdateFrameworkCall): void {
  const record = authorize(s, call);
  const info = call.principal ? withPrincipal(call.frameworkInfo, call.principal) : call.frameworkInfo;
  if (info.id && info.id !== call.frameworkId) {
    throw new CallError('INVALID_ARGUMENT', `framework_info.id ${info.id} does not match framework_id ${call.frameworkId}`);
  }
  const problem = validateFrameworkInfo(info);
  if (problem) throw new CallError('INVALID_ARGUMENT', problem);
  if (call.principal) for (const role of info.roles) s.authorizer.check('register_frameworks', call.principal, role);
  setInfo(s, record, { ...info, id: call.frameworkId });
  noteFramework(s, 'FRAMEWORK_UPDATED', record);
  saveFramework(s, record, null);
  s.allocateSoon();
}

function setInfo(s: MasterState, record: FrameworkRecord, info: FrameworkInfo): void {
  assert(info.id === record.info.id, 'a framework keeps its id');
  record.info = info;
  for (const role of [...record.suppressedRoles]) if (!info.roles.includes(role)) record.suppressedRoles.delete(role);
  for (const { offer } of s.offers.ofFramework(info.id)) {
    if (!info.roles.includes(offer.role)) rescindOffer(s, offer.id, `framework ${info.id} left role ${offer.role}`);
  }
}
