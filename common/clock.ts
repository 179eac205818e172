/**
 * Time comes in from outside. Production code takes a `Clock`; tests pass a `FakeClock` and
 * advance it, so a ten-minute backoff is tested in microseconds and never by sleeping.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Runs `fn` every `ms` until cancelled. */
  setInterval(fn: () => void, ms: number): Timer;
}

/**
 * Node runs a timeout longer than this at once (TimeoutOverflowWarning, delay set to 1 ms):
 * a longer wait — a job's next occurrence weeks away — is taken in pieces of at most this.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    let h: ReturnType<typeof setTimeout>;
    const arm = (left: number): void => {
      h = setTimeout(() => (left > MAX_TIMEOUT_MS ? arm(left - MAX_TIMEOUT_MS) : fn()), Math.min(left, MAX_TIMEOUT_MS));
      h.unref?.();
    };
    arm(ms);
    return { cancel: () => clearTimeout(h) };
  },
  setInterval(fn, ms) {
    const h = setInterval(fn, ms);
    h.unref?.();
    return { cancel: () => clearInterval(h) };
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  everyMs?: number;
  cancelled: boolean;
}

/** A clock that moves only when told to. Timers fire in time order, ties in creation order. */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.schedule(fn, ms);
  }

  setInterval(fn: () => void, ms: number): Timer {
    if (ms <= 0) throw new RangeError(`interval must be > 0 ms, got ${ms}`);
    return this.schedule(fn, ms, ms);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const until = this.current + ms;
    for (;;) {
      const next = this.pending
        .filter((p) => !p.cancelled && p.at <= until)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      if (next.everyMs) next.at += next.everyMs;
      else next.cancelled = true;
      next.fn();
    }
    this.pending = this.pending.filter((p) => !p.cancelled);
    // A timer that advanced the clock itself has taken it past `until`: time never goes back.
    this.current = Math.max(this.current, until);
  }

  /** How many timers are waiting: lets a test assert that nothing was left scheduled. */
  pendingTimers(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  private schedule(fn: () => void, ms: number, everyMs?: number): Timer {
    const p: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, everyMs, cancelled: false };
    this.pending.push(p);
    return { cancel: () => { p.cancelled = true; } };
  }
}

/** Randomness comes in from outside too: the allocator shuffles agents with it. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

export const systemRandom: Random = { next: () => Math.random() };

/** A small deterministic generator (mulberry32) for tests and benchmarks. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
