/**
 * What every benchmark shares: the shape of a result, a published figure to hold it against,
 * and a timer that reports the median of a few runs after a warm-up.
 */

/** A figure someone else published, with where it comes from. */
export interface PublishedFigure {
  /** Who measured what, short: "Mesos 1.8.0 allocation cycle". */
  label: string;
  /** Wall time of the same operation, in milliseconds. */
  ms: number;
  /** Where the number is from, and anything that makes it approximate. */
  source: string;
}

export interface Measurement {
  bench: string;
  /** The case within the bench, e.g. "10k agents / 1k frameworks". */
  case: string;
  params: Record<string, number | string>;
  /** Timed runs, after the warm-up ones. */
  runs: number;
  samplesMs: number[];
  medianMs: number;
  /** Units of work in one run (offers made, for the allocator). */
  ops: number;
  opsLabel: string;
  opsPerSec: number;
  published: PublishedFigure[];
  /** Heap figures, for the benches that measure memory (see `MemoryFigure`). */
  memory?: MemoryFigure;
  /** Per-operation latencies inside each run, for the benches that time each operation. */
  latency?: LatencyFigure;
  /** CPU time beside the wall time, for the benches that report it (see `CpuFigure`). */
  cpu?: CpuFigure;
}

/**
 * The CPU time this process spent in each timed run (user + system, every thread of it, so its
 * garbage collections too; one entry per run, like `samplesMs`). On a machine others share, wall
 * time also counts the turns the process waited for a core; CPU time does not, so it is the
 * steadier figure when comparing two versions of the same code run one after the other.
 */
export interface CpuFigure {
  samplesMs: number[];
  medianMs: number;
}

/** The spread of per-operation latencies in each timed run (one entry per run, like `samplesMs`). */
export interface LatencyFigure {
  /** What one latency is, from what to what. */
  what: string;
  /** Latencies per run. */
  count: number;
  p50Ms: number[];
  p99Ms: number[];
  maxMs: number[];
}

/** What one memory reading measured, in MiB of V8 heap (`process.memoryUsage().heapUsed`). */
export interface MemoryFigure {
  /** Exactly how the figures were taken. */
  method: string;
  /** Whether `global.gc` was there (node --expose-gc); without it "retained" includes garbage. */
  exposeGc: boolean;
  /** Heap held by the snapshot handed to `allocate()`. */
  snapshotRetainedMiB: number;
  /** Heap growth across one `allocate()` call, no GC forced in between. */
  allocateHeapGrowthMiB: number;
  /** Garbage collections that ran inside that call: more than 0 makes the growth a lower bound. */
  gcsDuringAllocate: number;
  /** Heap held by the call's decisions after a GC. */
  resultRetainedMiB: number;
  allocateMs: number;
  offers: number;
  filters: number;
}

export interface Bench {
  name: string;
  /** One sentence: what is timed, and what is not. */
  description: string;
  run(): Measurement[] | Promise<Measurement[]>;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/**
 * Times `fn` `runs` times after `warmups` untimed calls (to let the JIT settle and the heap grow), and returns
 * the samples in ms and what the last call returned. Only `fn` is timed: build inputs outside.
 */
export function time<T>(fn: () => T, runs: number, warmups = 3): { samplesMs: number[]; medianMs: number; last: T } {
  let last = fn();
  for (let i = 1; i < warmups; i++) last = fn();
  const samplesMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    last = fn();
    samplesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { samplesMs, medianMs: median(samplesMs), last };
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * `time` for work that is asynchronous: real servers, real containers. `cpu` is the process's
 * CPU time in each timed run (meaningful only for work done in this process).
 */
export async function timeAsync<T>(fn: () => Promise<T>, runs: number, warmups = 1): Promise<{ samplesMs: number[]; medianMs: number; cpu: CpuFigure; last: T }> {
  let last = await fn();
  for (let i = 1; i < warmups; i++) last = await fn();
  const samplesMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    last = await fn();
    samplesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    const used = process.cpuUsage(cpuStart);
    cpuMs.push((used.user + used.system) / 1000);
  }
  return { samplesMs, medianMs: median(samplesMs), cpu: { samplesMs: cpuMs, medianMs: median(cpuMs) }, last };
}

/** The nearest-rank percentile `p` (0–100] of `xs`: the smallest value at least p% of them do not exceed. */
/** p50, p99 and max of each run's per-operation latencies (ms, to the µs), as a LatencyFigure. */
export function latencyFigure(what: string, count: number, runs: ReadonlyArray<{ latencies: readonly number[] }>): LatencyFigure {
  return {
    what, count,
    p50Ms: runs.map((r) => round(percentile(r.latencies, 50), 3)),
    p99Ms: runs.map((r) => round(percentile(r.latencies, 99), 3)),
    maxMs: runs.map((r) => round(Math.max(...r.latencies), 3)),
  };
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new Error('percentile of no values');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1] as number;
}
