/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in order of `items`; resolves
 * with the results in the same order, or rejects with the first failure once the calls
 * already started have settled. For bursts a server handles badly all at once (a Docker
 * engine removing hundreds of containers concurrently can deadlock: moby/moby#42545).
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!(Number.isInteger(limit) && limit > 0)) throw new RangeError(`limit must be a whole number > 0, got ${limit}`);
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return out;
}

/** Why a call waiting for its turn was given up: its caller aborted before a slot freed. */
export class LimiterAbortError extends Error {
  override readonly name = 'LimiterAbortError';
  constructor(options?: { cause?: unknown }) {
    super('aborted while waiting for a slot', options);
  }
}

interface Waiting {
  start(): void;
  abandon(): void;
}

/**
 * A standing bound on calls in flight, for a server that is called from many places at
 * once (the Docker engine: launches, kills, health checks, usage, GC). At most `limit` run;
 * the others wait in line, by priority (0 goes first) and in order of arrival within one.
 * A call holds its slot until its promise settles, so a caller that only needs the server
 * to *accept* something long (a stream) resolves once accepted and reads the rest outside.
 *
 * Strict priority can starve a lower level only under an endless stream of higher calls;
 * callers keep each level finite (kills ≤ the tasks there are).
 */
export class PriorityLimiter {
  private running = 0;
  private readonly lines: Waiting[][];

  constructor(readonly limit: number, readonly levels = 1) {
    if (!(Number.isInteger(limit) && limit > 0)) throw new RangeError(`limit must be a whole number > 0, got ${limit}`);
    if (!(Number.isInteger(levels) && levels > 0)) throw new RangeError(`levels must be a whole number > 0, got ${levels}`);
    this.lines = Array.from({ length: levels }, () => []);
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.running;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.lines.reduce((n, line) => n + line.length, 0);
  }

  /**
   * Runs `fn` when a slot is free (at once if one is). A `signal` that aborts while the call
   * still waits takes it out of the line (LimiterAbortError); once started, the call is
   * `fn`'s to end.
   */
  run<T>(fn: () => Promise<T>, opts: { priority?: number; signal?: AbortSignal } = {}): Promise<T> {
    const priority = opts.priority ?? 0;
    if (!(Number.isInteger(priority) && priority >= 0 && priority < this.levels)) {
      throw new RangeError(`priority must be a whole number in [0, ${this.levels}), got ${priority}`);
    }
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(new LimiterAbortError({ cause: signal.reason }));
    return new Promise<T>((resolve, reject) => {
      const go = (): void => {
        this.running++;
        let p: Promise<T>;
        try {
          p = fn();
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then((v) => { this.release(); resolve(v); }, (err: unknown) => { this.release(); reject(err); });
      };
      if (this.running < this.limit) return go();
      const line = this.lines[priority]!;
      const onAbort = (): void => entry.abandon();
      const entry: Waiting = {
        start: () => { signal?.removeEventListener('abort', onAbort); go(); },
        abandon: () => {
          const i = line.indexOf(entry);
          if (i >= 0) line.splice(i, 1);
          reject(new LimiterAbortError({ cause: signal?.reason }));
        },
      };
      line.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    this.running--;
    while (this.running < this.limit) {
      const next = this.lines.find((line) => line.length > 0)?.shift();
      if (!next) return;
      next.start();
    }
  }
}
