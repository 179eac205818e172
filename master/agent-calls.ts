/**
 * What agents tell the master: registration (first time or again, with the tasks they run),
 * heartbeats, and task status updates, which the master applies and forwards to frameworks.
 */
import { newId } from '../common/ids';
import { OPEN_OWNER } from '../common/subjects';
import { add, contains, format, normalize, type Resources } from '../common/resources';
import { isTerminal, type AgentInfo, type Task } from '../common/types';
import { agentStatus, type AgentRecord } from './agents';
import type { AgentUsageCall, HeartbeatCall, HeartbeatResult, RegisterAgentCall, RegisterAgentResult, StatusUpdateCall } from './calls';
import { CallError, RegistryUnavailableError } from './errors';
import { oneLine } from './framework-calls';
import { noteAgent } from './operator-notes';
import { now, persist, rescindOffer, tell, type MasterState } from './state';
import { masterStatus } from './tasks';

const SUBJECT_SAFE = /^[A-Za-z0-9_-]+$/;

function checkRegistration(call: RegisterAgentCall): Task[] {
  const { agentInfo: info } = call;
  if (info.id && !SUBJECT_SAFE.test(info.id)) {
    throw new CallError('INVALID_ARGUMENT', `agent id '${info.id}' may only contain letters, digits, '_' and '-'`);
  }
  if (normalize(info.resources).length === 0) throw new CallError('INVALID_ARGUMENT', `agent ${info.hostname || info.id || '(unnamed)'} advertises no resources`);
  const tasks = call.tasks.filter((t) => t.taskId && t.frameworkId);
  const used = tasks.filter((t) => !isTerminal(t.state)).reduce<Resources>((sum, t) => add(sum, t.resources), []);
  // The master promises never to over-commit an agent; an agent that says it already is
  // cannot be admitted without breaking that promise for everyone else.
  if (!contains(info.resources, used)) {
    throw new CallError('INVALID_ARGUMENT', `agent reports tasks holding ${format(used)}, more than its resources ${format(info.resources)}`);
  }
  return tasks;
}

/** The principal an agent registered as: the owner its subjects name. */
export const ownerOf = (info: AgentInfo): string => info.principal ?? OPEN_OWNER;

/**
 * Only an agent's owner speaks for it. `sender` is the owner in the subject the message came
 * on (NATS lets a credential publish only under its own name); undefined is an in-process
 * caller, which is trusted.
 */
export function checkSender(s: MasterState, agentId: string, sender: string | undefined): void {
  if (sender === undefined) return;
  const agent = s.agents.get(agentId);
  if (agent && ownerOf(agent.info) !== sender) {
    throw new CallError('PERMISSION_DENIED', `agent ${agentId} registered as principal '${ownerOf(agent.info)}'; principal '${sender}' may not speak for it`);
  }
}

/**
 * Admits the agent in the registry before answering: once an agent believes it is
 * registered, a master that takes over must know it. A known agent keeps its id, and its
 * outstanding offers are rescinded (its resources may have changed). A registry that cannot
 * take the admission refuses the registration (RegistryUnavailableError) before anything
 * changes; the agent tries again with its backoff.
 */
export async function registerAgent(s: MasterState, call: RegisterAgentCall, sender?: string): Promise<RegisterAgentResult> {
  const reported = checkRegistration(call);
  const agentId = call.agentInfo.id || newId('agent');
  if (s.goneAgents.has(agentId)) {
    throw new CallError('PERMISSION_DENIED', `agent ${agentId} was marked gone by an operator and may not register again; start it with a fresh work dir`);
  }
  checkSender(s, agentId, sender);
  const { principal: _claimed, ...presented } = call.agentInfo;
  const principal = sender ?? call.agentInfo.principal;
  const info: AgentInfo = { ...presented, id: agentId, ...(principal !== undefined && principal !== OPEN_OWNER ? { principal } : {}) };
  checkRoomForSpared(s, agentId, info.resources, reported);
  await admit(s, info);
  const at = now(s);
  const known = s.agents.get(agentId);
  const degradedReason = degradedNote(call.degradedReason);
  if (known) {
    for (const { offer } of s.offers.onAgent(agentId)) rescindOffer(s, offer.id, `agent ${agentId} re-registered`);
    known.info = info;
    known.lastHeartbeatAt = at;
    known.version = call.version;
    known.unreachableSince = undefined;
    known.recoveringUntil = undefined;
    known.degradedReason = degradedReason;
  } else {
    s.agents.set({ info, registeredAt: at, lastHeartbeatAt: at, version: call.version, ...(degradedReason ? { degradedReason } : {}) });
  }
  if (degradedReason) s.log.warn('agent registered degraded: it is not offered', { agentId, reason: degradedReason });
  // Before its tasks are adopted, so their TASK_ADDED follow the agent they run on.
  noteAgent(s, known ? 'AGENT_UPDATED' : 'AGENT_ADDED', agentId);
  adoptTasks(s, agentId, reported.map((t) => ({ ...t, agentId })));
  s.log.info(known ? 'agent re-registered' : 'agent registered', { agentId, hostname: info.hostname, resources: format(info.resources) });
  s.allocateSoon();
  return { agentId, heartbeatIntervalMs: s.config.agentHeartbeatIntervalMs, masterId: s.info.id };
}

/**
 * The registry's admission, awaited. One that was sent and failed may have landed: for an
 * agent the master does not know, its record is removed again in its turn, so a master
 * taking over does not wait for an agent that never heard it was registered.
 */
async function admit(s: MasterState, info: AgentInfo): Promise<void> {
  try {
    await s.writes.write(`admit agent ${info.id}`, () => s.registry.admit(info));
  } catch (err) {
    if (err instanceof RegistryUnavailableError && err.attempted && !s.agents.has(info.id)) {
      persist(s, `forget agent ${info.id}, whose registration was refused`, () => s.registry.remove(info.id));
    }
    throw err;
  }
}

/**
 * The STAGING tasks `adoptTasks` will spare keep holding their resources, so a re-registering
 * agent must have room for them beside the tasks it reports: an agent that comes back
 * smaller would otherwise be over-committed by the master's own bookkeeping.
 */
function checkRoomForSpared(s: MasterState, agentId: string, resources: Resources, reported: Task[]): void {
  const reportedKeys = new Set(reported.map((t) => `${t.frameworkId}\u0000${t.taskId}`));
  const held = [
    ...reported.filter((t) => !isTerminal(t.state)),
    ...s.tasks.onAgent(agentId).map((e) => e.task)
      .filter((t) => t.state === 'TASK_STAGING' && !reportedKeys.has(`${t.frameworkId}\u0000${t.taskId}`)),
  ].reduce<Resources>((sum, t) => add(sum, t.resources), []);
  if (!contains(resources, held)) {
    throw new CallError('INVALID_ARGUMENT',
      `agent ${agentId} re-registers with ${format(resources)}, less than the ${format(held)} its tasks hold (launches included)`);
  }
}

/**
 * The agent's report wins over the master's memory: tasks it runs that the master did not
 * know (a master that restarted) are adopted; tasks the master knew on it that it no longer
 * reports are lost. STAGING tasks are spared: their run message may still be on its way.
 */
function adoptTasks(s: MasterState, agentId: string, reported: Task[]): void {
  const at = now(s);
  const seen = new Set<string>();
  for (const task of reported) {
    seen.add(`${task.frameworkId}\u0000${task.taskId}`);
    const entry = s.tasks.get(task.frameworkId, task.taskId);
    if (!entry) {
      const role = s.frameworks.get(task.frameworkId)?.info.roles[0] ?? task.resources[0]?.role ?? '*';
      s.tasks.add({ task, role, updatedAt: at });
      // e.g. a task reported LOST while its agent was unreachable, still running after all
      if (!isTerminal(task.state)) tellBack(s, task, agentId, at);
      // It holds resources until the agent reports it ended, which the kill brings about.
      if (s.frameworks.wasRemoved(task.frameworkId) && !isTerminal(task.state)) {
        s.agentPort.kill(agentId, { frameworkId: task.frameworkId, taskId: task.taskId, killPolicy: task.info?.killPolicy });
      }
    } else if (entry.task.agentId !== agentId) {
      s.log.warn('agent reports a task the master places on another agent', { agentId, taskId: task.taskId, knownOn: entry.task.agentId });
    } else {
      // The agent's latest status when it sent one, else what it says the state is.
      const reported = task.status ?? masterStatus({
        taskId: task.taskId, frameworkId: task.frameworkId, agentId, state: task.state, reason: 'REASON_RECONCILIATION',
        message: `reported by agent ${agentId} as it registered`,
      }, at);
      const before = entry.task.state;
      s.tasks.update(entry, reported, at);
      if (before === 'TASK_UNREACHABLE' && entry.task.state !== before) tellBack(s, entry.task, agentId, at);
    }
  }
  for (const entry of s.tasks.onAgent(agentId)) {
    const { task } = entry;
    if (seen.has(`${task.frameworkId}\u0000${task.taskId}`) || isTerminal(task.state) || task.state === 'TASK_STAGING') continue;
    const lost = masterStatus({
      taskId: task.taskId, frameworkId: task.frameworkId, agentId, state: 'TASK_LOST', reason: 'REASON_AGENT_RESTARTED',
      message: `agent ${agentId} re-registered without task ${task.taskId}`,
    }, at);
    s.tasks.update(entry, lost, at);
    s.tasks.complete(task.frameworkId, task.taskId);
    tell(s, task.frameworkId, { type: 'UPDATE', status: lost });
  }
}

/**
 * An agent that stops for good says so: it is forgotten (registry included), its offers are
 * rescinded, and a task the master still places there ends TASK_GONE — its agent killed
 * what it ran before leaving, but an update may not have made it. Without this, a stopped
 * agent's resources would go on being offered, and launches there would wait forever.
 */
export async function unregisterAgent(s: MasterState, agentId: string, reason: string, sender?: string): Promise<void> {
  checkSender(s, agentId, sender);
  await removeAgent(s, agentId, 'TASK_GONE', `agent ${agentId} left${reason ? `: ${reason}` : ''}`);
  s.log.info('agent unregistered', { agentId, reason });
}

/**
 * An operator says an agent is gone for good (the machine is dead or wiped), as Mesos's
 * MARK_AGENT_GONE: its tasks end TASK_GONE_BY_OPERATOR and its id may never register again,
 * so an agent that was only partitioned cannot bring back tasks frameworks have replaced.
 */
export async function markAgentGone(s: MasterState, agentId: string): Promise<void> {
  await removeAgent(s, agentId, 'TASK_GONE_BY_OPERATOR', `agent ${agentId} was marked gone by an operator`,
    () => s.writes.write(`mark agent ${agentId} gone`, () => s.registry.markGone(agentId)));
  s.goneAgents.add(agentId);
  s.log.warn('agent marked gone by an operator', { agentId });
}

async function removeAgent(
  s: MasterState, agentId: string, state: 'TASK_GONE' | 'TASK_GONE_BY_OPERATOR', why: string,
  record: () => Promise<void> = () => s.writes.write(`remove agent ${agentId}`, () => s.registry.remove(agentId)),
): Promise<void> {
  if (!s.agents.has(agentId)) throw new CallError('NOT_FOUND', `agent ${agentId} is not registered`);
  await record();
  for (const { offer } of s.offers.onAgent(agentId)) rescindOffer(s, offer.id, why);
  const at = now(s);
  for (const entry of s.tasks.onAgent(agentId)) {
    const { task } = entry;
    if (isTerminal(task.state)) continue;
    const gone = masterStatus({
      taskId: task.taskId, frameworkId: task.frameworkId, agentId, state, reason: 'REASON_AGENT_REMOVED', message: why,
    }, at);
    s.tasks.update(entry, gone, at);
    s.tasks.complete(task.frameworkId, task.taskId);
    tell(s, task.frameworkId, { type: 'UPDATE', status: gone });
  }
  s.agents.remove(agentId);
  s.events.record({ type: 'AGENT_REMOVED', agentId, reason: why });
}

/** Tells a framework the state of a task its returning agent reported. No uuid: not acknowledged. */
function tellBack(s: MasterState, task: Task, agentId: string, at: number): void {
  if (!s.frameworks.get(task.frameworkId)) return;
  tell(s, task.frameworkId, { type: 'UPDATE', status: masterStatus({
    taskId: task.taskId, frameworkId: task.frameworkId, agentId, state: task.state, reason: 'REASON_RECONCILIATION',
    message: `agent ${agentId} registered again and reports task ${task.taskId} ${task.state}`,
  }, at) });
}

export function agentHeartbeat(s: MasterState, call: HeartbeatCall, sender?: string): HeartbeatResult {
  const { agentId } = call;
  checkSender(s, agentId, sender);
  const agent = s.agents.get(agentId);
  const reregister = !agent || agentStatus(agent) !== 'active';
  if (agent) {
    agent.lastHeartbeatAt = now(s);
    // An unreachable agent's registration will say it again, and adopt its tasks first.
    if (!reregister) setDegraded(s, agent, degradedNote(call.degradedReason));
  }
  return { reregister, masterId: s.info.id };
}

/** How much of an agent's degraded reason the master keeps, in characters. */
const MAX_DEGRADED_REASON_CHARS = 500;

const degradedNote = (raw: string | undefined): string | undefined => oneLine(raw, MAX_DEGRADED_REASON_CHARS) || undefined;

/**
 * An agent that takes no launches (its container engine does not answer) is degraded: its
 * outstanding offers are rescinded and it is left out of allocation (`offerable`) until it
 * says it is not; then it is offered again at once. The reason's words may change while it
 * stays degraded (it counts the silence); only a change of state is an operator event.
 */
function setDegraded(s: MasterState, agent: AgentRecord, reason: string | undefined): void {
  const was = agent.degradedReason;
  agent.degradedReason = reason;
  if ((was === undefined) === (reason === undefined)) return;
  const agentId = agent.info.id;
  noteAgent(s, 'AGENT_UPDATED', agentId);
  if (reason === undefined) {
    s.log.info('agent no longer degraded: offered again', { agentId });
    s.allocateSoon();
    return;
  }
  s.log.warn('agent degraded: not offered until it recovers', { agentId, reason });
  for (const { offer } of s.offers.onAgent(agentId)) rescindOffer(s, offer.id, `agent ${agentId} is degraded: ${reason}`);
}

/**
 * Applies an agent's status update and forwards it. The update is forwarded every time it
 * arrives, duplicates included: the agent resends until the framework acknowledges, so
 * swallowing a resend would leave it resending forever. A disconnected framework gets
 * nothing and nothing is acknowledged; the agent keeps the update and tries again later.
 * An agent's update that moves a task and is forwarded the first time it arrives is timed
 * from the agent's stamp (`agora_status_update_seconds`).
 */
export function statusUpdate(s: MasterState, call: StatusUpdateCall, sender?: string): void {
  const frameworkId = call.frameworkId || call.status.frameworkId;
  const status = { ...call.status, frameworkId };
  if (!frameworkId || !status.taskId) {
    s.log.warn('status update without framework or task id', { frameworkId, taskId: status.taskId });
    return;
  }
  if (sender !== undefined && !status.agentId) {
    throw new CallError('INVALID_ARGUMENT', `status update for task ${status.taskId} names no agent; only the agent that runs a task speaks for it`);
  }
  checkSender(s, status.agentId, sender);
  if (status.agentId && !s.agents.has(status.agentId)) {
    s.log.debug('status update from an unregistered agent; it will re-register and resend', { agentId: status.agentId });
    return;
  }
  const entry = s.tasks.get(frameworkId, status.taskId);
  if (entry && status.agentId && status.agentId !== entry.task.agentId) {
    // Only the agent that runs a task speaks for it.
    s.log.warn('status update from an agent that does not run the task; dropped', {
      taskId: status.taskId, from: status.agentId, runsOn: entry.task.agentId,
    });
    return;
  }
  const effect = entry && s.tasks.update(entry, status, now(s));
  if (effect === 'ignored') s.log.debug('update for a task that already ended', { taskId: status.taskId, state: status.state });
  const ended = entry !== undefined && isTerminal(entry.task.state);
  if (s.frameworks.wasRemoved(frameworkId)) {
    // Nobody will ever acknowledge this; do it for the framework so the agent can let go.
    if (status.uuid && status.agentId) s.agentPort.ack(status.agentId, { frameworkId, taskId: status.taskId, uuid: status.uuid });
    if (ended) s.tasks.complete(frameworkId, status.taskId);
    return;
  }
  // Without a uuid there will be no acknowledgement to retire the task on.
  if (ended && !status.uuid) s.tasks.complete(frameworkId, status.taskId);
  const forwarded = tell(s, frameworkId, { type: 'UPDATE', status });
  // Timed on its first arrival only: a resend keeps its first stamp, so timing it would
  // measure the agent's resend interval. No stamp (0) means there is nothing to time from.
  if (forwarded && effect === 'changed' && status.uuid && status.timestampMs > 0) {
    s.latencies.statusUpdate.observeElapsedMs(status.timestampMs, now(s));
  }
}

/**
 * Keeps the newest statistics an agent reports of each task it runs. Only the agent the
 * master places a task on speaks for it, and only while the task is live: a report from an
 * agent the master does not know (it will re-register) is dropped whole; a task it does not
 * know, placed elsewhere, ended, or run in another container is dropped alone. Debug logs
 * only: a report crossing a task's end is routine.
 */
export function agentUsage(s: MasterState, call: AgentUsageCall, sender?: string): void {
  checkSender(s, call.agentId, sender);
  if (!s.agents.has(call.agentId)) {
    s.log.debug('usage from an unregistered agent; dropped', { agentId: call.agentId });
    return;
  }
  for (const u of call.tasks) {
    const entry = s.tasks.get(u.frameworkId, u.taskId);
    const why = usageRefusal(entry?.task, call.agentId, u.containerId);
    if (why !== undefined || !entry) {
      s.log.debug('task usage dropped', { agentId: call.agentId, frameworkId: u.frameworkId, taskId: u.taskId, why });
      continue;
    }
    entry.statistics = u.statistics;
  }
}

/** Why a task's usage from `agentId` is not kept, or undefined when it is. */
function usageRefusal(task: Task | undefined, agentId: string, containerId: string): string | undefined {
  if (!task) return 'the master does not know the task';
  if (task.agentId !== agentId) return `the task runs on agent ${task.agentId}`;
  if (isTerminal(task.state)) return `the task is ${task.state}`;
  const current = task.status?.containerId;
  if (containerId && current && containerId !== current) return `the task runs in container ${current}`;
  return undefined;
}
