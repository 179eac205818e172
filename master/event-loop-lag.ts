/**
 * Event-loop lag, sampled the way `perf_hooks.monitorEventLoopDelay` does it — a timer armed
 * every SAMPLE_INTERVAL_MS that measures how late it fires — but in JavaScript, so every
 * sample lands in a real Prometheus histogram. `monitorEventLoopDelay` keeps its samples in
 * an HDR histogram that Node exposes only as min, max, mean and a few percentiles: its
 * buckets could only be guessed from those, and resetting it per scrape drops the sample that
 * straddles the reset. A sample here costs one timer and one O(log buckets) observe, a
 * hundred times a second.
 *
 * A late fire is time the loop spent on something else: a long allocation pass, a burst of
 * status updates, a garbage collection. Lateness is read on a monotonic stopwatch (not the
 * wall clock, which may step); timers have about a millisecond of granularity, so samples
 * under ~1 ms are noise, not lag.
 */
import type { Clock, Timer } from '../common/clock';
import { Histogram, type HistogramSnapshot } from './metrics-histogram';

/** As `monitorEventLoopDelay`'s default resolution. */
export const SAMPLE_INTERVAL_MS = 10;

export interface EventLoopLagOptions {
  /** Arms the sampling timer. */
  clock: Clock;
  /** Monotonic milliseconds (`performance.now`). */
  stopwatchMs: () => number;
  intervalMs?: number;
}

export class EventLoopLag {
  private readonly histogram = new Histogram();
  private readonly intervalMs: number;
  private timer: Timer | undefined;

  constructor(private readonly o: EventLoopLagOptions) {
    this.intervalMs = o.intervalMs ?? SAMPLE_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new RangeError(`the sampling interval must be > 0 ms, got ${this.intervalMs}`);
  }

  start(): void {
    if (!this.timer) this.arm();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  snapshot(): HistogramSnapshot {
    return this.histogram.snapshot();
  }

  // A fresh timeout per sample, measured against its own arming: after a stall the next
  // sample starts clean instead of being judged against a schedule already missed.
  private arm(): void {
    const due = this.o.stopwatchMs() + this.intervalMs;
    this.timer = this.o.clock.setTimeout(() => {
      this.histogram.observe(Math.max(0, this.o.stopwatchMs() - due) / 1000);
      this.arm();
    }, this.intervalMs);
  }
}
