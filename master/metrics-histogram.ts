/**
 * A Prometheus histogram with fixed buckets, small enough to sit on the master's hot path:
 * `observe` is a binary search over the bounds and three additions into preallocated
 * storage — O(log buckets), no allocation — so thousands of launches a second cost nothing
 * measurable. Buckets are kept per bucket (not cumulative) and made cumulative only when a
 * scrape takes a snapshot, which is the one place that allocates.
 *
 * Words: a *bound* is a bucket's upper edge, `le` in the exposition, inclusive (a value equal
 * to a bound falls in that bucket); the bucket above the highest bound is `+Inf`.
 */

/**
 * The buckets of every latency the master reports, in seconds: 0.5 ms to 10 s in 1-2.5-5
 * steps (14 bounds and +Inf). The low end resolves an allocation pass or an event-loop
 * hiccup on a quiet master; 10 s is already a framework sitting on an offer or a container
 * pulling its image, and anything slower is still counted by `+Inf` and `_sum`. Times read
 * from the master's clock have millisecond resolution, so they fill the 0.5 ms bucket only
 * with zeros.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** What a scrape renders: cumulative counts, one per bound, and the totals. */
export interface HistogramSnapshot {
  readonly bounds: readonly number[];
  /** `cumulative[i]`: observations ≤ bounds[i]. Non-decreasing, each ≤ count. */
  readonly cumulative: readonly number[];
  readonly sum: number;
  /** All observations: the `+Inf` bucket. */
  readonly count: number;
}

export class Histogram {
  readonly bounds: readonly number[];
  /** Observations per bucket; the last slot is above the highest bound. */
  private readonly perBucket: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS_SECONDS) {
    if (bounds.length === 0) throw new RangeError('a histogram needs at least one bucket bound');
    bounds.forEach((b, i) => {
      if (!Number.isFinite(b)) throw new RangeError(`bucket bound ${b} must be finite: +Inf is always the last bucket`);
      if (i > 0 && b <= (bounds[i - 1] as number)) throw new RangeError(`bucket bounds must increase strictly, got ${bounds[i - 1]} then ${b}`);
    });
    this.bounds = Object.freeze([...bounds]);
    // A Float64Array counts exactly to 2^53: no overflow at any rate the master sees.
    this.perBucket = new Float64Array(bounds.length + 1);
  }

  /** Records one value. A NaN is a caller's bug (a time it never had) and throws. */
  observe(value: number): void {
    if (Number.isNaN(value)) throw new RangeError('a histogram cannot observe NaN');
    const bounds = this.bounds;
    let lo = 0;
    let hi = bounds.length;
    // The first bound ≥ value, or bounds.length (the +Inf bucket) when there is none.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (value <= (bounds[mid] as number)) hi = mid;
      else lo = mid + 1;
    }
    this.perBucket[lo] = (this.perBucket[lo] as number) + 1;
    this.sum += value;
    this.count += 1;
  }

  /**
   * The seconds from `fromMs` to `toMs` (milliseconds, as the clock reads them). A clock
   * stepped back, or another host's clock ahead of ours, would make it negative: that counts
   * as 0 rather than pulling `_sum` down.
   */
  observeElapsedMs(fromMs: number, toMs: number): void {
    this.observe(Math.max(0, toMs - fromMs) / 1000);
  }

  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      running += this.perBucket[i] as number;
      cumulative.push(running);
    }
    return { bounds: this.bounds, cumulative, sum: this.sum, count: this.count };
  }
}

/** A snapshot with nothing observed: what a family shows before its first event. */
export function emptySnapshot(bounds: readonly number[] = LATENCY_BUCKETS_SECONDS): HistogramSnapshot {
  return { bounds, cumulative: bounds.map(() => 0), sum: 0, count: 0 };
}
