/**
 * The DRF sorter alone: how much one share change costs when the order is kept sorted
 * incrementally, against 1k and 10k clients. This is the operation whose cost (a full re-sort
 * per decision) dominated Mesos's allocation cycle before MESOS-9249.
 */
import { seededRandom } from '../common/clock';
import { parse } from '../common/resources';
import { DrfSorter } from '../master/allocator';
import { round, time, type Bench, type Measurement } from './harness';

const UPDATES = 100_000;

function updates(clients: number): Measurement {
  const random = seededRandom(9249);
  const ids = Array.from({ length: clients }, (_, i) => `client-${String(i).padStart(5, '0')}`);
  const task = parse('cpus:1;mem:128');
  // Which client each update charges: drawn up front so only the sorter is timed.
  const picks = Array.from({ length: UPDATES }, () => ids[Math.floor(random.next() * clients)] as string);
  const run = (): number => {
    const sorter = new DrfSorter({ total: parse(`cpus:${clients * 24};mem:${clients * 4096}`), random });
    for (const id of ids) sorter.add(id);
    for (const id of picks) sorter.allocated(id, task);
    return sorter.sort().length;
  };
  const { samplesMs, medianMs } = time(run, 5);
  return {
    bench: 'sorter', case: `DRF sorter, ${UPDATES / 1000}k share changes over ${clients / 1000}k clients`,
    params: { clients, updates: UPDATES }, runs: 5, samplesMs: samplesMs.map((x) => round(x, 2)),
    medianMs: round(medianMs, 2), ops: UPDATES, opsLabel: 'share changes', opsPerSec: Math.round(UPDATES / (medianMs / 1000)),
    published: [],
  };
}

export const sorterBench: Bench = {
  name: 'sorter',
  description: `a fresh DRF sorter, its clients added, then ${UPDATES / 1000}k allocations each charged to a `
    + 'random client (re-positioning it in the order); median of 5 timed runs after three warm-ups',
  run: () => [updates(1000), updates(10000)],
};
