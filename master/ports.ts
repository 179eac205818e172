/**
 * The master core's narrow seams to the outside. The core calls these and nothing else:
 * the NATS shell implements AgentPort, the gRPC shell FrameworkStream, the offer log
 * OfferLogSink. A test fakes any of them in a few lines.
 */
import type { OfferLogEvent } from '../common/operator-types';
import type { FrameworkInfo, KillPolicy, SchedulerEvent, TaskInfo } from '../common/types';

/** Launch one task on an agent. */
export interface RunTask {
  frameworkId: string;
  frameworkInfo: FrameworkInfo;
  task: TaskInfo;
}

/** Kill one task; the agent answers with a status update. */
export interface KillTask {
  frameworkId: string;
  taskId: string;
  killPolicy?: KillPolicy;
}

/** The framework acknowledged the update `uuid` of a task: the agent may stop resending it. */
export interface StatusAck {
  frameworkId: string;
  taskId: string;
  uuid: string;
}

/** Fire-and-forget messages to agents. */
export interface AgentPort {
  run(agentId: string, message: RunTask): void;
  kill(agentId: string, message: KillTask): void;
  ack(agentId: string, message: StatusAck): void;
}

/** The event stream of one framework subscription. */
export interface FrameworkStream {
  send(event: SchedulerEvent): void;
  /** Ends the stream from the master's side (failover by a newer subscription, teardown, stop). */
  close(): void;
}

export interface OfferLogSink {
  record(event: OfferLogEvent): void;
}
