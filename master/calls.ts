/**
 * What frameworks and agents ask of the master, as plain domain values. The shells decode
 * wire messages into these (through common/codec.ts) and hand them to the core.
 */
import type { AgentUsage, Heartbeat, HeartbeatReply, RegisterRequest, StatusUpdate } from '../common/agent-messages';
import type { Principal } from '../common/security/credentials';
import type { ClusterAgent, Filters, FrameworkInfo, KillPolicy, Operation } from '../common/types';
import type { FrameworkStream } from './ports';

/** Every scheduler call but Subscribe names the framework and its live stream. */
export interface CallBase {
  frameworkId: string;
  streamId: string;
  /**
   * Who made the call, as the gRPC door authenticated it; absent on a master run without
   * security. A framework's calls must come from the principal that subscribed it.
   */
  principal?: Principal;
}

export interface AcceptCall extends CallBase {
  offerIds: string[];
  operations: Operation[];
  filters: Filters;
}

export interface DeclineCall extends CallBase {
  offerIds: string[];
  filters: Filters;
  /** Why, in the framework's words, for the offer log; absent or blank: 'declined by framework'. */
  reason?: string;
}

/** Revive and Suppress: no roles means all of the framework's roles. */
export interface RolesCall extends CallBase {
  roles: string[];
}

export interface KillCall extends CallBase {
  taskId: string;
  agentId: string;
  killPolicy?: KillPolicy;
}

export interface AcknowledgeCall extends CallBase {
  agentId: string;
  taskId: string;
  uuid: string;
}

export interface ReconcileCall extends CallBase {
  /** Empty: implicit reconciliation of every non-terminal task of the framework. */
  tasks: { taskId: string; agentId: string }[];
}

export interface MessageCall extends CallBase {
  agentId: string;
  taskId: string;
  data: Uint8Array;
}

export interface UpdateFrameworkCall extends CallBase {
  frameworkInfo: FrameworkInfo;
}

export interface Subscription {
  frameworkId: string;
  streamId: string;
}

/** agentInfo.id set: a known agent re-registers and reports the tasks it runs. */
export type RegisterAgentCall = RegisterRequest;

export interface RegisterAgentResult {
  agentId: string;
  heartbeatIntervalMs: number;
  masterId: string;
}

/** `degradedReason` set: the agent takes no launches now, and says why. */
export type HeartbeatCall = Pick<Heartbeat, 'agentId' | 'degradedReason'>;

export type HeartbeatResult = HeartbeatReply;

export type StatusUpdateCall = StatusUpdate;

export type AgentUsageCall = AgentUsage;

/**
 * What the gRPC shell needs of the master. Each call either succeeds or throws a CallError
 * and changes nothing; `disconnect` is how the shell reports a stream that went away.
 */
export interface SchedulerApi {
  /** Before `subscribe`: a framework the master does not know is stored first, or refused; the info to subscribe with. */
  admitFramework(info: FrameworkInfo, principal?: Principal): Promise<FrameworkInfo>;
  /** `admitted`: `admitFramework` stored the record just now, so it is not written again. */
  subscribe(info: FrameworkInfo, stream: FrameworkStream, principal?: Principal, admitted?: boolean): Subscription;
  disconnect(frameworkId: string, streamId: string): void;
  accept(call: AcceptCall): void;
  decline(call: DeclineCall): void;
  revive(call: RolesCall): void;
  suppress(call: RolesCall): void;
  kill(call: KillCall): void;
  acknowledge(call: AcknowledgeCall): void;
  reconcile(call: ReconcileCall): void;
  message(call: MessageCall): void;
  teardown(call: CallBase): Promise<void>;
  updateFramework(call: UpdateFrameworkCall): void;
  getAgents(call: CallBase): ClusterAgent[];
}

/**
 * What the NATS shell needs of the master. `sender` is the owner the message's subject names,
 * which NATS's permissions tie to the credential that published it: the master refuses a
 * message about an agent that another owner registered.
 */
export interface AgentHandler {
  registerAgent(call: RegisterAgentCall, sender: string): Promise<RegisterAgentResult>;
  agentHeartbeat(call: HeartbeatCall, sender: string): HeartbeatResult;
  unregisterAgent(agentId: string, reason: string, sender: string): Promise<void>;
  statusUpdate(call: StatusUpdateCall, sender: string): void;
  agentUsage(call: AgentUsageCall, sender: string): void;
  /** The owner an agent registered as, for the subjects of the master's messages to it. */
  agentOwner(agentId: string): string;
}
