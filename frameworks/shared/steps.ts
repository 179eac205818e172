/**
 * A framework's inputs — offers, status updates, API commands, its own timer — taken one at a
 * time. Each step runs after the one before has finished (its writes in), then `settle` looks
 * at everything again. A step that fails is answered with its error, and the framework
 * looks again a second later, then 2, 4… up to 30 s while failures go on (a store that is
 * down is not hammered): what the failure left undone (a kill, a launch) is not lost.
 *
 * One timer: `wakeAt` says when the next look is due (the earliest deadline the last look
 * saw); the timer's step is an empty one, followed by `settle` like any other.
 *
 * Fenced is final. A step or look that fails with a FencedError (common/fenced-redis.ts: a
 * newer leader of this framework has written to the store) is not retried: nothing this
 * process decides may take effect any more. Steps stop at once — the one that met it is
 * answered with the FencedError, every later one with a StoppedError that says why — and
 * `fenced` is told, once, so the process can exit.
 */
import type { Clock, Timer } from '../../common/clock';
import { isFenced } from '../../common/fenced-redis';
import type { Logger } from '../../common/log';
import { StoppedError } from './http';

/** After a failed step, the next look (ms); it doubles with each failure in a row, up to MAX_RETRY_MS. */
export const RETRY_MS = 1000;
export const MAX_RETRY_MS = 30_000;

export interface StepsOptions {
  clock: Clock;
  log: Logger;
  /** Who is stepping, for the StoppedError's words. */
  name: string;
  /** Runs after every step; its failure fails the step. */
  settle: () => Promise<void>;
  /** A refusal (bad input, changing nothing): answered, not logged, and no reason to look again. */
  refusal?: (e: Error) => boolean;
  /** Around every step (an event bus held until the step is done, say). */
  before?: () => void;
  after?: () => void;
  /** A step or look met a FencedError: steps have stopped for good. */
  fenced?: (err: Error) => void;
}

export class Steps {
  private chain: Promise<unknown> = Promise.resolve();
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private stopping = false;
  /** Failed steps and looks in a row: the backoff's exponent. */
  private failures = 0;
  /** The FencedError that stopped the steps, once one did. */
  private fencedBy: Error | undefined;

  constructor(private readonly o: StepsOptions) {}

  get stopped(): boolean {
    return this.stopping;
  }

  /** Runs `fn` after everything queued before it; state changes only inside. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const step = this.chain.then(async () => {
      if (this.fencedBy) throw new StoppedError(`the ${this.o.name} stopped: ${this.fencedBy.message}`);
      if (this.stopping) throw new StoppedError(`the ${this.o.name} is stopping`);
      this.o.before?.();
      try {
        const out = await fn();
        // The step's own change is stored: its caller hears it succeeded (a retry would do it
        // twice). What the look after it left undone is looked at again shortly.
        await this.o.settle().then(() => { this.failures = 0; }, (e: Error) => {
          if (isFenced(e)) return this.fence(e);
          if (this.stopping) return;
          this.o.log.warn('looking after a step failed; looking again shortly', { error: e.message });
          this.retry();
        });
        return out;
      } finally {
        this.o.after?.();
      }
    });
    this.chain = step.catch((e: Error) => {
      if (isFenced(e)) return this.fence(e);
      if (this.stopping || e instanceof StoppedError || this.o.refusal?.(e)) return;
      this.o.log.warn('a step failed; looking again shortly', { error: e.message });
      this.retry();
    });
    return step;
  }

  /** The next look at `at` (Infinity: none), replacing the one set before. */
  wakeAt(at: number): void {
    if (at === this.timerAt) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity || this.stopping) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timerAt = Infinity;
      this.timer = undefined;
      this.run(() => undefined).catch(() => undefined);
    }, Math.max(0, at - this.o.clock.now()));
  }

  /** A look within RETRY_MS, keeping an earlier one. */
  soon(): void {
    this.wakeAt(Math.min(this.timerAt, this.o.clock.now() + RETRY_MS));
  }

  /** A look after a failure: sooner the first time, later while failures go on. */
  private retry(): void {
    const delay = Math.min(RETRY_MS * 2 ** this.failures, MAX_RETRY_MS);
    this.failures++;
    this.wakeAt(Math.min(this.timerAt, this.o.clock.now() + delay));
  }

  /** Fenced: no step again, no retry, no timer; told once. */
  private fence(err: Error): void {
    if (this.fencedBy) return;
    this.fencedBy = err;
    this.stopping = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.o.log.error(`FATAL: the ${this.o.name} was fenced and takes no more steps`, { error: err.message, fatal: true });
    this.o.fenced?.(err);
  }

  /** Takes no more steps; resolves once the one under way is done. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.timer?.cancel();
    await this.chain;
  }
}
