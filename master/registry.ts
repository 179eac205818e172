/**
 * The registry: what a master that takes over must know. Admitted agents, so it expects them
 * back; and — unlike Mesos, which keeps frameworks in memory only (MESOS-4659) — frameworks
 * with their failover deadlines, so a framework's failover timeout survives a master restart.
 * Agents an operator marked gone are kept too, so no master lets them back in, and the
 * role weights operators set.
 * Narrow on purpose, so the in-memory store (Mesos `--registry=in_memory`, for `agora up`
 * and tests) can be swapped for Redis (`registry-redis.ts`).
 * Admission is awaited before an agent is told it is registered: an agent that believes it
 * is registered must be in the registry.
 */
import type { AgentInfo, FrameworkInfo } from '../common/types';

/** A framework as the registry keeps it: its info, and when it is removed if it stays away. */
export interface StoredFramework {
  info: FrameworkInfo;
  /** Epoch ms at which a disconnected framework is removed; null while it is connected. */
  failoverDeadlineMs: number | null;
}

/**
 * What the master needs to know of a registry's connection (common/redis.ts's RedisLink):
 * whether it is up, when that changes, and a failure put in words. An in-memory registry has none.
 */
export interface RegistryLink {
  /** "Redis at redis://host:port". */
  readonly where: string;
  now(): { available: boolean; why?: string; sinceMs: number };
  onChange(listener: (status: { available: boolean }) => void): () => void;
  /** `err` put in words when it says the registry cannot be reached or did not answer; undefined for any other error. */
  unavailable(what: string, err: unknown): (Error & { why: string }) | undefined;
}

export interface AgentRegistry {
  /** Its connection, when it has one that can go down. */
  readonly link?: RegistryLink;
  admit(agent: AgentInfo): Promise<void>;
  remove(agentId: string): Promise<void>;
  list(): Promise<AgentInfo[]>;
  saveFramework(info: FrameworkInfo, failoverDeadlineMs: number | null): Promise<void>;
  removeFramework(frameworkId: string): Promise<void>;
  listFrameworks(): Promise<StoredFramework[]>;
  /** Removes the agent and records it gone for good, in one write: it may never come back. */
  markGone(agentId: string): Promise<void>;
  listGone(): Promise<string[]>;
  /** Role weights set by operators, whole. */
  saveWeights(weights: Record<string, number>): Promise<void>;
  loadWeights(): Promise<Record<string, number>>;
  /** Releases connections; the registry answers nothing after. */
  close(): Promise<void>;
}

export class InMemoryRegistry implements AgentRegistry {
  private readonly agents = new Map<string, AgentInfo>();
  private readonly frameworks = new Map<string, StoredFramework>();
  private readonly gone = new Set<string>();
  private weights: Record<string, number> = {};

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

  saveFramework(info: FrameworkInfo, failoverDeadlineMs: number | null): Promise<void> {
    if (!info.id) return Promise.reject(new Error('cannot save a framework without an id'));
    this.frameworks.set(info.id, { info, failoverDeadlineMs });
    return Promise.resolve();
  }

  removeFramework(frameworkId: string): Promise<void> {
    this.frameworks.delete(frameworkId);
    return Promise.resolve();
  }

  listFrameworks(): Promise<StoredFramework[]> {
    return Promise.resolve([...this.frameworks.values()]);
  }

  markGone(agentId: string): Promise<void> {
    this.agents.delete(agentId);
    this.gone.add(agentId);
    return Promise.resolve();
  }

  listGone(): Promise<string[]> {
    return Promise.resolve([...this.gone]);
  }

  saveWeights(weights: Record<string, number>): Promise<void> {
    this.weights = { ...weights };
    return Promise.resolve();
  }

  loadWeights(): Promise<Record<string, number>> {
    return Promise.resolve({ ...this.weights });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
