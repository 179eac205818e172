/**
 * The master's latency histogram alone: what one `observe` costs, since every launch, Accept
 * and status update makes one. Values spread over all buckets (+Inf included), drawn up front,
 * so only the bucket search and the three additions are timed.
 */
import { seededRandom } from '../common/clock';
import { Histogram, LATENCY_BUCKETS_SECONDS } from '../master/metrics-histogram';
import { round, time, type Bench, type Measurement } from './harness';

const OBSERVES = 1_000_000;

function observes(): Measurement {
  const random = seededRandom(404);
  // 0 to 12 s: past the highest bound (10 s), so the +Inf bucket is searched for too.
  const values = Float64Array.from({ length: 4096 }, () => random.next() * 12);
  const h = new Histogram(LATENCY_BUCKETS_SECONDS);
  const run = (): number => {
    for (let i = 0; i < OBSERVES; i++) h.observe(values[i & 4095] as number);
    return h.snapshot().count;
  };
  const { samplesMs, medianMs } = time(run, 5);
  return {
    bench: 'histogram', case: `${OBSERVES / 1e6}M observes into ${LATENCY_BUCKETS_SECONDS.length + 1} buckets`,
    params: { observes: OBSERVES, buckets: LATENCY_BUCKETS_SECONDS.length + 1 }, runs: 5, samplesMs: samplesMs.map((x) => round(x, 2)),
    medianMs: round(medianMs, 2), ops: OBSERVES, opsLabel: 'observes', opsPerSec: Math.round(OBSERVES / (medianMs / 1000)),
    published: [],
  };
}

export const histogramBench: Bench = {
  name: 'histogram',
  description: `${OBSERVES / 1e6}M observes of values spread over every bucket into one latency histogram (a snapshot at the end); `
    + 'median of 5 timed runs after three warm-ups',
  run: () => [observes()],
};
