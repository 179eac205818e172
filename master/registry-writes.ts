/**
 * Every registry write of the master, one at a time, in the order they were made: a later
 * write never overtakes an earlier one, even when one of them has to wait for Redis. Redis
 * down is not a failover (Mesos's master aborts when its registry fails; ours goes on
 * serving): what needs no write goes on, what needs one is refused, and nothing acknowledged
 * is lost. Two kinds of write:
 *
 * - **awaited** (`write`): a change the master makes only once it is stored — admitting an
 *   agent, a framework's first subscription, teardown, weights, unregistering or marking an
 *   agent gone. While the registry is **unavailable** (its connection is down, or a deferred
 *   write is failing) it is refused at once with a `RegistryUnavailableError` naming Redis,
 *   and the caller changes nothing. One that fails is the caller's to report; it is not retried.
 * - **deferred** (`defer`): the record of a change the master already made and answered (a
 *   framework's failover deadline, its info, its removal). Kept until stored: one that fails
 *   because Redis is unavailable is retried, 0.5 s doubling to 10 s and at once when the
 *   connection is back, and the writes behind it wait for it. One Redis refuses for another
 *   reason is logged and dropped (a retry would not cure it), as before.
 *
 * Deferred writes are in memory: a master that dies before Redis is back loses them, and the
 * next master reads what the registry last held (a framework's older deadline, say).
 */
import { isFenced } from '../common/fenced-redis';
import type { Clock, Timer } from '../common/clock';
import type { Logger } from '../common/log';
import { RegistryUnavailableError } from './errors';
import type { RegistryLink } from './registry';

/** After a deferred write failed, the next try (ms); it doubles with each failure in a row, up to MAX_RETRY_MS. */
export const RETRY_MS = 500;
export const MAX_RETRY_MS = 10_000;

export interface RegistryHealth {
  available: boolean;
  /** Why not, while not. */
  why?: string;
  /** Writes made and not yet stored (deferred ones waiting for Redis included). */
  pendingWrites: number;
  /** "Redis at …", or "in memory". */
  where: string;
}

interface Entry {
  what: string;
  run: () => Promise<void>;
  /** An awaited write's caller. */
  settle?: { resolve(): void; reject(err: Error): void };
}

export class RegistryWrites {
  private readonly queue: Entry[] = [];
  private running = false;
  private drained: Promise<void> = Promise.resolve();
  /** Why the deferred write at the head fails, while it does. */
  private failing: string | undefined;
  private failures = 0;
  private retry: Timer | undefined;
  private stopped = false;
  private readonly unlink: () => void;

  /**
   * `fenced`: told when a write is refused because a newer master has written (it must stop
   * acting); it answers what an awaited write is refused with.
   */
  constructor(private readonly o: { link?: RegistryLink; clock: Clock; log: Logger; fenced?: (err: Error) => Error }) {
    this.unlink = o.link?.onChange((status) => { if (status.available) this.retryNow(); }) ?? (() => undefined);
  }

  health(): RegistryHealth {
    const link = this.o.link?.now();
    const why = link && !link.available ? link.why ?? 'not connected' : this.failing;
    return { available: why === undefined, ...(why !== undefined ? { why } : {}), pendingWrites: this.queue.length, where: this.where };
  }

  /** Stored in its turn, or refused (see the header); the caller changes memory only once it resolves. */
  write(what: string, run: () => Promise<void>): Promise<void> {
    const refused = this.refusal(what);
    if (refused) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      this.queue.push({ what, run, settle: { resolve, reject } });
      this.pump();
    });
  }

  /** Stored in its turn, retried until it is while Redis is unavailable; never refused. */
  defer(what: string, run: () => Promise<void>): void {
    if (this.stopped) return;
    this.queue.push({ what, run });
    this.pump();
  }

  /** The error an awaited write would be refused with now, if it would be. */
  refusal(what: string): RegistryUnavailableError | undefined {
    if (this.stopped) return new RegistryUnavailableError(`cannot ${what}: the master is stopping`, false);
    const health = this.health();
    if (health.available) return undefined;
    return new RegistryUnavailableError(`cannot ${what}: the registry (${this.where}) is unavailable: ${health.why}; try again`, false);
  }

  /**
   * Takes no more writes. What is queued is still written while Redis answers (`settled` says
   * when that is done); awaited writes not yet sent are refused; deferred ones that cannot be
   * stored are lost with the master, and logged.
   */
  stop(): void {
    this.stopped = true;
    this.unlink();
    if (this.retry) {
      this.retry.cancel();
      this.retry = undefined;
      this.logLost();
    }
    this.refuseWaiting('the master is stopping');
  }

  /** Resolves once nothing is being written: the queue is empty, or waits for a retry. */
  settled(): Promise<void> {
    return this.drained;
  }

  private get where(): string {
    return this.o.link?.where ?? 'in memory';
  }

  private pump(): void {
    // A scheduled retry holds the queue: nothing may overtake the write it retries.
    if (this.running || this.retry) return;
    this.running = true;
    this.drained = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        try {
          await head.run();
        } catch (err) {
          if (this.failed(head, err)) continue;
          return;
        }
        this.stored(head);
      }
    } finally {
      // In the same turn as the last check of the queue, so a write queued after it starts a new drain.
      this.running = false;
    }
  }

  private stored(head: Entry): void {
    this.queue.shift();
    head.settle?.resolve();
    if (this.failing === undefined) return;
    this.o.log.info('registry writes are stored again', { after: this.failures, pending: this.queue.length });
    this.failing = undefined;
    this.failures = 0;
  }

  /** A write failed: whether to go on with the next one now. */
  private failed(head: Entry, err: unknown): boolean {
    const down = this.o.link?.unavailable('the registry', err);
    if (!down && isFenced(err)) {
      // A newer master leads: nothing of this one's may be written now, nor retried later.
      this.queue.shift();
      const refusal = this.o.fenced?.(asError(err)) ?? asError(err);
      head.settle?.reject(refusal);
      return true;
    }
    if (head.settle) {
      this.queue.shift();
      head.settle.reject(down ? new RegistryUnavailableError(`cannot ${head.what}: ${down.message}`, true) : asError(err));
      return true;
    }
    if (!down) {
      this.queue.shift();
      this.o.log.error(`registry: cannot ${head.what}; not retried`, { error: asError(err).message });
      return true;
    }
    this.failing = down.why;
    this.failures++;
    if (this.failures === 1 || this.failures % 10 === 0) {
      this.o.log.error(`registry: cannot ${head.what}; kept, and retried until it is stored`, {
        why: down.why, attempts: this.failures, pending: this.queue.length,
      });
    }
    // Not held behind a write whose wait has no known end: refused now, they changed nothing.
    this.refuseWaiting(`the registry (${this.where}) is unavailable: ${down.why}; try again`);
    if (this.stopped) {
      this.logLost();
      return false;
    }
    const delay = Math.min(RETRY_MS * 2 ** (this.failures - 1), MAX_RETRY_MS);
    this.retry = this.o.clock.setTimeout(() => { this.retry = undefined; this.pump(); }, delay);
    return false;
  }

  private logLost(): void {
    const lost = this.queue.filter((e) => !e.settle).map((e) => e.what);
    if (lost.length > 0) this.o.log.error('the master stops with registry writes not stored', { count: lost.length, writes: lost.slice(0, 10), why: this.failing });
  }

  /** Refuses the awaited writes not yet sent (the one in flight, if any, is left to finish). */
  private refuseWaiting(why: string): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const e = this.queue[i]!;
      if (!e.settle || (i === 0 && this.running)) continue;
      this.queue.splice(i, 1);
      e.settle.reject(new RegistryUnavailableError(`cannot ${e.what}: ${why}`, false));
    }
  }

  private retryNow(): void {
    if (!this.retry) return;
    this.retry.cancel();
    this.retry = undefined;
    this.pump();
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
