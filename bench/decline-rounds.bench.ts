/**
 * Mesos's `HierarchicalAllocator_BENCHMARK_Test.DeclineOffers` shape, round by round.
 *
 * N agents of `cpus:24;mem:4096;disk:4096;ports:[31000-32000]`, M frameworks in role `*`
 * holding nothing. Round 0 is a fresh cycle with no filters. After each round every offer it
 * made is declined with a filter that outlasts the run (one hour past the bench's clock), and
 * the declined resources go back to the agent, so round k's snapshot is round 0's plus the
 * filters of rounds 0..k−1: the next cycle has to walk past them to another framework.
 *
 * Only `allocate()` is timed; building the snapshot and the filters is not.
 * At 20k agents the bench also measures the allocator's heap (see `memoryAt`).
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { seededRandom } from '../common/clock';
import { format, parse } from '../common/resources';
import { allocate } from '../master/allocator';
import type { AgentSnapshot, AllocationSnapshot, FrameworkSnapshot, OfferDecision, OfferFilter } from '../master/allocator';
import { round, time, type Bench, type Measurement, type MemoryFigure, type PublishedFigure } from './harness';

const AGENT = 'cpus:24;mem:4096;disk:4096;ports:[31000-32000]';
const NOW = 1_700_000_000_000;
/** Far longer than the run: every filter is live in every later round. */
const FILTER_MS = 60 * 60 * 1000;
const SEED = 20181008;
const MIN_ALLOCATABLE = [parse('cpus:0.01'), parse('mem:32')];
const ROUNDS = [0, 1, 2] as const;

export const CYCLE_SOURCE = 'Mesos blog "Performance Improvements in Mesos 1.7.0" (2018-10-08), allocation-cycle chart, '
  + 'Mesos 1.8.0 line, 1 role, no filters; values read off the chart; hardware not stated';

/** The grid, with Mesos 1.8.0's allocation cycle read off the 1.7.0 blog's chart, in ms. */
export const GRID: readonly { agents: number; frameworks: number; mesos18Ms: number }[] = [
  { agents: 1000, frameworks: 100, mesos18Ms: 100 },
  { agents: 5000, frameworks: 500, mesos18Ms: 400 },
  { agents: 10000, frameworks: 1000, mesos18Ms: 1100 },
  { agents: 20000, frameworks: 2000, mesos18Ms: 3800 },
];

/** The goal of the master issue: at least ten times faster than Mesos 1.8.0's published cycle. */
export const GOAL_FACTOR = 10;

const pad = (i: number, width: number): string => String(i).padStart(width, '0');
const k = (n: number): string => (n >= 1000 ? `${n / 1000}k` : String(n));
export const caseLabel = (agents: number, frameworks: number, r: number): string =>
  `decline rounds, ${k(agents)} agents / ${k(frameworks)} frameworks, round ${r}`;

/** Round 0's snapshot: every agent idle (its own Resources objects), every framework holding nothing. */
function freshCluster(agents: number, frameworks: number): AllocationSnapshot {
  const agentList: AgentSnapshot[] = Array.from({ length: agents }, (_, i) => ({
    id: `agent-${pad(i, 6)}`, available: parse(AGENT), total: parse(AGENT),
  }));
  const frameworkList: FrameworkSnapshot[] = Array.from({ length: frameworks }, (_, i) => ({
    id: `framework-${pad(i, 5)}`, roles: ['*'], suppressedRoles: new Set<string>(), allocated: new Map(), active: true,
  }));
  return { agents: agentList, frameworks: frameworkList, weights: new Map(), filters: [], minAllocatable: MIN_ALLOCATABLE };
}

const run = (snapshot: AllocationSnapshot): OfferDecision[] => allocate(snapshot, NOW, seededRandom(SEED));

/**
 * Every offer of `decisions` declined: a filter on exactly what was offered, live for the rest
 * of the run. The filter holds its own copy of the resources, as the master's does (a decision
 * shares the agent's array, and a filter that did too would be read from a warm cache).
 */
const declineAll = (decisions: readonly OfferDecision[]): OfferFilter[] => decisions.map((d) => ({
  frameworkId: d.frameworkId, role: d.role, agentId: d.agentId, resources: parse(format(d.resources)), expiresAt: NOW + FILTER_MS,
}));

/** Round 0, 1, 2 snapshots of one grid case: each adds the previous round's declines as filters. */
function roundSnapshots(agents: number, frameworks: number): AllocationSnapshot[] {
  const out: AllocationSnapshot[] = [freshCluster(agents, frameworks)];
  for (let r = 1; r < ROUNDS.length; r++) {
    const prev = out[r - 1] as AllocationSnapshot;
    out.push({ ...prev, filters: [...prev.filters, ...declineAll(run(prev))] });
  }
  return out;
}

const gc = (): boolean => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) return false;
  g();
  g();
  return true;
};

/**
 * The allocator's heap at one grid case's round 2, read from `process.memoryUsage().heapUsed`:
 *  - snapshot: retained by the round-2 snapshot (agents, frameworks, filters), GC before and after building it;
 *  - during allocate: heapUsed right after one `allocate()` returns minus right before, no GC forced
 *    between; garbage collections that ran inside the call are counted, and any make it a lower bound
 *    on what the call allocated;
 *  - result: retained by the call's decisions after a GC (what the master would keep).
 */
async function memoryAt(agents: number, frameworks: number): Promise<MemoryFigure> {
  let gcs = 0;
  const observer = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  const haveGc = gc();
  const base = process.memoryUsage().heapUsed;
  let snapshot: AllocationSnapshot | undefined = roundSnapshots(agents, frameworks)[2] as AllocationSnapshot;
  gc();
  const withSnapshot = process.memoryUsage().heapUsed;
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  const start = performance.now();
  let result: OfferDecision[] | undefined = run(snapshot);
  const ms = performance.now() - start;
  const after = process.memoryUsage().heapUsed;
  // GC entries reach the observer only after the call returns to the event loop.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  gc();
  const withResult = process.memoryUsage().heapUsed;
  const offers = result.length;
  const filters = snapshot.filters.length;
  snapshot = undefined;
  result = undefined;
  void snapshot;
  void result;
  const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);
  return {
    method: 'process.memoryUsage().heapUsed deltas on one Node thread; '
      + (haveGc ? 'global.gc() (node --expose-gc) run twice before each "retained" reading'
        : 'global.gc NOT available (run node with --expose-gc): "retained" readings include garbage'),
    exposeGc: haveGc,
    snapshotRetainedMiB: mb(withSnapshot - base),
    allocateHeapGrowthMiB: mb(after - before),
    gcsDuringAllocate: gcs,
    resultRetainedMiB: mb(withResult - withSnapshot),
    allocateMs: round(ms, 1),
    offers,
    filters,
  };
}

async function grid(): Promise<Measurement[]> {
  const out: Measurement[] = [];
  for (const { agents, frameworks, mesos18Ms } of GRID) {
    const snapshots = roundSnapshots(agents, frameworks);
    const published: PublishedFigure[] = [
      { label: 'Mesos 1.8.0 allocation cycle', ms: mesos18Ms, source: CYCLE_SOURCE },
    ];
    for (const r of ROUNDS) {
      const snapshot = snapshots[r] as AllocationSnapshot;
      const runs = agents >= 20000 ? 5 : 7;
      const { samplesMs, medianMs, last } = time(() => run(snapshot), runs, 2);
      out.push({
        bench: 'decline-rounds', case: caseLabel(agents, frameworks, r),
        params: { agents, frameworks, roles: 1, round: r, filters: snapshot.filters.length, goalMs: mesos18Ms / GOAL_FACTOR },
        runs, samplesMs: samplesMs.map((x) => round(x, 2)), medianMs: round(medianMs, 2),
        ops: last.length, opsLabel: 'offers', opsPerSec: Math.round(last.length / (medianMs / 1000)), published,
      });
    }
  }
  const last = GRID[GRID.length - 1] as (typeof GRID)[number];
  const memory = await memoryAt(last.agents, last.frameworks);
  out.push({
    bench: 'decline-rounds', case: `allocator memory, ${k(last.agents)} agents / ${k(last.frameworks)} frameworks, round 2`,
    params: { agents: last.agents, frameworks: last.frameworks, roles: 1, round: 2, filters: memory.filters },
    runs: 1, samplesMs: [memory.allocateMs], medianMs: memory.allocateMs,
    ops: memory.offers, opsLabel: 'offers', opsPerSec: Math.round(memory.offers / (memory.allocateMs / 1000)),
    published: [], memory,
  });
  return out;
}

export const declineRoundsBench: Bench = {
  name: 'decline-rounds',
  description: 'Mesos DeclineOffers shape over rounds 0, 1, 2: one allocate() on a prebuilt snapshot whose filters '
    + 'are every earlier round\'s offers declined for an hour; median of 7 timed runs (5 at 20k agents) after two warm-ups; '
    + 'plus the heap of the 20k-agent round-2 snapshot and of one allocate() on it',
  run: grid,
};
