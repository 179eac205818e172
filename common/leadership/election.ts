/**
 * One candidate's election, wired: the pure core (lease-core.ts) decides, the KV store
 * (kv-store.ts) writes and watches the lease key, a timer on the injected Clock wakes the core
 * when it asked to be woken, and the listeners hear who leads. See README.md for the words.
 *
 *   const e = await Election.join({ nc, bucket: leadersBucket(prefix), group: 'master', candidate, replicas: 3 });
 *   e.onElected((epoch) => …);  e.onDeposed(() => process.exit(1));  e.onLeader((l) => redirectTo(l?.address));
 *   e.check();   // before every effect: the epoch, or a FencedError
 *
 * The library never exits the process: a deposed leader's shell does (as a Mesos master does).
 */
import { randomUUID } from 'crypto';
import type { NatsConnection } from 'nats';
import { performance } from 'perf_hooks';
import { systemClock, type Clock, type Timer } from '../clock';
import { Listeners } from '../listeners';
import { logger, type Logger } from '../log';
import { electionConfig, type ElectionConfig, type ElectionTarget, type LeaseTimingOptions } from './config';
import { ElectionError } from './errors';
import { LeaseCore, type DeposedReason, type LeaseCommand, type LeaseEvent } from './lease-core';
import type { LeaderInfo } from './lease-value';
import { openKvStore, type LeaseStore, type WriteResult } from './kv-store';

export interface ElectionOptions extends ElectionTarget, LeaseTimingOptions {
  nc: NatsConnection;
  /** Where timers come from (default the system clock). */
  clock?: Clock;
  /** A clock that never jumps (default `performance.now`): every lease deadline is on it. */
  monotonicMs?: () => number;
  log?: Logger;
}

/** How long `join` waits for the first read of the key. */
const JOIN_TIMEOUT_MS = 20_000;

/** A renewal that got through: the revision it wrote, `latencyMs` after it was sent. */
export interface Renewal {
  epoch: number;
  revision: number;
  latencyMs: number;
}

/** A leader that stopped leading: the epoch it led with, and why. */
export interface Deposed extends DeposedReason {
  epoch: number;
}

export class Election {
  private readonly core: LeaseCore;
  private readonly queue: LeaseEvent[] = [];
  private dispatching = false;
  private stopped = false;
  private timer: Timer | undefined;
  /** Callers of abdicate() waiting for the release the core is about to ask for. */
  private abdications: ((released: boolean) => void)[] = [];
  private readonly elected = new Listeners<number>();
  private readonly renewed = new Listeners<Renewal>();
  private readonly deposed = new Listeners<Deposed>();
  private readonly leaderChanged = new Listeners<LeaderInfo | undefined>();

  /** Joins the group's election as a follower; it leads once the `elected` listeners hear so. */
  static async join(options: ElectionOptions): Promise<Election> {
    const config = electionConfig(options);
    const clock = options.clock ?? systemClock;
    const log = (options.log ?? logger('leadership')).child(config.group);
    const store = await openKvStore(options.nc, config, clock, log);
    const election = new Election(config, store, clock, options.monotonicMs ?? (() => performance.now()), log);
    await election.start();
    return election;
  }

  private constructor(
    readonly config: ElectionConfig,
    private readonly store: LeaseStore,
    private readonly clock: Clock,
    private readonly monotonicMs: () => number,
    private readonly log: Logger,
  ) {
    this.core = new LeaseCore({ group: config.group, self: { ...config.candidate, session: randomUUID() }, timing: config.timing });
  }

  onElected(listener: (epoch: number) => void): () => void {
    return this.elected.add(listener);
  }

  /** Each renewal that got through, with its latency: for metrics, and to see a leader hold on. */
  onRenewed(listener: (renewal: Renewal) => void): () => void {
    return this.renewed.add(listener);
  }

  onDeposed(listener: (deposed: Deposed) => void): () => void {
    return this.deposed.add(listener);
  }

  /** Who leads, whenever that changes (another candidate or another epoch; undefined: nobody known). */
  onLeader(listener: (leader: LeaderInfo | undefined) => void): () => void {
    return this.leaderChanged.add(listener);
  }

  leader(): LeaderInfo | undefined {
    return this.core.leader;
  }

  /** Whether this candidate leads with a lease valid now: what `check()` would pass. */
  isLeader(): boolean {
    const deadline = this.core.deadline;
    return deadline !== undefined && this.monotonicMs() < deadline;
  }

  /** The epoch this candidate leads with, or undefined. */
  epoch(): number | undefined {
    return this.isLeader() ? this.core.epoch : undefined;
  }

  /** The epoch, if this candidate leads with a lease valid now; otherwise a FencedError. Call it before every effect. */
  check(): number {
    return this.core.check(this.monotonicMs());
  }

  /**
   * Steps down at once and deletes the key if it is still ours, so a follower takes over
   * without waiting out the lease. Resolves true when the key was deleted; false when this
   * candidate did not lead or the delete did not get through (followers then wait a lease).
   */
  abdicate(): Promise<boolean> {
    return new Promise((resolve) => {
      this.abdications.push(resolve);
      this.dispatch({ kind: 'abdicate' });
    });
  }

  /** Leaves the election: abdicates first if leading, then stops the timer and the watch. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.core.role === 'leader') await this.abdicate();
    this.stopped = true;
    this.core.stop();
    this.timer?.cancel();
    await this.store.close();
  }

  private async start(): Promise<void> {
    // Long enough for the bucket's stream to elect a new leader after losing a node (5–12 s on nats-server 2.9).
    const bound = JOIN_TIMEOUT_MS;
    let timeout: Timer | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => { timeout = this.clock.setTimeout(() => resolve('timeout'), bound); });
    const watching = this.store.watch((observation) => this.dispatch({ kind: 'observed', observation }));
    const first = await Promise.race([watching, gaveUp]);
    timeout?.cancel();
    if (first === 'timeout') {
      await this.stop();
      throw new ElectionError(`could not read the lease of '${this.config.group}' in bucket ${this.config.bucket} within ${bound} ms`);
    }
  }

  /** Feeds the core one event at a time: a listener that calls back in (abdicate) is queued, not nested. */
  private dispatch(event: LeaseEvent): void {
    if (this.stopped) {
      for (const resolve of this.abdications.splice(0)) resolve(false);
      return;
    }
    this.queue.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) {
        const step = this.core.handle(e, this.monotonicMs());
        this.log.debug('event', { event: e, role: this.core.role, commands: step.commands.map((c) => c.kind), wakeAt: step.wakeAt });
        for (const c of step.commands) this.run(c);
        this.arm(step.wakeAt);
      }
    } finally {
      this.dispatching = false;
    }
    // An abdication the core did not act on: this candidate was not leading.
    for (const resolve of this.abdications.splice(0)) resolve(false);
  }

  private arm(wakeAt: number | undefined): void {
    this.timer?.cancel();
    this.timer = wakeAt === undefined ? undefined
      : this.clock.setTimeout(() => this.dispatch({ kind: 'timer' }), Math.max(0, wakeAt - this.monotonicMs()));
  }

  private run(c: LeaseCommand): void {
    switch (c.kind) {
      case 'claim':
        void this.store.write(c.expectRevision, c.value).then(async (result) => {
          // nats-server before 2.9.21 checks a replicated stream's compare-and-set before the write
          // is agreed, so two claims on one revision can both land (nats-server#4320): a winner
          // reads the key back, and a later revision there wins over its own. Epochs stay unique
          // either way; this keeps the loser from believing it leads until its watch says so.
          const now = result.kind === 'written' ? await this.store.read() : undefined;
          if (now && result.kind === 'written' && now.revision > result.revision) this.dispatch({ kind: 'observed', observation: now });
          this.dispatch(answer(c.kind, result));
        });
        return;
      case 'renew':
        void this.store.write(c.expectRevision, c.value).then((result) => this.dispatch(answer(c.kind, result)));
        return;
      case 'release': {
        const waiting = this.abdications.splice(0);
        void this.store.release(c.expectRevision, c.session, c.epoch).then((released) => waiting.forEach((resolve) => resolve(released)));
        return;
      }
      case 'elected':
        this.log.info('elected: leading', { epoch: c.epoch, id: this.config.candidate.id });
        this.elected.emit(c.epoch);
        return;
      case 'renewed':
        this.renewed.emit({ epoch: c.epoch, revision: c.revision, latencyMs: c.latencyMs });
        return;
      case 'deposed':
        this.log.warn(`deposed: ${c.reason.message}`, { epoch: c.epoch, cause: c.reason.cause });
        this.deposed.emit({ epoch: c.epoch, ...c.reason });
        return;
      case 'leader':
        this.log.info(c.leader ? 'leader known' : 'no leader known', c.leader ? { leader: c.leader.id, epoch: c.leader.epoch } : {});
        this.leaderChanged.emit(c.leader);
        return;
    }
  }
}

/** A write's result as the core's event. */
function answer(kind: 'claim' | 'renew', r: WriteResult): LeaseEvent {
  if (r.kind === 'written') return kind === 'claim' ? { kind: 'claimed', revision: r.revision } : { kind: 'renewed', revision: r.revision };
  if (r.kind === 'refused') return { kind: kind === 'claim' ? 'claim-refused' : 'renew-refused', current: r.current };
  return { kind: kind === 'claim' ? 'claim-failed' : 'renew-failed', error: r.error };
}
