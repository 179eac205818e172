/**
 * The framework runtime, tested once for every framework on it: a toy framework (tasks that
 * are wanted, run, and are killed), a Driver that records what it is asked, a store that
 * fails on demand, and a fake clock. Each test names one thing the runtime promises.
 */
import fc from 'fast-check';
import { FakeClock } from '../../common/clock';
import { FencedError } from '../../common/fenced-redis';
import { logger } from '../../common/log';
import { parse } from '../../common/resources';
import type { Offer, TaskInfo, TaskStatus } from '../../common/types';
import type { Driver } from './driver';
import { StoppedError } from './http';
import { FrameworkRuntime, KILL_RETRY_MS, STAGING_ASK_MS, type Evaluation, type FrameworkLogic, type Placement } from './runtime';

// ---- a toy framework: `wanted` tasks should run; a task marked `kill` must end ----------------

interface ToyTask { id: string; agentId: string; state: 'STAGING' | 'RUNNING'; since: number; kill?: boolean }
interface ToyState { frameworkId?: string; wanted: number; tasks: Map<string, ToyTask>; next: number }
interface ToyChange { wanted?: number; put?: ToyTask[]; drop?: string[]; next?: number }
type ToyEvent = string;

const toyState = (): ToyState => ({ wanted: 0, tasks: new Map(), next: 1 });

function apply(s: ToyState, c: ToyChange): void {
  if (c.wanted !== undefined) s.wanted = c.wanted;
  for (const t of c.put ?? []) s.tasks.set(t.id, t);
  for (const id of c.drop ?? []) s.tasks.delete(id);
  if (c.next !== undefined) s.next = c.next;
}

/** Pure: too many tasks → the newest marked for killing; too few → launches wanted; a wake-up at `wakeAt`. */
function evaluate(s: ToyState, _now: number, wakeAt = Infinity): Evaluation<ToyChange, ToyEvent, number> {
  const live = [...s.tasks.values()].filter((t) => !t.kill);
  const extra = live.slice(s.wanted).map((t) => ({ ...t, kill: true }));
  return {
    commits: extra.length > 0 ? [{ change: { put: extra }, events: extra.map((t) => `kill ${t.id}`) }] : [],
    wants: Array.from({ length: Math.max(0, s.wanted - live.length) }, (_, i) => i),
    kills: [...s.tasks.values()].filter((t) => t.kill).map((t) => ({ taskId: t.id, agentId: t.agentId })),
    staging: live.filter((t) => t.state === 'STAGING').map((t) => ({ taskId: t.id, agentId: t.agentId, since: t.since })),
    wakeAt,
  };
}

function place(s: ToyState, offers: readonly Offer[], wants: readonly number[], now: number): Placement<ToyChange, ToyEvent> {
  const launches = new Map<string, TaskInfo[]>();
  const put: ToyTask[] = [];
  let next = s.next;
  for (const offer of offers) {
    if (put.length >= wants.length) break;
    const id = `t${next++}`;
    put.push({ id, agentId: offer.agentId, state: 'STAGING', since: now });
    launches.set(offer.id, [{ taskId: id, agentId: offer.agentId, name: id, resources: parse('cpus:0.1') } as TaskInfo]);
  }
  return {
    ...(put.length > 0 ? { commit: { change: { put, next }, events: put.map((t) => `staged ${t.id}`) } } : {}),
    launches, declined: new Map(), more: wants.length > put.length,
  };
}

function logic(o: { wakeAt?: () => number } = {}): FrameworkLogic<ToyState, ToyChange, ToyEvent, number> {
  return {
    name: 'toy framework', apply, place, idle: 'nothing wanted',
    evaluate: (s, now) => evaluate(s, now, o.wakeAt?.()),
    onStatus: (s, status) => {
      const t = s.tasks.get(status.taskId);
      if (!t) return { stray: true };
      if (status.state === 'TASK_RUNNING') return { commit: { change: { put: [{ ...t, state: 'RUNNING' }] }, events: [`running ${t.id}`] } };
      return { commit: { change: { drop: [t.id] }, events: [`ended ${t.id}`] } };
    },
    live: (s) => [...s.tasks.values()].map((t) => ({ taskId: t.id, agentId: t.agentId })),
    refusal: (e) => e.message.startsWith('refused'),
  };
}

/** The store: every change it took, in order; fails while `failing` says so. */
class ToyStore {
  readonly stored = toyState();
  readonly changes: ToyChange[] = [];
  frameworkId: string | undefined;
  failing: (c: ToyChange) => boolean = () => false;
  error: Error = new Error('store unavailable');
  commit(c: ToyChange): Promise<void> {
    if (this.failing(c)) return Promise.reject(this.error);
    this.changes.push(c);
    apply(this.stored, c);
    return Promise.resolve();
  }
  saveFrameworkId(id: string): Promise<void> {
    this.frameworkId = id;
    return Promise.resolve();
  }
}

class RecordingDriver implements Driver {
  readonly calls: { call: string; arg: unknown }[] = [];
  failing = new Set<string>();
  private record(call: string, arg: unknown): Promise<void> {
    this.calls.push({ call, arg });
    return this.failing.has(call) ? Promise.reject(new Error(`${call} refused`)) : Promise.resolve();
  }
  launch(offer: Offer, tasks: TaskInfo[]) { return this.record('launch', { offer: offer.id, tasks: tasks.map((t) => t.taskId) }); }
  decline(offerIds: string[], o?: { refuseMs?: number; reason?: string }) { return this.record('decline', { offerIds, ...o }); }
  kill(taskId: string) { return this.record('kill', taskId); }
  acknowledge(s: Pick<TaskStatus, 'taskId'>) { return this.record('acknowledge', s.taskId); }
  reconcile(tasks?: { taskId: string }[]) { return this.record('reconcile', (tasks ?? []).map((t) => t.taskId)); }
  revive() { return this.record('revive', undefined); }
  suppress() { return this.record('suppress', undefined); }
  of(call: string): unknown[] {
    return this.calls.filter((c) => c.call === call).map((c) => c.arg);
  }
}

const offer = (id: string): Offer => ({ id, frameworkId: 'fw', agentId: 'a1', hostname: 'h1', role: '*', attributes: {}, resources: parse('cpus:4;mem:1024') });
const status = (taskId: string, state: TaskStatus['state']): TaskStatus => ({
  taskId, state, message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN', agentId: 'a1', frameworkId: 'fw', uuid: `u-${taskId}-${state}`, timestampMs: 0, containerId: '',
});

async function setup(o: { wakeAt?: () => number; state?: ToyState; fenced?: (e: Error) => void } = {}) {
  const clock = new FakeClock();
  const store = new ToyStore();
  const state = o.state ?? toyState();
  const runtime = new FrameworkRuntime(state, logic(o), { store, clock, log: logger('test'), declineRefuseMs: 5000, ...(o.fenced ? { fenced: o.fenced } : {}) });
  const events: string[] = [];
  runtime.events.add((e) => events.push(e));
  const driver = new RecordingDriver();
  await runtime.attach(driver, 'fw');
  /** Lets queued steps run. */
  const flush = async () => { for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); };
  const want = (n: number) => runtime.command(() => ({ result: n, commits: [{ change: { wanted: n }, events: [`want ${n}`] }] }));
  return { clock, store, state, runtime, events, driver, flush, want };
}

describe('the framework runtime', () => {
  it('on attach saves the framework id and reconciles what it knows, explicitly and implicitly', async () => {
    const state = toyState();
    state.tasks.set('t1', { id: 't1', agentId: 'a1', state: 'RUNNING', since: 0 });
    const h = await setup({ state });
    expect(h.store.frameworkId).toBe('fw');
    expect(h.state.frameworkId).toBe('fw');
    expect(h.driver.of('reconcile')).toEqual([['t1'], []]);
  });

  it('commits in order: stored, then applied, then emitted once the step ends', async () => {
    const h = await setup();
    const seen: { stored: number; applied: number }[] = [];
    h.runtime.events.add(() => seen.push({ stored: h.store.stored.wanted, applied: h.state.wanted }));
    let duringStep: string[] = [];
    await h.runtime.command(() => ({ result: undefined, commits: [{ change: { wanted: 2 }, events: ['first'] }, { change: { wanted: 3 }, events: ['second'] }] }));
    await h.runtime.step(() => { duringStep = [...h.events]; });
    expect(h.events).toEqual(['first', 'second']);
    expect(seen).toEqual([{ stored: 3, applied: 3 }, { stored: 3, applied: 3 }]);   // both delivered after the step
    expect(duringStep).toEqual(['first', 'second']);
  });

  it('a command refused by the store changes nothing in memory, emits nothing, and its caller hears why', async () => {
    const h = await setup();
    h.store.failing = () => true;
    await expect(h.want(3)).rejects.toThrow('store unavailable');
    expect(h.state.wanted).toBe(0);
    expect(h.events).toEqual([]);
    // A refusal (bad input) is answered and changes nothing either.
    await expect(h.runtime.command(() => { throw new Error('refused: no such thing'); })).rejects.toThrow('refused');
    expect(h.store.changes).toEqual([]);
  });

  it('stores launches before it sends them, and declines every offer when it cannot store them', async () => {
    const h = await setup();
    await h.want(1);
    h.store.failing = (c) => c.put !== undefined;
    await expect(h.runtime.onOffers([offer('o1'), offer('o2')])).rejects.toThrow('store unavailable');
    expect(h.driver.of('launch')).toEqual([]);
    expect(h.driver.of('decline')).toEqual([{ offerIds: ['o1', 'o2'], refuseMs: 1000, reason: 'the toy framework could not store its launches' }]);
    h.store.failing = () => false;
    await h.runtime.onOffers([offer('o3'), offer('o4')]);
    expect(h.store.stored.tasks.has('t1')).toBe(true);
    expect(h.driver.of('launch')).toEqual([{ offer: 'o3', tasks: ['t1'] }]);
    // Nothing more wanted: the rest is declined for the long refusal, with the framework's reason.
    expect(h.driver.of('decline').at(-1)).toEqual({ offerIds: ['o4'], refuseMs: 5000, reason: 'nothing wanted' });
  });

  it('asks the master about a launch it refused outright', async () => {
    const h = await setup();
    await h.want(1);
    h.driver.failing.add('launch');
    await h.runtime.onOffers([offer('o1')]);
    await h.flush();
    expect(h.driver.of('reconcile').at(-1)).toEqual(['t1']);
  });

  it('acknowledges a status update only after its change is stored', async () => {
    const h = await setup();
    await h.want(1);
    await h.runtime.onOffers([offer('o1')]);
    h.store.failing = () => true;
    await expect(h.runtime.onUpdate(status('t1', 'TASK_RUNNING'))).rejects.toThrow('store unavailable');
    expect(h.driver.of('acknowledge')).toEqual([]);
    expect(h.state.tasks.get('t1')?.state).toBe('STAGING');
    h.store.failing = () => false;
    await h.runtime.onUpdate(status('t1', 'TASK_RUNNING'));   // the master sends it again
    expect(h.driver.of('acknowledge')).toEqual(['t1']);
    expect(h.store.stored.tasks.get('t1')?.state).toBe('RUNNING');
  });

  it('retries a failed look after 1 s, then 2, then 4, and from 1 s again after a success', async () => {
    const h = await setup();
    await h.want(2);
    await h.runtime.onOffers([offer('o1')]);
    await h.runtime.onOffers([offer('o2')]);
    let calls = 0;
    h.store.failing = (c) => { if (c.put?.some((t) => t.kill)) { calls++; return true; } return false; };   // the look's kill record
    await h.want(1);   // the command's own change is stored, so it succeeds; the look after it fails
    expect(calls).toBe(1);
    const attempts: number[] = [];
    for (const ms of [999, 1, 1999, 1, 3999, 1]) {
      h.clock.advance(ms);
      await h.flush();
      attempts.push(calls);
    }
    expect(attempts).toEqual([1, 2, 2, 3, 3, 4]);
    h.store.failing = () => false;
    h.clock.advance(8000);
    await h.flush();
    expect(h.state.tasks.get('t2')?.kill).toBe(true);
    // Backoff over: the next failure is retried after 1 s again.
    h.store.failing = (c) => { if (c.wanted === undefined) { calls++; return true; } return false; };
    await h.want(0);
    const before = calls;
    h.clock.advance(1000);
    await h.flush();
    expect(calls).toBe(before + 1);
  });

  it('stops for good on a FencedError: no retry, nothing more sent, every later step refused saying why', async () => {
    const fencedSeen: string[] = [];
    const h = await setup({ fenced: (e) => fencedSeen.push(e.message) });
    await h.want(2);
    const fenced = new FencedError(4, 3, 'agora:services:epoch');
    let attempts = 0;
    h.store.failing = () => { attempts++; return true; };
    h.store.error = fenced;
    await expect(h.runtime.onOffers([offer('o1')])).rejects.toBe(fenced);
    expect(attempts).toBe(1);
    expect(fencedSeen).toEqual([fenced.message]);
    // Not declined either: a fenced framework sends the master nothing more.
    expect(h.driver.of('launch')).toEqual([]);
    expect(h.driver.of('decline')).toEqual([]);
    const sent = h.driver.calls.length;
    // A failure that is retried would come back after 1 s, 2 s, 4 s…: a fenced one never.
    h.store.failing = () => false;
    h.clock.advance(10 * 60_000);
    await h.flush();
    expect(attempts).toBe(1);
    expect(h.driver.calls.length).toBe(sent);
    await expect(h.want(1)).rejects.toThrow(new StoppedError(`the toy framework stopped: ${fenced.message}`));
    await expect(h.runtime.onUpdate(status('t1', 'TASK_RUNNING'))).rejects.toThrow(StoppedError);
    expect(h.store.changes).toEqual([{ wanted: 2 }]);
    expect(fencedSeen).toHaveLength(1);
  });

  it('stops likewise when the look after a step is fenced, and the step itself still succeeds', async () => {
    const fencedSeen: Error[] = [];
    const h = await setup({ fenced: (e) => fencedSeen.push(e) });
    await h.want(1);
    await h.runtime.onOffers([offer('o1')]);
    h.store.failing = (c) => c.put?.some((t) => t.kill) ?? false;   // the look's kill record
    h.store.error = new FencedError(9, 3, 'agora:jobs:epoch');
    await h.want(0);   // stored; the look after it is fenced
    expect(fencedSeen.map((e) => e.message)).toEqual(['a newer leader (epoch 9) has written under agora:jobs:epoch; this one (epoch 3) must stop']);
    h.clock.advance(10 * 60_000);
    await h.flush();
    expect(h.driver.of('kill')).toEqual([]);
    expect(h.state.wanted).toBe(0);
    await expect(h.want(1)).rejects.toThrow(StoppedError);
  });

  it('re-sends a kill every 10 s until the task ends, and at once on a new connection', async () => {
    const h = await setup();
    await h.want(1);
    await h.runtime.onOffers([offer('o1')]);
    await h.want(0);
    expect(h.driver.of('kill')).toEqual(['t1']);
    h.clock.advance(KILL_RETRY_MS - 1);
    await h.flush();
    expect(h.driver.of('kill')).toEqual(['t1']);
    h.clock.advance(1);
    await h.flush();
    expect(h.driver.of('kill')).toEqual(['t1', 't1']);
    await h.runtime.attach(h.driver, 'fw');
    expect(h.driver.of('kill')).toEqual(['t1', 't1', 't1']);
    await h.runtime.onUpdate(status('t1', 'TASK_KILLED'));
    h.clock.advance(5 * KILL_RETRY_MS);
    await h.flush();
    expect(h.driver.of('kill')).toHaveLength(3);
  });

  it('kills a stray until its end is heard, and a task a command forgot likewise', async () => {
    const h = await setup();
    await h.runtime.onUpdate(status('ghost', 'TASK_RUNNING'));
    expect(h.driver.of('kill')).toEqual(['ghost']);
    h.clock.advance(KILL_RETRY_MS);
    await h.flush();
    expect(h.driver.of('kill')).toEqual(['ghost', 'ghost']);
    await h.runtime.onUpdate(status('ghost', 'TASK_KILLED'));
    await h.runtime.command(() => ({ result: undefined, forget: [{ taskId: 'gone', agentId: 'a1' }] }));
    h.clock.advance(KILL_RETRY_MS);
    await h.flush();
    expect(h.driver.of('kill')).toEqual(['ghost', 'ghost', 'gone', 'gone']);
  });

  it('asks the master about a task staging for a minute, once a minute', async () => {
    const h = await setup();
    await h.want(1);
    await h.runtime.onOffers([offer('o1')]);
    const asked = () => h.driver.of('reconcile').filter((a) => JSON.stringify(a) === '["t1"]').length;
    h.clock.advance(STAGING_ASK_MS - 1);
    await h.flush();
    expect(asked()).toBe(0);
    h.clock.advance(1);
    await h.flush();
    expect(asked()).toBe(1);
    h.clock.advance(STAGING_ASK_MS);
    await h.flush();
    expect(asked()).toBe(2);
    await h.runtime.onUpdate(status('t1', 'TASK_RUNNING'));
    h.clock.advance(10 * STAGING_ASK_MS);
    await h.flush();
    expect(asked()).toBe(2);
  });

  it('revives when launches wait and suppresses when none does, once each, and says it again after a failure', async () => {
    const h = await setup();
    expect(h.driver.of('suppress')).toHaveLength(1);
    await h.want(1);
    await h.want(1);
    expect(h.driver.of('revive')).toHaveLength(1);
    await h.runtime.onOffers([offer('o1')]);
    expect(h.driver.of('suppress')).toHaveLength(2);
    h.driver.failing.add('revive');
    await h.want(2);
    expect(h.driver.of('revive')).toHaveLength(2);
    h.driver.failing.delete('revive');
    h.clock.advance(1000);
    await h.flush();
    expect(h.driver.of('revive')).toHaveLength(3);
  });

  it('wakes up when the decisions ask to be looked at again, on the injected clock', async () => {
    let looks = 0;
    const h = await setup({ wakeAt: () => { looks++; return 1_700_000_030_000; } });
    const before = looks;
    h.clock.advance(29_999);
    await h.flush();
    expect(looks).toBe(before);
    h.clock.advance(1);
    await h.flush();
    expect(looks).toBeGreaterThan(before);
  });

  it('memory is never ahead of the store, and what was acknowledged is stored, whatever fails when', async () => {
    type Input = { kind: 'want'; n: number } | { kind: 'offer' } | { kind: 'running' | 'ended'; i: number } | { kind: 'tick' };
    const input: fc.Arbitrary<Input> = fc.oneof(
      fc.record({ kind: fc.constant('want' as const), n: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('offer' as const) }),
      fc.record({ kind: fc.constantFrom('running' as const, 'ended' as const), i: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('tick' as const) }),
    );
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(input, fc.boolean()), { maxLength: 30 }), async (steps) => {
      const h = await setup();
      let n = 0;
      for (const [inp, fail] of steps) {
        h.store.failing = () => fail;
        const acks = h.driver.of('acknowledge').length;
        const known = inp.kind === 'running' || inp.kind === 'ended' ? h.store.stored.tasks.has(`t${inp.i}`) : false;
        const done = inp.kind === 'want' ? h.want(inp.n)
          : inp.kind === 'offer' ? h.runtime.onOffers([offer(`o${++n}`)])
            : inp.kind === 'tick' ? (h.clock.advance(1000), h.flush())
              : h.runtime.onUpdate(status(`t${inp.i}`, inp.kind === 'running' ? 'TASK_RUNNING' : 'TASK_FINISHED'));
        await done.catch(() => undefined);
        await h.flush();
        // After every input: the state in memory is the store's, field by field.
        expect(h.state.wanted).toBe(h.store.stored.wanted);
        expect([...h.state.tasks.values()]).toEqual([...h.store.stored.tasks.values()]);
        // An update acknowledged about a task the store knew has its effect stored.
        if (known && h.driver.of('acknowledge').length > acks) {
          const t = h.store.stored.tasks.get(`t${(inp as { i: number }).i}`);
          expect(inp.kind === 'running' ? t?.state : t).toBe(inp.kind === 'running' ? 'RUNNING' : undefined);
        }
      }
    }), { numRuns: 100 });
  });
});
