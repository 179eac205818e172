/**
 * The master core's narrow seams to the outside. The core calls these and nothing else:
 * the NATS shell implements AgentPort, the gRPC shell FrameworkStream, the offer log
 * OfferLogSink. A test fakes any of them in a few lines.
 */
import type { OfferLogEvent, OperatorChange } from '../common/operator-types';
import type { Action } from '../common/security/acl';
import type { Principal } from '../common/security/credentials';
import type { SchedulerEvent, TaskInfo } from '../common/types';

// The agent messages (run, kill, ack) are the protocol's own shapes, shared with the agent.
export type { AgentTaskRef, KillTask, RunTask, StatusAck } from '../common/agent-messages';
import type { AgentTaskRef, KillTask, RunTask, StatusAck } from '../common/agent-messages';

/** Fire-and-forget messages to agents. */
export interface AgentPort {
  run(agentId: string, message: RunTask): void;
  kill(agentId: string, message: KillTask): void;
  ack(agentId: string, message: StatusAck): void;
  /** Asks the agent about tasks whose run messages may have been lost (ReconcileTasksMessage). */
  reconcile(agentId: string, tasks: readonly AgentTaskRef[]): void;
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

/** Where the master tells operators what changed (operator-events.ts numbers and keeps it). */
export interface OperatorEventSink {
  record(change: OperatorChange): void;
}

/**
 * Whether a principal may do something (the ACLs behind it, common/security/acl.ts): returns,
 * or throws a CallError PERMISSION_DENIED that names the principal, the action, the object
 * and the rule. Called before any state moves.
 */
export interface Authorizer {
  check(action: Action, principal: Principal, object?: string): void;
  /** Why `principal` may not launch `task` (its user, privileges, host paths), or undefined. */
  launchRefusal(principal: Principal, task: TaskInfo): string | undefined;
}

/** A master run without security: every principal may do anything. */
export const allowAll: Authorizer = { check: () => undefined, launchRefusal: () => undefined };
