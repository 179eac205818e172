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
import {
  containsNormalized, normalize, scalarResource, UNRESERVED, usableBy, type Range, type Resource, type Resources,
} from '../../common/resources';
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
  /**
   * Live filters by role, then agent: two lookups per agent and role, on strings the snapshot
   * already holds (their hashes are cached), with no key to build.
   */
  readonly filters: FilterIndex;
  readonly minimums: readonly Minimum[];
}

type FilterIndex = ReadonlyMap<string, ReadonlyMap<string, FiltersHere>>;

/**
 * One agent's live filters for one role. Most agents have a few, kept in a list (cheaper to
 * build than a map, which matters when every agent has some); past `BY_FRAMEWORK_AT` they are
 * grouped by framework, so a walk past many frameworks never rescans the list.
 */
type FiltersHere = OfferFilter[] | Map<string, OfferFilter[]>;
const BY_FRAMEWORK_AT = 8;

/** One set of minimum quantities (scalar amount, number of ports, number of items) by name. */
type Minimum = readonly { readonly name: string; readonly need: number }[];

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
    if (seen.has(fw.id)) assert.fail(`framework '${fw.id}' appears twice in the allocation snapshot`);
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
    if (ids.has(a.id)) assert.fail(`agent '${a.id}' appears twice in the allocation snapshot`);
    ids.add(a.id);
    for (let i = 0; i < a.total.length; i++) {
      const r = a.total[i] as Resource;
      if (r.kind === 'scalar') sums.set(r.name, (sums.get(r.name) ?? 0) + r.value);
    }
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
    // The usual agent has nothing reserved: the offer took it all, and there is no copy to make.
    if (decision.resources.length === remaining.length) return;
    remaining = remaining.filter((r) => r.role !== UNRESERVED && r.role !== decision.role);
  }
}

/** The first (role, framework) in sorter order that may take what is left on the agent. */
function nextDecision(cycle: Cycle, agentId: string, remaining: Resources): OfferDecision | undefined {
  // With nothing unreserved left, only roles holding a reservation here can get anything.
  const reserved = reservationRoles(remaining);
  for (const role of cycle.roles.ordered()) {
    if (reserved !== undefined && reserved !== null && !reserved.has(role)) continue;
    const usable = reserved === null ? remaining : usableBy(remaining, role);
    if (!isAllocatable(usable, cycle.minimums)) continue;
    const filtersHere = cycle.filters.get(role)?.get(agentId);
    for (const frameworkId of (cycle.frameworksOf.get(role) as Sorter).ordered()) {
      if (filtersHere && isFiltered(filtersHere, frameworkId, usable)) continue;
      return { frameworkId, agentId, role, resources: usable };
    }
  }
  return undefined;
}

/**
 * Which roles can use `rs`: null when every entry is unreserved (anyone can, the usual case,
 * found without allocating), undefined when some are unreserved (anyone can use those), else
 * the set of roles holding the reservations.
 */
function reservationRoles(rs: Resources): ReadonlySet<string> | null | undefined {
  let allUnreserved = true;
  for (let i = 0; i < rs.length; i++) {
    if ((rs[i] as Resource).role === UNRESERVED) continue;
    allUnreserved = false;
    break;
  }
  if (allUnreserved) return null;
  if (rs.some((r) => r.role === UNRESERVED)) return undefined;
  return new Set(rs.map((r) => r.role));
}

function liveFilters(filters: readonly OfferFilter[], now: number): FilterIndex {
  const out = new Map<string, Map<string, FiltersHere>>();
  for (const f of filters) {
    if (f.expiresAt <= now) continue;
    const live = f;
    let byAgent = out.get(f.role);
    if (!byAgent) out.set(f.role, byAgent = new Map());
    const here = byAgent.get(f.agentId);
    if (here === undefined) byAgent.set(f.agentId, [live]);
    else if (!Array.isArray(here)) addTo(here, live);
    else if (here.length < BY_FRAMEWORK_AT) here.push(live);
    else {
      const grouped = new Map<string, OfferFilter[]>();
      for (const g of here) addTo(grouped, g);
      addTo(grouped, live);
      byAgent.set(f.agentId, grouped);
    }
  }
  return out;
}

function addTo(byFramework: Map<string, OfferFilter[]>, f: OfferFilter): void {
  const list = byFramework.get(f.frameworkId);
  if (list) list.push(f);
  else byFramework.set(f.frameworkId, [f]);
}

/**
 * A decline filter blocks an offer it covers: the framework said "not this, or anything
 * smaller, until then". A larger offer (say, after a task ended) gets through, as in Mesos.
 * Both sides are normalized already (filters in `liveFilters`, offers are slices of the
 * agent's normalized free resources).
 */
function isFiltered(here: FiltersHere, frameworkId: string, offer: Resources): boolean {
  const grouped = !Array.isArray(here);
  const list = grouped ? here.get(frameworkId) : here;
  if (list === undefined) return false;
  for (let i = 0; i < list.length; i++) {
    const f = list[i] as OfferFilter;
    if ((grouped || f.frameworkId === frameworkId) && containsNormalized(normalize(f.resources), offer)) return true;
  }
  return false;
}

function quantity(r: Resource): number {
  switch (r.kind) {
    case 'scalar': return r.value;
    case 'ranges': {
      let n = 0;
      for (let i = 0; i < r.ranges.length; i++) {
        const [b, e] = r.ranges[i] as Range;
        n += e - b + 1;
      }
      return n;
    }
    case 'set': return r.items.length;
  }
}

function minimum(rs: Resources): Minimum {
  const out = new Map<string, number>();
  for (const r of rs) out.set(r.name, (out.get(r.name) ?? 0) + quantity(r));
  return [...out].map(([name, need]) => ({ name, need }));
}

/**
 * Worth offering when non-empty and at least one minimum set fits, compared by quantity
 * whatever the reservation role (`cpus(prod):1` meets `cpus:0.01`). No minimums: anything.
 * Runs once per agent and role, so it sums in place rather than building a map.
 */
function isAllocatable(rs: Resources, minimums: readonly Minimum[]): boolean {
  if (rs.length === 0) return false;
  if (minimums.length === 0) return true;
  for (let m = 0; m < minimums.length; m++) if (meets(rs, minimums[m] as Minimum)) return true;
  return false;
}

function meets(rs: Resources, min: Minimum): boolean {
  for (let k = 0; k < min.length; k++) {
    const { name, need } = min[k] as Minimum[number];
    let have = 0;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i] as Resource;
      if (r.name === name) have += quantity(r);
    }
    if (have < need) return false;
  }
  return true;
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
