/**
 * One `allocate()` cycle on synthetic clusters shaped like Mesos's allocator benchmarks:
 * agents of `cpus:24;mem:4096;disk:4096;ports:[31000-32000]`, frameworks in role `*`.
 * Only the call to `allocate()` is timed; building the snapshot is not (in the master that
 * is the master's work, and Mesos's figures leave it out too).
 */
import { seededRandom } from '../common/clock';
import { parse, type Resources } from '../common/resources';
import { allocate, randomSorter, type AllocatorOptions } from '../master/allocator';
import type { AgentSnapshot, AllocationSnapshot, FrameworkSnapshot, OfferFilter } from '../master/allocator';
import { round, time, type Bench, type Measurement, type PublishedFigure } from './harness';

const AGENT = parse('cpus:24;mem:4096;disk:4096;ports:[31000-32000]');
const NOW = 1_700_000_000_000;
const SEED = 20181008;
const MIN_ALLOCATABLE = [parse('cpus:0.01'), parse('mem:32')];

const CYCLE_SOURCE = 'Mesos blog "Performance Improvements in Mesos 1.7.0" (2018-10-08), allocation-cycle chart, '
  + '1 role, no filters; values read off the chart; hardware not stated';
const DECLINE_SOURCE = 'Mesos commit 6ef0df93f (MESOS-9249, r/68808), HierarchicalAllocator_BENCHMARK_Test.DeclineOffers/21, '
  + '--enable-optimize; hardware not stated';

/** Mesos 1.8.0 and 1.6.0 allocation-cycle times by (agents, frameworks), in ms. */
const MESOS_CYCLE: Record<string, { v18: number; v16: number }> = {
  '1000/100': { v18: 100, v16: 200 },
  '5000/500': { v18: 400, v16: 1900 },
  '10000/1000': { v18: 1100, v16: 6300 },
  '20000/2000': { v18: 3800, v16: 23000 },
};

const pad = (i: number, width: number): string => String(i).padStart(width, '0');
const label = (agents: number, frameworks: number): string =>
  `${agents >= 1000 ? `${agents / 1000}k` : agents} agents / ${frameworks >= 1000 ? `${frameworks / 1000}k` : frameworks} frameworks`;

interface ClusterShape {
  agents: number;
  frameworks: number;
  /** Frameworks are spread over this many roles, `*` when 1. */
  roles?: number;
  /** Free resources per agent; the rest of AGENT is in use. */
  free?: Resources;
  /** What each framework already holds, in its role. */
  held?: (framework: number) => Resources;
}

function cluster(shape: ClusterShape): AllocationSnapshot {
  const roleOf = (i: number): string => (shape.roles && shape.roles > 1 ? `role-${pad(i % shape.roles, 4)}` : '*');
  const agents: AgentSnapshot[] = Array.from({ length: shape.agents }, (_, i) => ({
    id: `agent-${pad(i, 6)}`, available: shape.free ?? AGENT, total: AGENT,
  }));
  const frameworks: FrameworkSnapshot[] = Array.from({ length: shape.frameworks }, (_, i) => ({
    id: `framework-${pad(i, 5)}`,
    roles: [roleOf(i)],
    suppressedRoles: new Set<string>(),
    allocated: new Map(shape.held ? [[roleOf(i), shape.held(i)]] : []),
    active: true,
  }));
  const weights = new Map<string, number>();
  for (let r = 0; r < (shape.roles ?? 1); r++) weights.set(roleOf(r), 1 + (r % 4));
  return { agents, frameworks, weights, filters: [], minAllocatable: MIN_ALLOCATABLE };
}

function measure(
  bench: string, name: string, params: Record<string, number | string>, snapshot: AllocationSnapshot,
  runs: number, published: PublishedFigure[], options: AllocatorOptions = {},
): Measurement {
  const { samplesMs, medianMs, last } = time(() => allocate(snapshot, NOW, seededRandom(SEED), options), runs);
  return {
    bench, case: name, params, runs, samplesMs: samplesMs.map((x) => round(x, 2)), medianMs: round(medianMs, 2),
    ops: last.length, opsLabel: 'offers', opsPerSec: Math.round(last.length / (medianMs / 1000)), published,
  };
}

/** Mesos's 1.7/1.8 chart: one cycle over idle agents, one role, no filters. */
function cycleCases(): Measurement[] {
  return Object.entries(MESOS_CYCLE).map(([key, mesos]) => {
    const [agents, frameworks] = key.split('/').map(Number) as [number, number];
    return measure('allocator', `allocation cycle, ${label(agents, frameworks)}`, { agents, frameworks, roles: 1 },
      cluster({ agents, frameworks }), agents >= 20000 ? 5 : 9, [
        { label: 'Mesos 1.8.0 allocation cycle', ms: mesos.v18, source: CYCLE_SOURCE },
        { label: 'Mesos 1.6.0 allocation cycle', ms: mesos.v16, source: CYCLE_SOURCE },
      ]);
  });
}

/**
 * Mesos's DeclineOffers: 16 of each agent's 24 cpus held by frameworks round-robin; the first
 * cycle's offers are all declined with a filter that never expires; the next cycle is timed,
 * so each agent is first refused by one framework and goes to another.
 */
function declineCase(agents: number, frameworks: number, published: PublishedFigure[]): Measurement {
  const perFramework = Math.ceil(agents / frameworks) * 16;
  const snapshot = cluster({
    agents, frameworks,
    free: parse('cpus:8;mem:4096;disk:4096;ports:[31000-32000]'),
    held: () => parse(`cpus:${perFramework}`),
  });
  const filters: OfferFilter[] = allocate(snapshot, NOW, seededRandom(SEED)).map((d) => ({
    frameworkId: d.frameworkId, role: d.role, agentId: d.agentId, resources: d.resources, expiresAt: Number.POSITIVE_INFINITY,
  }));
  return measure('allocator', `decline offers, ${label(agents, frameworks)}`,
    { agents, frameworks, roles: 1, filtersPerAgent: 1 }, { ...snapshot, filters }, 9, published);
}

/** No published figure: the role sorter's path, with weights, and the random sorters. */
function otherCases(): Measurement[] {
  return [
    measure('allocator', 'allocation cycle, 10k agents / 1k frameworks in 100 weighted roles',
      { agents: 10000, frameworks: 1000, roles: 100 }, cluster({ agents: 10000, frameworks: 1000, roles: 100 }), 9, []),
    measure('allocator', 'allocation cycle, 10k agents / 1k frameworks, random sorters',
      { agents: 10000, frameworks: 1000, roles: 1, sorter: 'random' }, cluster({ agents: 10000, frameworks: 1000 }), 9, [],
      { roleSorter: randomSorter, frameworkSorter: randomSorter }),
  ];
}

export const allocatorBench: Bench = {
  name: 'allocator',
  description: 'one allocate() call on a prebuilt snapshot; median of 9 timed runs (5 at 20k agents) after three warm-ups',
  run: () => [
    ...cycleCases(),
    declineCase(2000, 200, [{
      label: 'Mesos 0.26–0.28 DeclineOffers', ms: 2870,
      source: 'MESOS-4694 (2.82–2.92 s, midpoint shown); fixed in Mesos 1.1.0; hardware not stated',
    }]),
    declineCase(10000, 1000, [
      { label: 'Mesos DeclineOffers after MESOS-9249', ms: 1060, source: DECLINE_SOURCE },
      { label: 'Mesos DeclineOffers before MESOS-9249', ms: 3180, source: DECLINE_SOURCE },
    ]),
    ...otherCases(),
  ],
};
