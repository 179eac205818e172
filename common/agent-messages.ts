/**
 * The messages agents and the master exchange over NATS (proto/agora/v1/agent.proto), as
 * bytes ⇄ plain objects, for both sides: the master and the agent each encode what they send
 * and decode what they receive with these functions, so the two cannot drift apart. What the
 * envelopes carry (tasks, statuses, agent info) goes through the codecs of codec.ts.
 * Every decoder throws a WireError that names the message on bytes that are not it.
 *
 * `epoch` (replies, run, kill, ack): the epoch of the master that sent it, which fences a
 * deposed master's messages (agent/epoch-fence.ts). Decoded as 0 when absent: a master older
 * than the field. Encoded as 0 when not given.
 */
import {
  agentInfoFromWire, agentInfoToWire, frameworkInfoFromWire, frameworkInfoToWire, killPolicyFromWire, killPolicyToWire,
  statisticsFromWire, statisticsToWire, taskFromWire, taskInfoFromWire, taskInfoToWire, taskStatusFromWire, taskStatusToWire, taskToWire,
} from './codec';
import { decodeAs, pb, WireError } from './proto';
import type { AgentInfo, FrameworkInfo, KillPolicy, ResourceStatistics, Task, TaskInfo, TaskStatus, TaskUsage } from './types';

/** `degradedReason`: set while the agent takes no launches (its container engine is wedged), saying why. */
export interface RegisterRequest { agentInfo: AgentInfo; tasks: Task[]; version: string; degradedReason?: string }
export interface RegisterReply { agentId: string; heartbeatIntervalMs: number; masterId: string; error: string; epoch?: number }
export interface Heartbeat { agentId: string; timestampMs: number; degradedReason?: string }
export interface HeartbeatReply { reregister: boolean; masterId: string; error?: string; epoch?: number }
export interface RunTask { frameworkId: string; frameworkInfo: FrameworkInfo; task: TaskInfo; epoch?: number }
export interface KillTask { frameworkId: string; taskId: string; killPolicy?: KillPolicy; epoch?: number }
export interface StatusUpdate { frameworkId: string; status: TaskStatus }
export interface StatusAck { frameworkId: string; taskId: string; uuid: string; epoch?: number }
export interface Unregister { agentId: string; reason: string }
export interface UnregisterReply { error: string }
export interface AgentUsage { agentId: string; timestampMs: number; tasks: TaskUsage[] }

// ------------------------------------------------------------------ agent → master

export function encodeRegisterRequest(r: RegisterRequest): Uint8Array {
  return pb.RegisterAgentRequest.encode({
    agentInfo: agentInfoToWire(r.agentInfo), tasks: r.tasks.map(taskToWire), version: r.version, degradedReason: r.degradedReason ?? '',
  }).finish();
}

export function decodeRegisterRequest(bytes: Uint8Array): RegisterRequest {
  const m = decodeAs(pb.RegisterAgentRequest, 'RegisterAgentRequest', bytes);
  return {
    agentInfo: agentInfoFromWire(m.agentInfo), tasks: (m.tasks ?? []).map(taskFromWire), version: m.version ?? '',
    ...(m.degradedReason ? { degradedReason: m.degradedReason } : {}),
  };
}

export function encodeHeartbeat(h: Heartbeat): Uint8Array {
  return pb.AgentHeartbeat.encode({ agentId: h.agentId, timestamp: h.timestampMs / 1000, degradedReason: h.degradedReason ?? '' }).finish();
}

/** An empty `degraded_reason` (proto3's unset) is no reason: the agent is not degraded. */
export function decodeHeartbeat(bytes: Uint8Array): Heartbeat {
  const m = decodeAs(pb.AgentHeartbeat, 'AgentHeartbeat', bytes);
  return { agentId: m.agentId ?? '', timestampMs: Math.round((m.timestamp ?? 0) * 1000), ...(m.degradedReason ? { degradedReason: m.degradedReason } : {}) };
}

export function encodeStatusUpdate(u: StatusUpdate): Uint8Array {
  return pb.StatusUpdateMessage.encode({ frameworkId: u.frameworkId, status: taskStatusToWire(u.status) }).finish();
}

export function decodeStatusUpdate(bytes: Uint8Array): StatusUpdate {
  const m = decodeAs(pb.StatusUpdateMessage, 'StatusUpdateMessage', bytes);
  if (!m.status) throw new WireError('malformed StatusUpdateMessage: it carries no status');
  return { frameworkId: m.frameworkId ?? '', status: taskStatusFromWire(m.status) };
}

export function encodeUnregister(u: Unregister): Uint8Array {
  return pb.UnregisterAgentRequest.encode({ agentId: u.agentId, reason: u.reason }).finish();
}

export function decodeUnregister(bytes: Uint8Array): Unregister {
  const m = decodeAs(pb.UnregisterAgentRequest, 'UnregisterAgentRequest', bytes);
  return { agentId: m.agentId ?? '', reason: m.reason ?? '' };
}

export function encodeAgentUsage(u: AgentUsage): Uint8Array {
  return pb.AgentUsage.encode({
    agentId: u.agentId, timestamp: u.timestampMs / 1000,
    tasks: u.tasks.map((t) => ({ frameworkId: t.frameworkId, taskId: t.taskId, containerId: t.containerId, statistics: statisticsToWire(t.statistics) })),
  }).finish();
}

/**
 * Decodes a usage report, all or nothing: a report that names no agent, a task without its
 * ids or statistics, or a number that no measurement gives (negative, NaN, infinite) is a
 * WireError saying which, so a master never keeps half of a bad report.
 */
export function decodeAgentUsage(bytes: Uint8Array): AgentUsage {
  const m = decodeAs(pb.AgentUsage, 'AgentUsage', bytes);
  if (!m.agentId) throw new WireError('malformed AgentUsage: it names no agent (agent_id is empty)');
  const tasks = (m.tasks ?? []).map((t, i): TaskUsage => {
    const where = `AgentUsage of agent ${m.agentId}, task #${i}`;
    if (!t.frameworkId || !t.taskId) throw new WireError(`malformed ${where}: framework_id and task_id are both required`);
    if (!t.statistics) throw new WireError(`malformed ${where} (${t.taskId}): it carries no statistics`);
    const statistics = statisticsFromWire(t.statistics);
    checkStatistics(statistics, `${where} (${t.taskId})`);
    return { frameworkId: t.frameworkId, taskId: t.taskId, containerId: t.containerId ?? '', statistics };
  });
  return { agentId: m.agentId, timestampMs: Math.round((m.timestamp ?? 0) * 1000), tasks };
}

function checkStatistics(st: ResourceStatistics, where: string): void {
  for (const [field, value] of Object.entries(st)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value >= 0)) {
      throw new WireError(`malformed ${where}: statistics.${field} is ${value}; measurements are finite and >= 0`);
    }
  }
}

// ------------------------------------------------------------------ master → agent

export function encodeUnregisterReply(r: UnregisterReply): Uint8Array {
  return pb.UnregisterAgentResponse.encode({ error: r.error }).finish();
}

export function decodeUnregisterReply(bytes: Uint8Array): UnregisterReply {
  return { error: decodeAs(pb.UnregisterAgentResponse, 'UnregisterAgentResponse', bytes).error ?? '' };
}

export function encodeRegisterReply(r: RegisterReply): Uint8Array {
  return pb.RegisterAgentResponse.encode({
    agentId: r.agentId, heartbeatIntervalSeconds: r.heartbeatIntervalMs / 1000, masterId: r.masterId, error: r.error, epoch: r.epoch ?? 0,
  }).finish();
}

export function decodeRegisterReply(bytes: Uint8Array): RegisterReply {
  const m = decodeAs(pb.RegisterAgentResponse, 'RegisterAgentResponse', bytes);
  return {
    agentId: m.agentId ?? '', heartbeatIntervalMs: Math.round((m.heartbeatIntervalSeconds ?? 0) * 1000),
    masterId: m.masterId ?? '', error: m.error ?? '', epoch: epochOf('RegisterAgentResponse', m.epoch),
  };
}

export function encodeHeartbeatReply(r: HeartbeatReply): Uint8Array {
  return pb.HeartbeatResponse.encode({ reregister: r.reregister, masterId: r.masterId, error: r.error ?? '', epoch: r.epoch ?? 0 }).finish();
}

export function decodeHeartbeatReply(bytes: Uint8Array): HeartbeatReply {
  const m = decodeAs(pb.HeartbeatResponse, 'HeartbeatResponse', bytes);
  return { reregister: !!m.reregister, masterId: m.masterId ?? '', error: m.error ?? '', epoch: epochOf('HeartbeatResponse', m.epoch) };
}

export function encodeRunTask(r: RunTask): Uint8Array {
  return pb.RunTaskMessage.encode({
    frameworkId: r.frameworkId, frameworkInfo: frameworkInfoToWire(r.frameworkInfo), task: taskInfoToWire(r.task), epoch: r.epoch ?? 0,
  }).finish();
}

export function decodeRunTask(bytes: Uint8Array): RunTask {
  const m = decodeAs(pb.RunTaskMessage, 'RunTaskMessage', bytes);
  if (!m.task) throw new WireError('RunTaskMessage without a task');
  return {
    frameworkId: m.frameworkId ?? '', frameworkInfo: frameworkInfoFromWire(m.frameworkInfo), task: taskInfoFromWire(m.task),
    epoch: epochOf('RunTaskMessage', m.epoch),
  };
}

export function encodeKillTask(k: KillTask): Uint8Array {
  return pb.KillTaskMessage.encode({ frameworkId: k.frameworkId, taskId: k.taskId, killPolicy: killPolicyToWire(k.killPolicy), epoch: k.epoch ?? 0 }).finish();
}

export function decodeKillTask(bytes: Uint8Array): KillTask {
  const m = decodeAs(pb.KillTaskMessage, 'KillTaskMessage', bytes);
  return { frameworkId: m.frameworkId ?? '', taskId: m.taskId ?? '', killPolicy: killPolicyFromWire(m.killPolicy), epoch: epochOf('KillTaskMessage', m.epoch) };
}

export function encodeStatusAck(a: StatusAck): Uint8Array {
  return pb.StatusUpdateAck.encode({ frameworkId: a.frameworkId, taskId: a.taskId, uuid: a.uuid, epoch: a.epoch ?? 0 }).finish();
}

export function decodeStatusAck(bytes: Uint8Array): StatusAck {
  const m = decodeAs(pb.StatusUpdateAck, 'StatusUpdateAck', bytes);
  return { frameworkId: m.frameworkId ?? '', taskId: m.taskId ?? '', uuid: m.uuid ?? '', epoch: epochOf('StatusUpdateAck', m.epoch) };
}

/**
 * A master's epoch as a number: 0 when absent (an older master). One past 2^53 cannot be held
 * exactly, so no two epochs could be told apart: a WireError, not a silently rounded epoch.
 */
function epochOf(message: string, v: number | { toNumber(): number } | null | undefined): number {
  const n = typeof v === 'number' ? v : v ? v.toNumber() : 0;
  if (!Number.isSafeInteger(n) || n < 0) throw new WireError(`malformed ${message}: epoch ${String(v)} is not an integer in 0..2^53-1`);
  return n;
}

/** A task the master asks an agent about: which framework's, which task. */
export interface AgentTaskRef { frameworkId: string; taskId: string }

export function encodeReconcileTasks(tasks: readonly AgentTaskRef[], epoch = 0): Uint8Array {
  return pb.ReconcileTasksMessage.encode({ tasks: tasks.map((t) => ({ frameworkId: t.frameworkId, taskId: t.taskId })), epoch }).finish();
}

export function decodeReconcileTasks(bytes: Uint8Array): { tasks: AgentTaskRef[]; epoch: number } {
  const m = decodeAs(pb.ReconcileTasksMessage, 'ReconcileTasksMessage', bytes);
  return { tasks: (m.tasks ?? []).map((t) => ({ frameworkId: t.frameworkId ?? '', taskId: t.taskId ?? '' })), epoch: epochOf('ReconcileTasksMessage', m.epoch) };
}
