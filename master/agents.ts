/**
 * The agent table: agents the master admitted, with their whole capacity. What an agent has
 * free is derived, never stored: total − used by non-terminal tasks − held in offers, so a
 * task ending or an offer leaving cannot leave a stale count behind.
 */
import assert from 'node:assert/strict';
import { add, contains, format, subtract, type Resources } from '../common/resources';
import type { AgentInfo } from '../common/types';

export interface AgentRecord {
  info: AgentInfo;
  readonly registeredAt: number;
  lastHeartbeatAt: number;
  version: string;
  /** Set while the agent is silent past its allowed heartbeats; cleared when it registers again. */
  unreachableSince?: number;
  /**
   * Set while the agent says it takes no launches (its container engine does not answer), in
   * its words; cleared by the first heartbeat or registration without it.
   */
  degradedReason?: string;
  /**
   * Set on an agent recovered from the registry that has not registered with this master yet:
   * when its window to do so ends. The master does not know its tasks until it does.
   */
  recoveringUntil?: number;
}

/**
 * Where an agent stands with this master: `active` (registered and heard from), `recovering`
 * (known from the registry, not yet registered again), `unreachable` (silent too long).
 */
export type AgentStatus = 'active' | 'recovering' | 'unreachable';

export function agentStatus(agent: Pick<AgentRecord, 'unreachableSince' | 'recoveringUntil'>): AgentStatus {
  if (agent.unreachableSince !== undefined) return 'unreachable';
  return agent.recoveringUntil === undefined ? 'active' : 'recovering';
}

/**
 * Whether the allocator may offer an agent's resources: only an active one (nobody could
 * launch on an unreachable one, and a recovering one has not yet said which resources its tasks
 * hold) that is not degraded (it would refuse the launch).
 */
export function offerable(agent: Pick<AgentRecord, 'unreachableSince' | 'recoveringUntil' | 'degradedReason'>): boolean {
  return agentStatus(agent) === 'active' && agent.degradedReason === undefined;
}

export class AgentTable {
  private readonly byId = new Map<string, AgentRecord>();

  get(agentId: string): AgentRecord | undefined {
    return this.byId.get(agentId);
  }

  has(agentId: string): boolean {
    return this.byId.has(agentId);
  }

  set(record: AgentRecord): void {
    this.byId.set(record.info.id, record);
  }

  remove(agentId: string): void {
    this.byId.delete(agentId);
  }

  all(): AgentRecord[] {
    return [...this.byId.values()];
  }
}

/** An agent's resources split three ways. */
export interface AgentUsage {
  total: Resources;
  used: Resources;
  offered: Resources;
  available: Resources;
}

export function agentUsage(total: Resources, used: Resources, offered: Resources): AgentUsage {
  return { total, used, offered, available: subtract(subtract(total, used), offered) };
}

/**
 * The master's central promise: it never hands out more than an agent has. Called after
 * every change the master itself makes (offers created, tasks launched); a failure is a bug.
 */
export function assertNotOvercommitted(agentId: string, usage: AgentUsage): void {
  const held = add(usage.used, usage.offered);
  assert(contains(usage.total, held),
    `agent ${agentId} is over-committed: used ${format(usage.used)} + offered ${format(usage.offered)} exceeds total ${format(usage.total)}`);
}
