/**
 * The election's safety, as a property over random histories. Two or three candidates run the
 * real core against a model of the KV bucket (one linearizable key with compare-and-set and a
 * revision counter) through a hostile network: requests and answers are delayed, reordered
 * across candidates and lost (the sender then times out, while the request may still land
 * later); watch notifications are delayed or skipped; a candidate may be paused (SIGSTOP) with
 * its timers and messages held until it resumes, or abdicate; each candidate's monotonic clock
 * runs up to 1 % fast or slow. Whatever happens:
 *
 * - no two candidates ever believe they lead (check() passes) at the same instant;
 * - the epochs of successive leaders strictly increase, and each is the revision of its winner's claim;
 * - once the network heals, exactly one candidate leads within a few leases.
 */
import fc from 'fast-check';
import { FakeClock, type Timer } from '../clock';
import { leaseTiming } from './config';
import { LeaseCore, type LeaseCommand, type LeaseEvent } from './lease-core';
import type { Observation } from './lease-value';

const timing = leaseTiming({ leaseMs: 3000 });

interface Request {
  from: Sim;
  command: Extract<LeaseCommand, { kind: 'claim' | 'renew' | 'release' }>;
  /** Set once the sender gave up (timed out): a late answer is dropped, as nats.js drops it. */
  abandoned: boolean;
  timeout?: Timer;
  timeoutAt?: number;
}

interface Answer {
  to: Request;
  event: LeaseEvent | undefined;
}

/** The bucket's one key, linearizable: every write is a compare-and-set on the key's revision. */
class Store {
  revision = 0;
  current: Observation = { revision: 0 };
  /** Who wrote each revision, to check that an epoch is its winner's claim. */
  readonly claims = new Map<number, string>();
  readonly watchers: Observation[][] = [];

  apply(r: Request, readFails: boolean): LeaseEvent | undefined {
    const c = r.command;
    const ok = c.expectRevision === this.current.revision;
    if (ok) {
      this.revision += 1;
      this.current = { revision: this.revision, ...(c.kind === 'release' ? {} : { holder: c.value }) };
      if (c.kind === 'claim') this.claims.set(this.revision, r.from.id);
      for (const w of this.watchers) w.push(this.current);
    }
    const current = readFails ? undefined : this.current;
    if (c.kind === 'claim') return ok ? { kind: 'claimed', revision: this.revision } : { kind: 'claim-refused', current };
    if (c.kind === 'renew') return ok ? { kind: 'renewed', revision: this.revision } : { kind: 'renew-refused', current };
    return undefined;
  }
}

/** One candidate: the real core, a timer on the shared clock at its own clock rate, and the shell's bookkeeping. */
class Sim {
  readonly core: LeaseCore;
  paused = false;
  private held: LeaseEvent[] = [];
  private timer: Timer | undefined;
  /** When its timer fires, on the shared clock. */
  wakeReal: number | undefined;
  readonly watch: Observation[] = [];

  constructor(readonly id: string, private readonly rate: number, private readonly world: World) {
    this.core = new LeaseCore({ group: 'g', self: { id, address: id, pid: 1, session: `s-${id}` }, timing });
    world.store.watchers.push(this.watch);
  }

  mono(): number {
    return this.world.clock.now() * this.rate;
  }

  feed(e: LeaseEvent): void {
    if (this.paused) {
      this.held.push(e);
      return;
    }
    const step = this.core.handle(e, this.mono());
    for (const c of step.commands) this.world.command(this, c);
    this.timer?.cancel();
    // Never early, at most 1 ms late: real timers fire late, not early.
    const delay = step.wakeAt === undefined ? undefined : Math.max(1, Math.ceil((step.wakeAt - this.mono()) / this.rate));
    this.wakeReal = delay === undefined ? undefined : this.world.clock.now() + delay;
    this.timer = delay === undefined ? undefined : this.world.clock.setTimeout(() => this.feed({ kind: 'timer' }), delay);
    this.world.checkSafety();
  }

  resume(): void {
    this.paused = false;
    for (const e of this.held.splice(0)) this.feed(e);
    this.feed({ kind: 'timer' });
  }

  timeoutMs(): number {
    return Math.ceil(timing.requestTimeoutMs / this.rate);
  }
}

class World {
  readonly clock = new FakeClock(0);
  readonly store = new Store();
  readonly sims: Sim[];
  /** Requests on their way to the store. */
  readonly requests: Request[] = [];
  /** Requests whose sender still waits for an answer, lost ones included. */
  readonly waiting = new Set<Request>();
  readonly answers: Answer[] = [];
  readonly elected: { epoch: number; id: string }[] = [];

  constructor(rates: number[]) {
    this.sims = rates.map((rate, i) => new Sim(`c${i}`, rate, this));
    // Each candidate starts by reading the key, as the shell does when it joins.
    for (const s of this.sims) s.feed({ kind: 'observed', observation: this.store.current });
  }

  command(from: Sim, c: LeaseCommand): void {
    if (c.kind === 'elected') {
      expect(this.elected.at(-1)?.epoch ?? 0).toBeLessThan(c.epoch);
      expect(this.store.claims.get(c.epoch)).toBe(from.id);
      this.elected.push({ epoch: c.epoch, id: from.id });
      return;
    }
    if (c.kind !== 'claim' && c.kind !== 'renew' && c.kind !== 'release') return;
    const r: Request = { from, command: c, abandoned: false };
    if (c.kind !== 'release') {
      r.timeoutAt = this.clock.now() + from.timeoutMs();
      this.waiting.add(r);
      r.timeout = this.clock.setTimeout(() => {
        r.abandoned = true;
        this.waiting.delete(r);
        from.feed({ kind: c.kind === 'claim' ? 'claim-failed' : 'renew-failed', error: 'timeout' });
      }, from.timeoutMs());
    }
    this.requests.push(r);
  }

  /** Moves the clock to the next timer of any candidate or request, exactly: where races are decided. */
  next(): void {
    const dues = [...this.sims.map((s) => s.wakeReal), ...[...this.waiting].map((r) => r.timeoutAt)]
      .filter((t): t is number => t !== undefined && t >= this.clock.now());
    if (dues.length) this.clock.advance(Math.min(...dues) - this.clock.now());
  }

  checkSafety(): void {
    const believers = this.sims.filter((s) => {
      try {
        s.core.check(s.mono());
        return true;
      } catch {
        return false;
      }
    });
    expect(believers.map((s) => s.id).length).toBeLessThanOrEqual(1);
  }

  process(i: number, readFails: boolean): void {
    const [r] = this.requests.splice(i % this.requests.length, 1);
    if (!r) return;
    const event = this.store.apply(r, readFails);
    if (event) this.answers.push({ to: r, event });
  }

  answer(i: number): void {
    const [a] = this.answers.splice(i % this.answers.length, 1);
    if (!a?.event || a.to.abandoned) return;
    a.to.timeout?.cancel();
    a.to.abandoned = true;
    this.waiting.delete(a.to);
    a.to.from.feed(a.event);
  }

  notify(s: Sim, skipToLatest: boolean): void {
    const batch = skipToLatest ? s.watch.splice(0).slice(-1) : s.watch.splice(0, 1);
    for (const o of batch) s.feed({ kind: 'observed', observation: o });
  }

  /** Every request processed, every answer and notification delivered, in order, at this instant. */
  flush(): void {
    for (let guard = 0; guard < 100 && (this.requests.length || this.answers.length || this.sims.some((s) => s.watch.length)); guard++) {
      while (this.requests.length) this.process(0, false);
      while (this.answers.length) this.answer(0);
      for (const s of this.sims) while (s.watch.length) this.notify(s, false);
    }
  }

  /** A healthy network for `ms`: everything delivered at once, every 100 ms. */
  heal(ms: number): void {
    for (const s of this.sims) if (s.paused) s.resume();
    for (let t = 0; t < ms; t += 100) {
      this.flush();
      this.clock.advance(100);
    }
  }
}

type Action =
  | { t: 'advance'; ms: number }
  | { t: 'next' }
  | { t: 'flush' }
  | { t: 'process'; i: number; readFails: boolean }
  | { t: 'answer'; i: number }
  | { t: 'lose'; i: number; answer: boolean }
  | { t: 'watch'; c: number; skip: boolean }
  | { t: 'pause' | 'resume' | 'abdicate'; c: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 2500 })) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('next' as const) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('flush' as const) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('process' as const), i: fc.nat(), readFails: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('answer' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('lose' as const), i: fc.nat(), answer: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('watch' as const), c: fc.nat(), skip: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('pause' as const, 'resume' as const, 'abdicate' as const), c: fc.nat() }) },
);

function play(w: World, a: Action): void {
  const sim = 'c' in a ? w.sims[a.c % w.sims.length] as Sim : undefined;
  switch (a.t) {
    case 'advance': return w.clock.advance(a.ms);
    case 'next': return w.next();
    case 'flush': return w.flush();
    case 'process': return w.requests.length ? w.process(a.i, a.readFails) : undefined;
    case 'answer': return w.answers.length ? w.answer(a.i) : undefined;
    case 'lose': {
      const list: unknown[] = a.answer ? w.answers : w.requests;
      if (list.length) list.splice(a.i % list.length, 1);
      return;
    }
    case 'watch': return w.notify(sim as Sim, a.skip);
    case 'pause': (sim as Sim).paused = true; return;
    case 'resume': return (sim as Sim).paused ? (sim as Sim).resume() : undefined;
    case 'abdicate': return (sim as Sim).feed({ kind: 'abdicate' });
  }
}

const history = fc.record({
  rates: fc.array(fc.double({ min: 0.99, max: 1.01, noNaN: true }), { minLength: 2, maxLength: 3 }),
  actions: fc.array(action, { minLength: 50, maxLength: 300 }),
});

it('never lets two candidates act as leader at once, and every new leader\'s epoch is above the last', () => {
  fc.assert(fc.property(history, ({ rates, actions }) => {
    const w = new World(rates);
    for (const a of actions) play(w, a);
  }), { numRuns: 400 });
});

it('elects exactly one leader within a few leases once the network heals, whatever happened before', () => {
  fc.assert(fc.property(history, ({ rates, actions }) => {
    const w = new World(rates);
    for (const a of actions) play(w, a);
    w.heal(4 * timing.leaseMs);
    const leaders = w.sims.filter((s) => s.core.role === 'leader').map((s) => s.id);
    expect(leaders).toHaveLength(1);
    expect(w.elected.at(-1)?.id).toBe(leaders[0]);
  }), { numRuns: 200 });
});

it('keeps the same leader and epoch under a healthy network (no needless elections)', () => {
  const w = new World([1.01, 0.99, 1]);
  w.heal(60_000);
  expect(w.elected).toHaveLength(1);
  expect(w.store.revision).toBeGreaterThan(55);   // about one renewal a second
});
