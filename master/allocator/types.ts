/**
 * The allocator's view of the world: an immutable snapshot in, a list of offer decisions out.
 * Nothing here knows NATS, gRPC, Redis or the master; `allocate()` is a pure function of
 * (snapshot, now, random). The master builds a snapshot, calls it, and turns the decisions
 * into offers.
 */
import type { Resources } from '../../common/resources';

export interface AgentSnapshot {
  id: string;
  /** What is free on the agent now: total − used by tasks − held in outstanding offers. */
  available: Resources;
  /** The agent's whole capacity: the denominator of DRF shares. */
  total: Resources;
}

export interface FrameworkSnapshot {
  id: string;
  roles: readonly string[];
  /** Roles the framework has suppressed: it gets no offers for them until it revives. */
  suppressedRoles: ReadonlySet<string>;
  /** What the framework holds per role (running tasks and outstanding offers). */
  allocated: ReadonlyMap<string, Resources>;
  /** false while the framework is disconnected (failing over): no offers. */
  active: boolean;
}

/**
 * A decline filter: `frameworkId` refused `resources` on `agentId` for `role` until
 * `expiresAt`. It blocks an offer whose resources are a subset of the refused ones (Mesos).
 */
export interface OfferFilter {
  frameworkId: string;
  role: string;
  agentId: string;
  resources: Resources;
  expiresAt: number;
}

export interface AllocationSnapshot {
  agents: readonly AgentSnapshot[];
  frameworks: readonly FrameworkSnapshot[];
  /** Role weights; a role not listed weighs 1. A role's DRF share is divided by its weight. */
  weights: ReadonlyMap<string, number>;
  filters: readonly OfferFilter[];
  /**
   * Free resources smaller than every one of these (each a set of minimums, e.g.
   * `cpus:0.01` or `mem:32`) are not worth offering (Mesos `--min_allocatable_resources`).
   */
  minAllocatable: readonly Resources[];
}

/** One decision: offer these resources of this agent to this framework, for this role. */
export interface OfferDecision {
  frameworkId: string;
  agentId: string;
  role: string;
  /**
   * Everything on the agent the role may use (unreserved plus reserved for `role`), with the
   * reservation roles kept as they are in the agent's `available`, normalized.
   */
  resources: Resources;
}
