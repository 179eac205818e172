/**
 * The registry: the durable list of admitted agents, so that a master that takes over knows
 * which agents to expect back. Narrow on purpose — admit, remove, list — so the in-memory
 * store (Mesos `--registry=in_memory`, for `agora up` and tests) can be swapped for Redis.
 * Admission is awaited before an agent is told it is registered: an agent that believes it
 * is registered must be in the registry.
 */
import type { AgentInfo } from '../common/types';

export interface AgentRegistry {
  admit(agent: AgentInfo): Promise<void>;
  remove(agentId: string): Promise<void>;
  list(): Promise<AgentInfo[]>;
}

export class InMemoryRegistry implements AgentRegistry {
  private readonly agents = new Map<string, AgentInfo>();

  admit(agent: AgentInfo): Promise<void> {
    if (!agent.id) return Promise.reject(new Error('cannot admit an agent without an id'));
    this.agents.set(agent.id, agent);
    return Promise.resolve();
  }

  remove(agentId: string): Promise<void> {
    this.agents.delete(agentId);
    return Promise.resolve();
  }

  list(): Promise<AgentInfo[]> {
    return Promise.resolve([...this.agents.values()]);
  }
}
