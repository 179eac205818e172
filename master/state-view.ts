/**
 * The operator's view of the master (`GET /api/v1/state`), computed from the state on demand.
 * Pure: the shapes are in common/operator-types.ts, shared with the CLI and the web UI.
 */
import { format, normalize, scalar, type Resources } from '../common/resources';
import type { AgentView, FrameworkView, MasterStateView, OfferView, ResourceView, TaskView } from '../common/operator-types';
import { isTerminal } from '../common/types';
import { usageOf } from './allocation';
import { agentStatus } from './agents';
import type { FrameworkRecord } from './frameworks';
import type { MasterState } from './state';
import type { TaskRecord } from './tasks';

/** How many ended tasks the view shows besides the live ones. */
const RECENT_COMPLETED = 100;

export function resourceView(rs: Resources): ResourceView {
  return { text: format(rs), cpus: scalar(rs, 'cpus'), mem: scalar(rs, 'mem'), disk: scalar(rs, 'disk'), gpus: scalar(rs, 'gpus') };
}

const sum = (maps: Map<string, Resources>): Resources => normalize([...maps.values()].flat());

const STATUS = { active: 'ACTIVE', recovering: 'RECOVERING', unreachable: 'UNREACHABLE' } as const;

export function agentView(s: MasterState, agentId: string): AgentView {
  const agent = s.agents.get(agentId);
  if (!agent) throw new Error(`agent ${agentId} vanished while rendering the state`);
  const usage = usageOf(s, agentId);
  return {
    id: agentId, hostname: agent.info.hostname, port: agent.info.port, attributes: { ...agent.info.attributes },
    registeredAt: agent.registeredAt, lastHeartbeatAt: agent.lastHeartbeatAt,
    status: STATUS[agentStatus(agent)],
    ...(agent.degradedReason !== undefined ? { degradedReason: agent.degradedReason } : {}),
    ...(agent.info.principal ? { principal: agent.info.principal } : {}),
    total: resourceView(usage.total), used: resourceView(usage.used), offered: resourceView(usage.offered), available: resourceView(usage.available),
  };
}

export function taskView({ task, updatedAt, statistics }: TaskRecord): TaskView {
  return {
    id: task.taskId, name: task.name, frameworkId: task.frameworkId, agentId: task.agentId, state: task.state,
    resources: resourceView(task.resources), reason: task.status?.reason ?? 'REASON_UNKNOWN', message: task.status?.message ?? '',
    exitCode: task.status?.exitCode, healthy: task.status?.healthy, updatedAt,
    ...(statistics ? { statistics: { ...statistics } } : {}),
  };
}

export function frameworkView(s: MasterState, f: FrameworkRecord): FrameworkView {
  return {
    id: f.info.id, name: f.info.name, roles: [...f.info.roles], principal: f.info.principal, connected: f.connection !== undefined,
    registeredAt: f.registeredAt, suppressedRoles: [...f.suppressedRoles].sort(),
    ...(f.info.webuiUrl ? { webuiUrl: f.info.webuiUrl } : {}),
    used: resourceView(sum(s.tasks.usedBy(f.info.id))), offered: resourceView(sum(s.offers.offeredTo(f.info.id))),
    taskCount: s.tasks.ofFramework(f.info.id).filter((r) => !isTerminal(r.task.state)).length,
  };
}

export function stateView(s: MasterState, startedAt: number): MasterStateView {
  const frameworks: FrameworkView[] = s.frameworks.all().map((f) => frameworkView(s, f));
  const offers: OfferView[] = s.offers.all().map(({ offer, offeredAt }) => ({
    id: offer.id, frameworkId: offer.frameworkId, agentId: offer.agentId, hostname: offer.hostname, role: offer.role,
    resources: resourceView(offer.resources), offeredAt,
  }));
  return {
    master: { ...s.info, startedAt },
    agents: s.agents.all().map((a) => agentView(s, a.info.id)),
    frameworks,
    tasks: [...s.tasks.all(), ...s.tasks.completed().slice(-RECENT_COMPLETED)].map(taskView),
    offers,
  };
}
