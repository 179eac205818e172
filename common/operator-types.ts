/**
 * The JSON the master serves to operators (`GET /api/v1/state`, `/state`) and the offer-log
 * events of `GET /api/v1/offers/events` (server-sent events, one JSON object per `data:`
 * line). The CLI and the web UI read exactly these shapes. Resources are rendered in the
 * agent flag syntax (`cpus:2;mem:1024;ports:[31000-32000]`) for people, and as totals for
 * machines.
 */
import type { ResourceStatistics, TaskState } from './types';

export interface ResourceView {
  text: string;                          // format(resources)
  cpus: number;
  mem: number;
  disk: number;
  gpus: number;
}

export interface AgentView {
  id: string;
  hostname: string;
  port: number;                          // the agent's HTTP port (sandbox files)
  attributes: Record<string, string>;
  registeredAt: number;                  // ms since the epoch
  lastHeartbeatAt: number;
  /** RECOVERING: known from the registry after a master took over, not registered with it yet. */
  status: 'ACTIVE' | 'RECOVERING' | 'UNREACHABLE';
  /**
   * Set while the agent takes no launches because its container engine does not answer (the
   * agent's words, e.g. "the container engine has not answered for 30 s …"): it is not offered.
   */
  degradedReason?: string;
  /** The agent credential it connected with, on a locked cluster. */
  principal?: string;
  total: ResourceView;
  used: ResourceView;                    // by tasks
  offered: ResourceView;                 // in outstanding offers
  available: ResourceView;               // total − used − offered
}

export interface FrameworkView {
  id: string;
  name: string;
  roles: string[];
  principal: string;
  connected: boolean;
  registeredAt: number;
  suppressedRoles: string[];
  /** Where the framework serves its web UI, as it said when it subscribed. */
  webuiUrl?: string;
  used: ResourceView;
  offered: ResourceView;
  taskCount: number;
}

export interface TaskView {
  id: string;
  name: string;
  frameworkId: string;
  agentId: string;
  state: TaskState;
  resources: ResourceView;
  reason: string;                        // of the latest status
  message: string;
  exitCode?: number;
  healthy?: boolean;
  updatedAt: number;
  /** A live task's newest usage as its agent reported it (every few seconds); absent once it ended. */
  statistics?: ResourceStatistics;
}

export interface OfferView {
  id: string;
  frameworkId: string;
  agentId: string;
  hostname: string;
  role: string;
  resources: ResourceView;
  offeredAt: number;
}

export interface MasterStateView {
  master: { id: string; hostname: string; httpPort: number; grpcPort: number; version: string; startedAt: number };
  agents: AgentView[];
  frameworks: FrameworkView[];
  tasks: TaskView[];                     // non-terminal tasks and the most recent terminal ones
  offers: OfferView[];
  /**
   * The id (`<epoch>:<n>`) of the newest operator event this state includes: pass it as
   * `?lastEventId=` to /api/v1/events to follow on from exactly here.
   */
  eventId?: string;
}

/**
 * One line of the offer log: what was offered to whom, and what became of it. Every line
 * names the offer's role, so the log can be filtered by role without pairing lines. An offer
 * ends exactly once: ACCEPTED, DECLINED, RESCINDED (the master took it back) or EXPIRED (it
 * was not answered within the master's offer timeout).
 */
export type OfferLogEvent =
  | { type: 'OFFERED'; at: number; offerId: string; frameworkId: string; agentId: string; role: string; resources: string }
  | { type: 'ACCEPTED'; at: number; offerId: string; frameworkId: string; agentId: string; role: string; resources: string; taskIds: string[]; unused: string }
  | { type: 'DECLINED'; at: number; offerId: string; frameworkId: string; agentId: string; role: string; resources: string; refuseMs: number; reason: string }
  | { type: 'RESCINDED'; at: number; offerId: string; frameworkId: string; agentId: string; role: string; resources: string; reason: string }
  | { type: 'EXPIRED'; at: number; offerId: string; frameworkId: string; agentId: string; role: string; resources: string; timeoutMs: number };

export type OfferLogKind = OfferLogEvent['type'];
export const OFFER_LOG_KINDS: readonly OfferLogKind[] = ['OFFERED', 'ACCEPTED', 'DECLINED', 'RESCINDED', 'EXPIRED'];

/** An offer-log event with its position in the log: the JetStream sequence, or the ring's own when degraded. */
export type OfferLogEntry = OfferLogEvent & { seq: number };

/** Where an answer was read from: the durable JetStream stream, or the master's in-memory ring. */
export type OfferLogSource = 'jetstream' | 'ring';

/** `GET /api/v1/offers`: entries oldest first; `next` is the cursor of the following page, null at the end. */
export interface OfferLogPage {
  source: OfferLogSource;
  entries: OfferLogEntry[];
  next: string | null;
}

/** One framework's line of `GET /api/v1/offers/summary`. */
export interface FrameworkOfferSummary {
  frameworkId: string;
  offered: number;
  accepted: number;
  declined: number;
  /** The most frequent decline reasons, most frequent first (at most 5). */
  declineReasons: { reason: string; count: number }[];
  rescinded: number;
  expired: number;
  /** Mean ms from OFFERED to the offer's end, over the ended offers whose OFFERED line was read; null if none. */
  meanHeldMs: number | null;
}

export interface OfferLogSummary {
  source: OfferLogSource;
  /** True when the scan stopped at its bound before the end of the log. */
  truncated: boolean;
  frameworks: FrameworkOfferSummary[];
}

/**
 * The operator event stream (`GET /api/v1/events`, server-sent events), after Mesos's
 * operator API SUBSCRIBE: what changed in the master, one event per change. A client reads
 * `/api/v1/state`, then applies these on top. Task, agent and framework events carry the
 * same views `/api/v1/state` serves, so a client upserts them by id.
 */
export type OperatorChange =
  | { type: 'TASK_ADDED'; task: TaskView }
  /** A new status was applied: a new state, a new message, or a health change. */
  | { type: 'TASK_UPDATED'; task: TaskView }
  | { type: 'AGENT_ADDED'; agent: AgentView }
  /** It re-registered, or became unreachable (`agent.status`). */
  | { type: 'AGENT_UPDATED'; agent: AgentView }
  | { type: 'AGENT_REMOVED'; agentId: string; reason: string }
  | { type: 'FRAMEWORK_ADDED'; framework: FrameworkView }
  /** It failed over, disconnected, or changed its name, roles or failover timeout. */
  | { type: 'FRAMEWORK_UPDATED'; framework: FrameworkView }
  | { type: 'FRAMEWORK_REMOVED'; frameworkId: string; name: string; reason: string }
  /** Every offer-log event, as `GET /api/v1/offers/events` serves it; `kind` is its type. */
  | { type: 'OFFER'; kind: OfferLogEvent['type']; offer: OfferLogEvent };

/** A journaled change: `id` grows by 1 per event of one master; `at` is ms since the epoch. */
export type OperatorEvent = OperatorChange & { id: number; at: number };

export type OperatorEventType = OperatorChange['type'];

/**
 * Events of one connection, never journaled (they carry no `id:` line, so they do not move a
 * client's Last-Event-ID). SUBSCRIBED comes first: the journal's newest id when the
 * connection opened (`lastId`, 0 if none yet), and `epoch`, which names this master's
 * journal (ids restart with a new master). RESYNC: the events after the client's
 * Last-Event-ID are no longer kept (or came from another master): re-read `/api/v1/state`.
 */
export type OperatorControlEvent =
  | { type: 'SUBSCRIBED'; epoch: string; lastId: number; heartbeatIntervalMs: number }
  | { type: 'RESYNC'; epoch: string; lastId: number; reason: string }
  | { type: 'HEARTBEAT'; at: number };

export const OPERATOR_EVENT_TYPES: readonly OperatorEventType[] = [
  'TASK_ADDED', 'TASK_UPDATED', 'AGENT_ADDED', 'AGENT_UPDATED', 'AGENT_REMOVED',
  'FRAMEWORK_ADDED', 'FRAMEWORK_UPDATED', 'FRAMEWORK_REMOVED', 'OFFER',
];
