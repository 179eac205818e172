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
  status: 'ACTIVE' | 'UNREACHABLE';
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
}

/** One line of the offer log: what was offered to whom, and what became of it. */
export type OfferLogEvent =
  | { type: 'OFFERED'; at: number; offerId: string; frameworkId: string; agentId: string; role: string; resources: string }
  | { type: 'ACCEPTED'; at: number; offerId: string; frameworkId: string; agentId: string; resources: string; taskIds: string[]; unused: string }
  | { type: 'DECLINED'; at: number; offerId: string; frameworkId: string; agentId: string; resources: string; refuseMs: number; reason: string }
  | { type: 'RESCINDED'; at: number; offerId: string; frameworkId: string; agentId: string; resources: string; reason: string };
