/**
 * The domain types master, agent and frameworks share. Plain data, no wire objects: the
 * codecs in `codec.ts` convert from and to the protobuf types at the edge. Enum-like fields
 * are the proto enum names as strings, so they read the same in code, JSON and logs.
 */
import type { Resources } from './resources';

export const TASK_STATES = [
  'TASK_UNKNOWN', 'TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING',
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED',
  'TASK_UNREACHABLE', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
] as const;
/** Where a task is in its life, as Mesos names it (STAGING → STARTING → RUNNING → a terminal state). */
export type TaskState = (typeof TASK_STATES)[number];

const TERMINAL: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED',
  'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
]);

/** Terminal as Mesos's isTerminalState(): LOST counts as terminal, UNREACHABLE does not. */
export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

export type StatusSource = 'SOURCE_UNKNOWN' | 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';

export type StatusReason =
  | 'REASON_UNKNOWN' | 'REASON_COMMAND_EXECUTOR_FAILED' | 'REASON_CONTAINER_LAUNCH_FAILED'
  | 'REASON_CONTAINER_LIMITATION' | 'REASON_CONTAINER_LIMITATION_MEMORY' | 'REASON_CONTAINER_LIMITATION_DISK'
  | 'REASON_CONTAINER_PREEMPTED' | 'REASON_EXECUTOR_TERMINATED' | 'REASON_INVALID_OFFERS'
  | 'REASON_RESOURCES_UNKNOWN' | 'REASON_TASK_INVALID' | 'REASON_TASK_UNAUTHORIZED' | 'REASON_TASK_UNKNOWN'
  | 'REASON_TASK_KILLED_DURING_LAUNCH' | 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED'
  | 'REASON_AGENT_DISCONNECTED' | 'REASON_AGENT_REMOVED' | 'REASON_AGENT_RESTARTED' | 'REASON_AGENT_UNKNOWN'
  | 'REASON_AGENT_DRAINING' | 'REASON_FRAMEWORK_REMOVED' | 'REASON_RECONCILIATION'
  | 'REASON_MASTER_DISCONNECTED' | 'REASON_MAX_COMPLETION_TIME_REACHED' | 'REASON_GC_ERROR';

export type Capability =
  | 'PARTITION_AWARE' | 'TASK_KILLING_STATE' | 'MULTI_ROLE' | 'GPU_RESOURCES' | 'REVOCABLE_RESOURCES';

export interface AgentInfo {
  id: string;                       // '' before the master assigns one
  hostname: string;
  resources: Resources;
  attributes: Record<string, string>;
  port: number;
  /** The principal the agent authenticated as; set by the master from the NATS subject, never taken from the agent. */
  principal?: string;
}

/**
 * An agent as a framework sees it (the Scheduler's GetAgents): where it is — its hostname, and
 * `port`, the HTTP port of its sandbox files — what it has, and whether the master still hears
 * from it. No principal: which credential an agent holds is the operator's business.
 */
export interface ClusterAgent extends Omit<AgentInfo, 'principal'> {
  /** It stopped heartbeating; its tasks are TASK_UNREACHABLE until it is back or gone. */
  unreachable: boolean;
}

/** A framework as the master knows it: its name, id once subscribed, roles and failover timeout. */
export interface FrameworkInfo {
  id: string;                       // '' on a first subscription
  name: string;
  roles: string[];                  // never empty after decoding: defaults to ['*']
  failoverTimeoutMs: number;
  capabilities: Capability[];
  principal: string;
  user: string;
  hostname: string;
  labels: Record<string, string>;
  /** Where the framework serves its web UI (an http or https URL); the master's UI links it. */
  webuiUrl?: string;
}

export interface MasterInfo {
  id: string;
  hostname: string;
  httpPort: number;
  grpcPort: number;
  version: string;
}

/** Resources of one agent offered to one framework for one role; its id is good for one Accept or Decline. */
export interface Offer {
  id: string;
  frameworkId: string;
  agentId: string;
  hostname: string;
  resources: Resources;
  role: string;
  attributes: Record<string, string>;
}

/** How long declined or unused resources stay away from the framework on that agent. */
export interface Filters {
  refuseMs?: number;                // undefined: the default (5 s)
}

export interface CommandInfo {
  value: string;                    // shell form: `/bin/sh -c value`
  argv: string[];                   // exec form, when value is ''
  environment: Record<string, string>;
  user: string;                     // '' = the containerizer's default
  workingDirectory?: string;        // '' or undefined = the sandbox (Docker: the image's own)
  /**
   * Environment variables whose values are secret (Mesos's SECRET variables): in the task's
   * environment like `environment`, but never in any view, event, log line or record.
   */
  secrets?: Record<string, string>;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export type NetworkMode = 'HOST' | 'BRIDGE' | 'NONE';

/** A relative `hostPath` is inside the task's sandbox; an absolute one is on the agent's host. */
export interface Volume {
  containerPath: string;
  hostPath: string;
  mode: 'RW' | 'RO';
}

export interface ContainerInfo {
  type: 'DOCKER' | 'PROCESS' | 'DEFAULT';   // DEFAULT: the agent picks
  volumes?: Volume[];
  docker?: {
    image: string;
    network?: NetworkMode;
    portMappings: PortMapping[];
    forcePullImage: boolean;
  };
}

export interface HealthCheck {
  type: 'COMMAND' | 'HTTP' | 'TCP';
  delayMs: number;
  intervalMs: number;
  timeoutMs: number;
  consecutiveFailures: number;
  gracePeriodMs: number;
  command?: CommandInfo;
  port: number;
  path: string;
}

export interface KillPolicy {
  gracePeriodMs?: number;           // undefined: 3 s
}

/** A task to launch: what to run, where (agentId), with which resources and container. */
export interface TaskInfo {
  taskId: string;
  name: string;
  agentId: string;
  resources: Resources;
  command: CommandInfo;
  container: ContainerInfo;
  healthCheck?: HealthCheck;
  killPolicy?: KillPolicy;
  labels: Record<string, string>;
}

/** A task's state as reported to its framework, with why (reason, message) and from where (source). */
export interface TaskStatus {
  taskId: string;
  state: TaskState;
  message: string;
  source: StatusSource;
  reason: StatusReason;
  agentId: string;
  frameworkId: string;
  uuid: string;                     // '' for master-generated updates: those are not acknowledged
  timestampMs: number;
  healthy?: boolean;
  exitCode?: number;
  containerId: string;
}

export interface Task {
  taskId: string;
  name: string;
  frameworkId: string;
  agentId: string;
  state: TaskState;
  resources: Resources;
  status?: TaskStatus;
  info?: TaskInfo;
}

/**
 * What a running container uses, as its agent measured it (Mesos's ResourceStatistics).
 * Cumulative cpu times only grow while the container runs; `undefined` limits are unknown.
 * Counters the agent could not measure here are 0 (see proto/agora/v1/agora.proto).
 */
export interface ResourceStatistics {
  timestampMs: number;
  cpusUserTimeSecs: number;
  cpusSystemTimeSecs: number;
  cpusLimit?: number;
  memRssBytes: number;
  memTotalBytes: number;
  memLimitBytes?: number;
  cpusNrPeriods: number;
  cpusNrThrottled: number;
  cpusThrottledTimeSecs: number;
  processes: number;
}

/** One live task's latest statistics, in an agent's usage report. */
export interface TaskUsage {
  frameworkId: string;
  taskId: string;
  containerId: string;
  statistics: ResourceStatistics;
}

export type LaunchOperation = { type: 'LAUNCH'; id: string; tasks: TaskInfo[] };
export type Operation = LaunchOperation;

/** What the master sends a framework on its subscription stream, one discriminated union by `type`. */
export type SchedulerEvent =
  | { type: 'SUBSCRIBED'; frameworkId: string; streamId: string; heartbeatIntervalMs: number; master?: MasterInfo }
  | { type: 'OFFERS'; offers: Offer[] }
  | { type: 'RESCIND'; offerId: string }
  | { type: 'UPDATE'; status: TaskStatus }
  | { type: 'MESSAGE'; agentId: string; taskId: string; data: Uint8Array }
  | { type: 'FAILURE'; agentId: string; message: string }
  | { type: 'ERROR'; message: string }
  | { type: 'HEARTBEAT' };
