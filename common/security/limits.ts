/**
 * Per-principal bounds on a door (Mesos's `--rate_limits`): a token bucket of calls per
 * second with a burst, and a cap on what a principal holds open at once (event streams,
 * subscriptions, follows). Pure, on an injected clock: one busy or broken client slows
 * itself, not the door for everyone else.
 */
export interface LimitOptions {
  /** Calls per second a principal may make, on average. */
  ratePerSec: number;
  /** Calls it may make at once after being quiet. */
  burst: number;
  /** Responses or streams it may hold open at once. */
  maxOpen: number;
}

export type Take = { ok: true } | { ok: false; retryAfterMs: number; why: string };

interface Bucket {
  tokens: number;
  at: number;
  open: number;
}

export class PrincipalLimits {
  private readonly buckets = new Map<string, Bucket>();

  constructor(readonly o: LimitOptions, private readonly now: () => number) {
    if (!(o.ratePerSec > 0) || !(o.burst >= 1) || !(o.maxOpen >= 1)) throw new Error(`invalid limits ${JSON.stringify(o)}: rate > 0, burst ≥ 1, maxOpen ≥ 1`);
  }

  private bucket(name: string): Bucket {
    let b = this.buckets.get(name);
    if (!b) {
      b = { tokens: this.o.burst, at: this.now(), open: 0 };
      this.buckets.set(name, b);
    }
    const t = this.now();
    b.tokens = Math.min(this.o.burst, b.tokens + ((t - b.at) / 1000) * this.o.ratePerSec);
    b.at = t;
    return b;
  }

  /** One call by `name`: allowed, or how long until the next would be. */
  take(name: string): Take {
    const b = this.bucket(name);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    const retryAfterMs = Math.ceil(((1 - b.tokens) / this.o.ratePerSec) * 1000);
    return { ok: false, retryAfterMs, why: `principal '${name}' is over its rate of ${this.o.ratePerSec} calls/s (burst ${this.o.burst}): retry in ${retryAfterMs} ms` };
  }

  /** Something `name` holds open: its release, or why not (over `maxOpen`). */
  open(name: string): { ok: true; release: () => void } | { ok: false; why: string } {
    const b = this.bucket(name);
    if (b.open >= this.o.maxOpen) return { ok: false, why: `principal '${name}' already holds ${b.open} open streams, the most it may (${this.o.maxOpen}): close one first` };
    b.open++;
    let released = false;
    return { ok: true, release: () => { if (!released) { released = true; b.open--; } } };
  }
}

/** Roomy enough for a busy framework acknowledging thousands of updates, tight enough that a loop gone wrong is slowed. */
export const DEFAULT_GRPC_LIMITS: LimitOptions = { ratePerSec: 2000, burst: 4000, maxOpen: 16 };
/** Operators and UIs: a page load makes a handful of calls; a script gone wrong makes thousands. */
export const DEFAULT_HTTP_LIMITS: LimitOptions = { ratePerSec: 200, burst: 400, maxOpen: 64 };
