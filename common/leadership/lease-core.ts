/**
 * The decisions of one candidate, with no I/O: given what happened (a revision of the lease
 * key observed, the answer to a write, a timer) and the monotonic time now, what to do next
 * (write, tell the listeners) and when to be woken. The shell (election.ts) does the writes
 * on a JetStream KV bucket and feeds their answers back.
 *
 * The invariants, in the words of the README:
 * - a follower writes only by compare-and-set on the last revision it observed, and only a
 *   full lease after it observed it (at once if the key is absent or deleted);
 * - a leader's lease is valid until it sent its last successful renewal + lease × (1 − drift
 *   margin): never longer than any follower waits, since a follower can only have observed
 *   that renewal after it was sent;
 * - so at most one candidate believes it leads with a valid lease at any instant, and each
 *   winner's epoch (the revision of its winning write) is above every earlier revision.
 */
import type { LeaseTiming } from './config';
import { FencedError } from './errors';
import { holds, leaderInfo, type Candidate, type LeaderInfo, type LeaseValue, type Observation } from './lease-value';

/** Why a leader stopped leading. */
export interface DeposedReason {
  cause: 'expired' | 'taken' | 'deleted' | 'refused' | 'abdicated';
  message: string;
}

/** What the core asks of the shell, in order. */
export type LeaseCommand =
  /** Write `value` if the key's revision is still `expectRevision` (0: if the key was never written). */
  | { kind: 'claim'; expectRevision: number; value: LeaseValue }
  | { kind: 'renew'; expectRevision: number; value: LeaseValue }
  /**
   * Delete the key if its revision is still `expectRevision`; if a renewal of this lease (of
   * `session` at `epoch`) landed after it, delete on that revision instead.
   */
  | { kind: 'release'; expectRevision: number; session: string; epoch: number }
  | { kind: 'elected'; epoch: number }
  /** A renewal got through, `latencyMs` after it was sent. */
  | { kind: 'renewed'; epoch: number; revision: number; latencyMs: number }
  | { kind: 'deposed'; epoch: number; reason: DeposedReason }
  | { kind: 'leader'; leader: LeaderInfo | undefined };

/** What the shell tells the core. `current` is the key as read after a refused write, if the read worked. */
export type LeaseEvent =
  | { kind: 'observed'; observation: Observation }
  | { kind: 'claimed'; revision: number }
  | { kind: 'claim-refused'; current?: Observation }
  | { kind: 'claim-failed'; error: string }
  | { kind: 'renewed'; revision: number }
  | { kind: 'renew-refused'; current?: Observation }
  | { kind: 'renew-failed'; error: string }
  | { kind: 'timer' }
  | { kind: 'abdicate' };

export interface LeaseStep {
  commands: LeaseCommand[];
  /** When to deliver the next `timer` event (monotonic ms); undefined: only on another event. */
  wakeAt: number | undefined;
}

export interface LeaseCoreConfig {
  group: string;
  self: Candidate & { session: string };
  timing: LeaseTiming;
}

interface Leading {
  role: 'leader';
  epoch: number;
  /** The latest revision written by this leader: the next renewal's compare-and-set. */
  revision: number;
  /** Monotonic ms after which the lease is not to be trusted. */
  deadline: number;
  nextRenewAt: number;
  /** When the renewal in flight was sent. */
  renewingSince?: number;
}

interface Following {
  role: 'follower';
  /** The claim in flight: when it was sent, on which revision. */
  claiming?: { since: number; expect: number };
  /** Not before: after a failed claim, or after abdicating (so that another candidate wins). */
  holdUntil: number;
}

type Role = Leading | Following | { role: 'stopped' };

export class LeaseCore {
  private state: Role = { role: 'follower', holdUntil: -Infinity };
  /** The highest revision observed (−1: none yet), when, and who it named. */
  private seen: { revision: number; at: number; holder?: LeaseValue } = { revision: -1, at: -Infinity };
  private known: LeaderInfo | undefined;
  private knownKey = '';
  private lastEpoch: number | undefined;

  constructor(private readonly config: LeaseCoreConfig) {}

  get role(): Role['role'] {
    return this.state.role;
  }

  /** The epoch this candidate leads with, or undefined. */
  get epoch(): number | undefined {
    return this.state.role === 'leader' ? this.state.epoch : undefined;
  }

  /** Who leads, as far as this candidate knows. */
  get leader(): LeaderInfo | undefined {
    return this.known;
  }

  /** Monotonic ms until which the lease is trusted, while leading. */
  get deadline(): number | undefined {
    return this.state.role === 'leader' ? this.state.deadline : undefined;
  }

  /** The epoch, if this candidate leads with a lease still valid at `now`; otherwise a FencedError. */
  check(now: number): number {
    const s = this.state;
    const group = this.config.group;
    if (s.role === 'leader' && now < s.deadline) return s.epoch;
    if (s.role === 'leader') {
      throw new FencedError(group, 'lease-expired', s.epoch, `the lease of '${group}' (epoch ${s.epoch}) ran out ${Math.round(now - s.deadline)} ms ago without a renewal getting through: this leader must not act`);
    }
    const who = this.known ? `'${this.known.id}' leads it (epoch ${this.known.epoch})` : 'no leader is known';
    throw new FencedError(group, 'not-leader', this.lastEpoch, `this candidate does not lead '${group}' (${who}): only the leader may act`);
  }

  handle(event: LeaseEvent, now: number): LeaseStep {
    const out: LeaseCommand[] = [];
    if (this.state.role !== 'stopped') {
      this.expire(now, out);
      this.apply(event, now, out);
      // Whatever the event, a renewal or claim now due goes out now rather than on a 0 ms timer.
      this.onTimer(now, out);
    }
    return { commands: out, wakeAt: this.wakeAt() };
  }

  /** No more writes or events; the shell has abdicated first if it led. */
  stop(): void {
    this.state = { role: 'stopped' };
  }

  private apply(e: LeaseEvent, now: number, out: LeaseCommand[]): void {
    const s = this.state;
    switch (e.kind) {
      case 'observed': return this.observe(e.observation, now, out);
      case 'timer': return;   // handled after every event
      case 'abdicate': return this.abdicate(now, out);
      case 'claimed': return s.role === 'follower' ? this.claimed(s, e.revision, now, out) : undefined;
      case 'claim-refused':
      case 'claim-failed':
        return s.role === 'follower' ? this.claimLost(s, e.kind === 'claim-refused' ? e.current : undefined, now, out) : undefined;
      case 'renewed': return s.role === 'leader' ? this.renewed(s, e.revision, now, out) : undefined;
      case 'renew-refused': return s.role === 'leader' ? this.renewRefused(s, e.current, now, out) : undefined;
      case 'renew-failed':
        if (s.role === 'leader') s.renewingSince = undefined;
        return;
    }
  }

  /** A leader whose deadline has passed is deposed before anything else is considered. */
  private expire(now: number, out: LeaseCommand[]): void {
    const s = this.state;
    if (s.role !== 'leader' || now < s.deadline) return;
    this.depose(s, { cause: 'expired', message: `no renewal got through within the lease (${this.config.timing.leaseMs} ms)` }, now, out);
  }

  /** `trust`: take `o` even if it is older than what was seen (the store contradicted what was seen). */
  private observe(o: Observation, now: number, out: LeaseCommand[], trust = false): void {
    if (o.revision <= this.seen.revision && !trust) return;   // an old or repeated revision says nothing new
    this.seen = { revision: o.revision, at: now, holder: o.holder };
    const s = this.state;
    if (s.role === 'leader') {
      if (o.holder && this.isMine(o.holder, o.revision, s.epoch)) {
        // A renewal of ours whose answer was lost, or that the watch reports first.
        s.revision = o.revision;
        return;
      }
      const message = o.holder
        ? `'${o.holder.id}' wrote the lease at revision ${o.revision}`
        : `the lease was deleted at revision ${o.revision}`;
      this.depose(s, { cause: o.holder ? 'taken' : 'deleted', message }, now, out);
      return;
    }
    this.tell(o.holder ? leaderInfo(o.holder, o.revision) : undefined, out);
  }

  private onTimer(now: number, out: LeaseCommand[]): void {
    const s = this.state;
    if (s.role === 'leader' && s.renewingSince === undefined && now >= s.nextRenewAt) {
      s.renewingSince = now;
      out.push({ kind: 'renew', expectRevision: s.revision, value: this.value(s.epoch) });
    } else if (s.role === 'follower' && !s.claiming && now >= this.claimDue(s)) {
      const expect = Math.max(0, this.seen.revision);
      s.claiming = { since: now, expect };
      out.push({ kind: 'claim', expectRevision: expect, value: this.value() });
    }
  }

  /** When a follower may claim: at once over an empty key, a full lease after the last revision seen over a held one. */
  private claimDue(s: Following): number {
    if (this.seen.revision < 0) return Infinity;   // nothing read yet
    const holder = this.seen.holder;
    const wait = holder ? Math.max(this.config.timing.leaseMs, holder.leaseMs) : 0;
    return Math.max(this.seen.at + wait, s.holdUntil);
  }

  private claimed(s: Following, revision: number, now: number, out: LeaseCommand[]): void {
    const sentAt = s.claiming?.since ?? now;
    s.claiming = undefined;
    const deadline = sentAt + this.validMs();
    // Superseded before the answer came, or the answer came too late to trust: stay a follower.
    if (this.seen.revision > revision || now >= deadline) {
      this.observe({ revision, holder: this.value() }, now, out);
      return;
    }
    this.state = { role: 'leader', epoch: revision, revision, deadline, nextRenewAt: sentAt + this.config.timing.renewEveryMs };
    this.lastEpoch = revision;
    this.seen = { revision, at: now, holder: this.value() };
    out.push({ kind: 'elected', epoch: revision });
    this.tell(leaderInfo(this.value(), revision), out);
  }

  /** A claim refused (`current`: the key as read then, if it could be) or unanswered. */
  private claimLost(s: Following, current: Observation | undefined, now: number, out: LeaseCommand[]): void {
    const expect = s.claiming?.expect ?? -1;
    s.claiming = undefined;
    // The store is behind the revision this claim expected, which it must have had: what was seen
    // came from elsewhere than the store (a lagging replica). Start again from the store's.
    if (current && current.revision < expect) return this.observe(current, now, out, true);
    if (current && current.revision > this.seen.revision) return this.observe(current, now, out);
    // A newer revision seen meanwhile has set the wait already. Otherwise nothing is known (an
    // answer lost after the write landed, an unreadable key): try again a renewal interval later.
    if (this.seen.revision > expect) return;
    s.holdUntil = Math.max(s.holdUntil, now + this.config.timing.renewEveryMs);
  }

  private renewed(s: Leading, revision: number, now: number, out: LeaseCommand[]): void {
    const sentAt = s.renewingSince ?? -Infinity;
    s.renewingSince = undefined;
    out.push({ kind: 'renewed', epoch: s.epoch, revision, latencyMs: now - sentAt });
    s.revision = Math.max(s.revision, revision);
    this.seen = this.seen.revision >= revision ? this.seen : { ...this.seen, revision };
    s.deadline = Math.max(s.deadline, sentAt + this.validMs());
    s.nextRenewAt = sentAt + this.config.timing.renewEveryMs;
  }

  private renewRefused(s: Leading, current: Observation | undefined, now: number, out: LeaseCommand[]): void {
    s.renewingSince = undefined;
    if (current && current.revision > s.revision) {
      this.observe(current, now, out);
      // Still leading: the key held a renewal of ours we had not heard of. Renew on it at once.
      if (this.state.role === 'leader') this.state.nextRenewAt = now;
      return;
    }
    const message = `a renewal on revision ${s.revision} was refused and the key could not be read`;
    this.depose(s, { cause: 'refused', message }, now, out);
  }

  private abdicate(now: number, out: LeaseCommand[]): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    out.push({ kind: 'release', expectRevision: s.revision, session: this.config.self.session, epoch: s.epoch });
    this.depose(s, { cause: 'abdicated', message: 'the leader stepped down' }, now, out);
    // Stand back for a lease, so that another candidate takes the key we just deleted.
    if (this.state.role === 'follower') this.state.holdUntil = now + this.config.timing.leaseMs;
  }

  private depose(s: Leading, reason: DeposedReason, now: number, out: LeaseCommand[]): void {
    this.state = { role: 'follower', holdUntil: -Infinity };
    // A full lease from now before claiming again (unless the key is empty): whoever follows first.
    if (this.seen.revision <= s.revision) this.seen = { revision: s.revision, at: now, holder: this.seen.holder };
    else this.seen = { ...this.seen, at: now };
    out.push({ kind: 'deposed', epoch: s.epoch, reason });
    const holder = this.seen.holder;
    this.tell(holder && !this.isMine(holder, this.seen.revision, s.epoch) ? leaderInfo(holder, this.seen.revision) : undefined, out);
  }

  private isMine(holder: LeaseValue, revision: number, epoch: number): boolean {
    return holds(holder, revision, this.config.self.session, epoch);
  }

  private value(epoch?: number): LeaseValue {
    return { ...this.config.self, ...(epoch === undefined ? {} : { epoch }), leaseMs: this.config.timing.leaseMs };
  }

  private validMs(): number {
    return this.config.timing.leaseMs * (1 - this.config.timing.driftMargin);
  }

  /** Tells the listeners when the known leader changes (another candidate, or another epoch). */
  private tell(leader: LeaderInfo | undefined, out: LeaseCommand[]): void {
    const key = leader ? `${leader.id}/${leader.epoch}` : '';
    if (key === this.knownKey) return;
    this.known = leader;
    this.knownKey = key;
    out.push({ kind: 'leader', leader });
  }

  private wakeAt(): number | undefined {
    const s = this.state;
    if (s.role === 'leader') return s.renewingSince === undefined ? Math.min(s.nextRenewAt, s.deadline) : s.deadline;
    if (s.role === 'follower' && !s.claiming) {
      const due = this.claimDue(s);
      return Number.isFinite(due) ? due : undefined;
    }
    return undefined;
  }
}
