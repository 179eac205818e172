/**
 * Properties of one allocation cycle over random clusters: small ones, so that reservations,
 * filters, suppression and minimums collide often.
 */
import fc from 'fast-check';
import { seededRandom } from '../../common/clock';
import {
  contains, normalize, parse, rangesResource, scalarResource, setResource, subtract, UNRESERVED,
  type Resource, type Resources,
} from '../../common/resources';
import { allocate, randomSorter, type AllocatorOptions } from './index';
import type { AgentSnapshot, AllocationSnapshot, FrameworkSnapshot, OfferDecision, OfferFilter } from './types';

const NOW = 1_700_000_000_000;
const ROLES = ['*', 'dev', 'prod', 'ops'] as const;
const roleArb = fc.constantFrom(...ROLES);

const entryArb: fc.Arbitrary<Resource> = fc.oneof(
  fc.record({ name: fc.constantFrom('cpus', 'mem', 'gpus'), milli: fc.integer({ min: 0, max: 8000 }), role: roleArb })
    .map(({ name, milli, role }) => scalarResource(name, name === 'gpus' ? Math.round(milli / 1000) : milli / 1000, role)),
  fc.record({ begin: fc.integer({ min: 31000, max: 31050 }), len: fc.integer({ min: 0, max: 20 }), role: roleArb })
    .map(({ begin, len, role }) => rangesResource('ports', [[begin, begin + len]], role)),
  fc.record({ items: fc.subarray(['d1', 'd2', 'd3']), role: roleArb }).map(({ items, role }) => setResource('disks', items, role)),
);
const resourcesArb: fc.Arbitrary<Resources> = fc.array(entryArb, { maxLength: 6 }).map(normalize);

const agentsArb: fc.Arbitrary<AgentSnapshot[]> = fc.uniqueArray(
  fc.record({ id: fc.constantFrom('a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'), available: resourcesArb, used: resourcesArb }),
  { selector: (a) => a.id, maxLength: 8 },
).map((as) => as.map(({ id, available, used }) => ({ id, available, total: normalize([...available, ...used]) })));

const frameworksArb: fc.Arbitrary<FrameworkSnapshot[]> = fc.uniqueArray(
  fc.record({
    id: fc.constantFrom('f0', 'f1', 'f2', 'f3', 'f4', 'f5'),
    roles: fc.subarray([...ROLES], { minLength: 1 }),
    suppressed: fc.subarray([...ROLES]),
    allocated: fc.array(fc.tuple(roleArb, resourcesArb), { maxLength: 3 }),
    active: fc.integer({ min: 0, max: 4 }).map((n) => n > 0),
  }),
  { selector: (f) => f.id, maxLength: 6 },
).map((fs) => fs.map(({ id, roles, suppressed, allocated, active }) => ({
  id, roles, active, suppressedRoles: new Set(suppressed), allocated: new Map(allocated),
})));

/**
 * Filters that bite: mostly on agents and frameworks that exist, refusing exactly what the
 * agent has free (or all it has), sometimes on random resources; half of them expired.
 */
function filterArb(agents: AgentSnapshot[], frameworks: FrameworkSnapshot[]): fc.Arbitrary<OfferFilter> {
  const ids = (xs: { id: string }[], fallback: string) => (xs.length > 0 ? fc.constantFrom(...xs.map((x) => x.id)) : fc.constant(fallback));
  return fc.record({
    frameworkId: ids(frameworks, 'f0'),
    role: roleArb,
    agentId: ids(agents, 'a0'),
    pick: fc.constantFrom('available', 'total', 'random'),
    random: resourcesArb,
    expiresAt: fc.integer({ min: NOW - 10, max: NOW + 10 }),
  }).map(({ pick, random, ...f }) => {
    const agent = agents.find((a) => a.id === f.agentId);
    const resources = pick === 'random' || !agent ? random : pick === 'available' ? agent.available : agent.total;
    return { ...f, resources };
  });
}

const snapshotArb: fc.Arbitrary<AllocationSnapshot> = fc.record({ agents: agentsArb, frameworks: frameworksArb })
  .chain(({ agents, frameworks }) => fc.record({
    agents: fc.constant(agents),
    frameworks: fc.constant(frameworks),
    weights: fc.array(fc.tuple(roleArb, fc.constantFrom(0.5, 1, 2, 3)), { maxLength: 3 }).map((ws) => new Map(ws)),
    filters: fc.array(filterArb(agents, frameworks), { maxLength: 10 }),
    minAllocatable: fc.constantFrom([], [parse('cpus:0.01'), parse('mem:32')], [parse('cpus:1;mem:1')]),
  }));

const optionsArb: fc.Arbitrary<AllocatorOptions> = fc.constantFrom(
  {},
  { roleSorter: randomSorter, frameworkSorter: randomSorter },
  { fairSharingExcludedResourceNames: ['gpus'] },
);

const cycleArb = fc.record({ snapshot: snapshotArb, seed: fc.integer(), options: optionsArb });

const eligible = (fw: FrameworkSnapshot, role: string): boolean =>
  fw.active && fw.roles.includes(role) && !fw.suppressedRoles.has(role);

const filtered = (filters: readonly OfferFilter[], fw: string, role: string, agent: string, offer: Resources): boolean =>
  filters.some((f) => f.frameworkId === fw && f.role === role && f.agentId === agent && f.expiresAt > NOW
    && contains(f.resources, offer));

/** What a test means by "worth offering", written independently of the allocator's code. */
function allocatable(rs: Resources, minimums: readonly Resources[]): boolean {
  if (rs.length === 0) return false;
  const count = (xs: Resources, name: string): number => xs.filter((r) => r.name === name).reduce((n, r) =>
    n + (r.kind === 'scalar' ? r.value : r.kind === 'ranges' ? r.ranges.reduce((m, [b, e]) => m + e - b + 1, 0) : r.items.length), 0);
  return minimums.length === 0 || minimums.some((m) => m.every((r) => count(rs, r.name) >= count([r], r.name)));
}

const usable = (rs: Resources, role: string): Resources => rs.filter((r) => r.role === UNRESERVED || r.role === role);

/** The agent's free resources minus every offer made on it, checking each offer fits in turn. */
function leftAfter(agent: AgentSnapshot, decisions: OfferDecision[]): Resources | undefined {
  let left = normalize(agent.available);
  for (const d of decisions.filter((x) => x.agentId === agent.id)) {
    if (!contains(left, d.resources)) return undefined;
    left = subtract(left, d.resources);
  }
  return left;
}

const cycle = ({ snapshot, seed, options }: { snapshot: AllocationSnapshot; seed: number; options: AllocatorOptions }) =>
  allocate(snapshot, NOW, seededRandom(seed), options);

describe('allocate: properties over random clusters', () => {
  it('never offers more than an agent has free, nor the same resources twice in a cycle', () => {
    fc.assert(fc.property(cycleArb, (c) => {
      const decisions = cycle(c);
      return c.snapshot.agents.every((a) => leftAfter(a, decisions) !== undefined)
        && decisions.every((d) => c.snapshot.agents.some((a) => a.id === d.agentId));
    }), { numRuns: 300 });
  });

  it('offers only to an active framework, for a role it subscribed to and did not suppress', () => {
    fc.assert(fc.property(cycleArb, (c) => cycle(c).every((d) => {
      const fw = c.snapshot.frameworks.find((f) => f.id === d.frameworkId);
      return fw !== undefined && eligible(fw, d.role);
    })), { numRuns: 300 });
  });

  it('offers only what the role may use, worth offering, and not filtered', () => {
    fc.assert(fc.property(cycleArb, (c) => cycle(c).every((d) =>
      d.resources.every((r) => r.role === UNRESERVED || r.role === d.role)
      && allocatable(d.resources, c.snapshot.minAllocatable)
      && !filtered(c.snapshot.filters, d.frameworkId, d.role, d.agentId, d.resources))), { numRuns: 300 });
  });

  it('offers at most once per (agent, role), and each offer takes all the role may use there', () => {
    fc.assert(fc.property(cycleArb, (c) => {
      const decisions = cycle(c);
      const keys = decisions.map((d) => `${d.agentId}/${d.role}`);
      return new Set(keys).size === keys.length;
    }), { numRuns: 300 });
  });

  it('is deterministic for a given seed', () => {
    fc.assert(fc.property(cycleArb, (c) => {
      expect(cycle(c)).toEqual(cycle(c));
    }), { numRuns: 200 });
  });

  it('leaves nothing on the table: no agent keeps resources an eligible, unfiltered framework could be offered', () => {
    fc.assert(fc.property(cycleArb, (c) => {
      const decisions = cycle(c);
      for (const agent of c.snapshot.agents) {
        const left = leftAfter(agent, decisions) ?? [];
        for (const fw of c.snapshot.frameworks) {
          for (const role of fw.roles) {
            if (!eligible(fw, role)) continue;
            const offer = usable(left, role);
            if (allocatable(offer, c.snapshot.minAllocatable) && !filtered(c.snapshot.filters, fw.id, role, agent.id, offer)) {
              throw new Error(`${agent.id} kept ${JSON.stringify(offer)} that ${fw.id}/${role} could take`);
            }
          }
        }
      }
    }), { numRuns: 300 });
  });

  it('spreads identical agents evenly: among frameworks with nothing, counts differ by at most one', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (nAgents, nFrameworks, seed) => {
      const snapshot: AllocationSnapshot = {
        agents: Array.from({ length: nAgents }, (_, i) => ({ id: `a${i}`, available: parse('cpus:4;mem:1024'), total: parse('cpus:4;mem:1024') })),
        frameworks: Array.from({ length: nFrameworks }, (_, i) => ({
          id: `f${i}`, roles: ['*'], suppressedRoles: new Set<string>(), allocated: new Map(), active: true,
        })),
        weights: new Map(), filters: [], minAllocatable: [],
      };
      const counts = new Map(snapshot.frameworks.map((f) => [f.id, 0]));
      for (const d of allocate(snapshot, NOW, seededRandom(seed))) counts.set(d.frameworkId, (counts.get(d.frameworkId) ?? 0) + 1);
      return Math.max(...counts.values()) - Math.min(...counts.values()) <= 1;
    }));
  });
});
