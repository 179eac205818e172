/**
 * One allocation cycle: (snapshot, now, random) → offer decisions. Pure: no I/O, no clock,
 * no global randomness, every loop bounded by the size of the snapshot.
 *
 * Pipeline (see README.md): index the filters → build the role sorter and one framework
 * sorter per role from current allocations → shuffle agents → for each agent, walk roles in
 * sorter order and that role's frameworks in sorter order, and offer what the role may use to
 * the first framework that has not declined it → charge the offer to both sorters.
 */
import assert from 'node:assert/strict';
import type { Random } from '../../common/clock';
import { contains, normalize, scalarResource, UNRESERVED, type Resource, type Resources } from '../../common/resources';
import { drfSorter, type Sorter, type SorterFactory } from './sorter';
import type { AgentSnapshot, AllocationSnapshot, OfferDecision, OfferFilter } from './types';

export interface AllocatorOptions {
  /** Orders roles (Mesos `--role_sorter`). DRF by default. */
  roleSorter?: SorterFactory;
  /** Orders the frameworks within each role (Mesos `--framework_sorter`). DRF by default. */
  frameworkSorter?: SorterFactory;
  /**
   * Resource names left out of DRF shares (Mesos `--fair_sharing_excluded_resource_names`).
   * None by default: gpus count as soon as the cluster has any (see README.md).
   */
  fairSharingExcludedResourceNames?: readonly string[];
}

/** Everything a cycle reads while it walks the agents, built once per cycle. */
interface Cycle {
  readonly roles: Sorter;
  readonly frameworksOf: ReadonlyMap<string, Sorter>;
  /** Live filters by (role, agent), then by framework: one lookup per agent and role. */
  readonly filters: ReadonlyMap<string, ReadonlyMap<string, readonly OfferFilter[]>>;
  readonly minimums: readonly Minimum[];
}

/** One set of minimum quantities by name (scalar amount, number of ports, number of items). */
type Minimum = ReadonlyMap<string, number>;

export function allocate(
  snapshot: AllocationSnapshot,
  now: number,
  random: Random,
  options: AllocatorOptions = {},
): OfferDecision[] {
  const agents = shuffled(snapshot.agents, random);
  const cycle = prepare(snapshot, now, random, options);
  const decisions: OfferDecision[] = [];
  if (cycle.frameworksOf.size === 0) return decisions;
  for (const agent of agents) offerAgent(cycle, agent, decisions);
  return decisions;
}

function prepare(snapshot: AllocationSnapshot, now: number, random: Random, options: AllocatorOptions): Cycle {
  const context = { total: clusterTotal(snapshot.agents), random, excludedResourceNames: options.fairSharingExcludedResourceNames };
  const roles = (options.roleSorter ?? drfSorter)(context);
  const frameworksOf = new Map<string, Sorter>();

  // Only (framework, role) pairs that may receive offers enter the sorters: shares are
  // independent of one another, so leaving the others out changes no one's order.
  const seen = new Set<string>();
  for (const fw of snapshot.frameworks) {
    assert(!seen.has(fw.id), `framework '${fw.id}' appears twice in the allocation snapshot`);
    seen.add(fw.id);
    if (!fw.active) continue;
    for (const role of new Set(fw.roles)) {
      if (fw.suppressedRoles.has(role)) continue;
      let sorter = frameworksOf.get(role);
      if (!sorter) {
        sorter = (options.frameworkSorter ?? drfSorter)(context);
        frameworksOf.set(role, sorter);
        roles.add(role, snapshot.weights.get(role) ?? 1);
      }
      sorter.add(fw.id);
      const held = fw.allocated.get(role);
      if (held) sorter.allocated(fw.id, held);
    }
  }
  // A role's share counts every framework's holdings in it, offerable or not.
  for (const fw of snapshot.frameworks) {
    for (const [role, held] of fw.allocated) if (roles.has(role)) roles.allocated(role, held);
  }
  return { roles, frameworksOf, filters: liveFilters(snapshot.filters, now), minimums: snapshot.minAllocatable.map(minimum) };
}

/**
 * The cluster's scalar totals, summed once: every sorter's denominator. Ranges and sets never
 * make shares, so they are left out rather than merged across thousands of agents.
 */
function clusterTotal(agents: readonly AgentSnapshot[]): Resources {
  const sums = new Map<string, number>();
  const ids = new Set<string>();
  for (const a of agents) {
    assert(!ids.has(a.id), `agent '${a.id}' appears twice in the allocation snapshot`);
    ids.add(a.id);
    for (const r of a.total) if (r.kind === 'scalar') sums.set(r.name, (sums.get(r.name) ?? 0) + r.value);
  }
  return [...sums].map(([name, value]) => scalarResource(name, value));
}

/**
 * Offers one agent's free resources. Each offer takes everything the role may use (unreserved
 * plus its reservations), so what is left is only other roles' reservations, and the loop
 * ends after at most one offer per role.
 */
function offerAgent(cycle: Cycle, agent: AgentSnapshot, out: OfferDecision[]): void {
  let remaining = normalize(agent.available);
  const maxOffers = cycle.frameworksOf.size;
  for (let n = 0; n < maxOffers && remaining.length > 0; n++) {
    const decision = nextDecision(cycle, agent.id, remaining);
    if (!decision) return;
    out.push(decision);
    cycle.roles.allocated(decision.role, decision.resources);
    (cycle.frameworksOf.get(decision.role) as Sorter).allocated(decision.frameworkId, decision.resources);
    remaining = remaining.filter((r) => r.role !== UNRESERVED && r.role !== decision.role);
  }
}

/** The first (role, framework) in sorter order that may take what is left on the agent. */
function nextDecision(cycle: Cycle, agentId: string, remaining: Resources): OfferDecision | undefined {
  // With nothing unreserved left, only roles holding a reservation here can get anything.
  const hasUnreserved = remaining.some((r) => r.role === UNRESERVED);
  const reservedFor = hasUnreserved ? undefined : new Set(remaining.map((r) => r.role));
  for (const role of cycle.roles.ordered()) {
    if (reservedFor && !reservedFor.has(role)) continue;
    const usable = remaining.filter((r) => r.role === UNRESERVED || r.role === role);
    if (!isAllocatable(usable, cycle.minimums)) continue;
    const filtersHere = cycle.filters.get(filterKey(role, agentId));
    for (const frameworkId of (cycle.frameworksOf.get(role) as Sorter).ordered()) {
      if (filtersHere && isFiltered(filtersHere.get(frameworkId), usable)) continue;
      return { frameworkId, agentId, role, resources: usable };
    }
  }
  return undefined;
}

const filterKey = (role: string, agentId: string): string => `${role}\u0000${agentId}`;

function liveFilters(filters: readonly OfferFilter[], now: number): Map<string, Map<string, OfferFilter[]>> {
  const out = new Map<string, Map<string, OfferFilter[]>>();
  for (const f of filters) {
    if (f.expiresAt <= now) continue;
    const key = filterKey(f.role, f.agentId);
    let byFramework = out.get(key);
    if (!byFramework) out.set(key, byFramework = new Map());
    const list = byFramework.get(f.frameworkId);
    if (list) list.push(f);
    else byFramework.set(f.frameworkId, [f]);
  }
  return out;
}

/**
 * A decline filter blocks an offer it covers: the framework said "not this, or anything
 * smaller, until then". A larger offer (say, after a task ended) gets through, as in Mesos.
 */
function isFiltered(list: readonly OfferFilter[] | undefined, offer: Resources): boolean {
  return list !== undefined && list.some((f) => contains(f.resources, offer));
}

function quantity(r: Resource): number {
  switch (r.kind) {
    case 'scalar': return r.value;
    case 'ranges': return r.ranges.reduce((n, [b, e]) => n + e - b + 1, 0);
    case 'set': return r.items.length;
  }
}

function minimum(rs: Resources): Minimum {
  const out = new Map<string, number>();
  for (const r of rs) out.set(r.name, (out.get(r.name) ?? 0) + quantity(r));
  return out;
}

/**
 * Worth offering when non-empty and at least one minimum set fits, compared by quantity
 * whatever the reservation role (`cpus(prod):1` meets `cpus:0.01`). No minimums: anything.
 */
function isAllocatable(rs: Resources, minimums: readonly Minimum[]): boolean {
  if (rs.length === 0) return false;
  if (minimums.length === 0) return true;
  const have = minimum(rs);
  return minimums.some((m) => {
    for (const [name, need] of m) if ((have.get(name) ?? 0) < need) return false;
    return true;
  });
}

/** Fisher–Yates on a copy: the order agents are visited in, so none is always served last. */
function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
