/**
 * The jobs framework's runtime through its narrow seams: a Driver that records what it is
 * asked (the master connection), the in-memory store (recording its commits, failing on
 * demand), and a fake clock. What only a real cluster shows is in test/jobs-*.test.ts.
 */
import { FakeClock } from '../../common/clock';
import { logger } from '../../common/log';
import { parse } from '../../common/resources';
import type { Offer, TaskStatus } from '../../common/types';
import { JobsFramework, type Driver } from './framework';
import { parseChronosJob, parseMetronomeJob, type Job } from './job';
import { MemoryJobsStore, type JobsChange } from './store';

class RecordingDriver implements Driver {
  readonly calls: { call: string; arg: unknown }[] = [];
  constructor(private readonly log: string[] = []) {}
  private record(call: string, arg: unknown): Promise<void> {
    this.calls.push({ call, arg });
    this.log.push(call);
    return Promise.resolve();
  }
  launch(_offer: Offer, tasks: { taskId: string }[]) { return this.record('launch', tasks.map((t) => t.taskId)); }
  decline(offerIds: string[], o?: { reason?: string }) { return this.record('decline', { offerIds, reason: o?.reason }); }
  kill(taskId: string) { return this.record('kill', taskId); }
  acknowledge() { return Promise.resolve(); }
  reconcile(tasks?: { taskId: string }[]) { return this.record('reconcile', (tasks ?? []).map((t) => t.taskId)); }
  revive() { return this.record('revive', undefined); }
  suppress() { return this.record('suppress', undefined); }
  launched(): string[] {
    return this.calls.filter((c) => c.call === 'launch').flatMap((c) => c.arg as string[]);
  }
  kills(): string[] {
    return this.calls.filter((c) => c.call === 'kill').map((c) => c.arg as string);
  }
}

/** The memory store, recording each commit (and the order of commits and driver calls), failing when asked. */
class RecordingStore extends MemoryJobsStore {
  readonly commits: JobsChange[] = [];
  failNext = false;
  /** Fails the first commit this picks (once). */
  failWhen: ((c: JobsChange) => boolean) | undefined;
  constructor(readonly log: string[] = []) {
    super();
  }
  override commit(change: JobsChange): Promise<void> {
    if (this.failNext || this.failWhen?.(change)) {
      this.failNext = false;
      this.failWhen = undefined;
      return Promise.reject(new Error('store unavailable'));
    }
    this.commits.push(structuredClone(change));
    this.log.push('commit');
    return super.commit(change);
  }
}

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);   // a Monday, 12:00:00 UTC
const offer = (id: string): Offer => ({ id, frameworkId: 'fw', agentId: 'agent-1', hostname: 'h1', role: '*', attributes: {}, resources: parse('cpus:4;mem:4096;disk:4096') });
const status = (taskId: string, state: TaskStatus['state'], exitCode?: number): TaskStatus => ({
  taskId, state, message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN', agentId: 'agent-1', frameworkId: 'fw', uuid: 'u', timestampMs: 0, containerId: '',
  ...(exitCode !== undefined ? { exitCode } : {}),
});

function chronos(json: Record<string, unknown>): Job {
  const r = parseChronosJob({ command: 'true', cpus: 0.1, mem: 32, ...json }, T0);
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.job;
}

function metronome(json: Record<string, unknown>): Job {
  const r = parseMetronomeJob(json, T0);
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.job;
}

/** Lets queued steps run. */
const settle = async () => { for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r)); };

async function setup(store = new RecordingStore(), clock = new FakeClock(T0), seed = 'r') {
  let n = 0;
  const f = await JobsFramework.load({ store, clock, log: logger('test'), random: () => `${seed}${String(++n).padStart(4, '0')}`, retryDelayMs: 10_000 });
  const driver = new RecordingDriver(store.log);
  await f.attach(driver, 'fw');
  const advance = async (ms: number) => { clock.advance(ms); await settle(); };
  /** Offers one agent's resources and returns the task ids launched with it. */
  const offerOnce = async (id = `o${Math.random()}`) => {
    const before = driver.launched().length;
    await f.onOffers([offer(id)]);
    return driver.launched().slice(before);
  };
  return { clock, store, f, driver, advance, offerOnce };
}

describe('the jobs framework: exactly once per occurrence', () => {
  it('writes a due occurrence\'s run with its cursor in one commit, and its attempt before the Accept', async () => {
    const h = await setup();
    await h.f.putJob(chronos({ name: 'every-minute', schedule: 'R/2026-01-05T12:01:00Z/PT1M' }), 'create');
    expect(h.f.runsOf('every-minute')).toEqual([]);
    await h.advance(60_000);   // 12:01:00
    const due = h.store.commits.find((c) => (c.runs ?? []).some((r) => r.jobId === 'every-minute'))!;
    expect(due.cursors).toEqual([{ jobId: 'every-minute', at: T0 + 60_000 }]);
    expect(due.runs).toEqual([expect.objectContaining({ state: 'STARTING', trigger: 'schedule', scheduledAt: T0 + 60_000, attempts: [] })]);
    h.store.log.length = 0;
    const [taskId] = await h.offerOnce();
    expect(taskId).toMatch(/^every-minute\.20260105120100[a-z0-9]{5}\.1$/);
    expect(h.store.log.slice(0, 2)).toEqual(['commit', 'launch']);   // stored, then launched
    expect(h.f.runsOf('every-minute')[0]!.attempts).toEqual([expect.objectContaining({ taskId, state: 'TASK_STAGING', agentId: 'agent-1' })]);
    await h.f.onUpdate(status(taskId!, 'TASK_RUNNING'));
    await h.f.onUpdate(status(taskId!, 'TASK_FINISHED', 0));
    expect(h.f.runsOf('every-minute')[0]).toMatchObject({ state: 'SUCCESS', exitCode: 0, startedAt: T0 + 60_000, endedAt: T0 + 60_000 });
    await h.advance(60_000);   // 12:02:00: the next one
    expect(h.f.runsOf('every-minute').map((r) => r.scheduledAt)).toEqual([T0 + 60_000, T0 + 120_000]);
  });

  it('after a restart from the same store, a stored run is launched, not made again; a due one runs once', async () => {
    const store = new RecordingStore();
    const clock = new FakeClock(T0);
    const a = await setup(store, clock);
    await a.f.putJob(chronos({ name: 'j', schedule: 'R/2026-01-05T12:01:00Z/PT1M', concurrent: true }), 'create');
    await a.advance(60_000);
    expect(a.f.runsOf('j')).toHaveLength(1);
    await a.f.stop();   // "crashed" after the run's record, before any launch
    const b = await setup(store, clock);
    await settle();
    expect(b.f.runsOf('j')).toHaveLength(1);
    expect(await b.offerOnce()).toEqual([expect.stringMatching(/^j\..*\.1$/)]);
    expect(b.f.runsOf('j')).toHaveLength(1);
    // Down across the next occurrence and back within startingDeadlineSeconds (900 s): it runs, late, once.
    await b.f.stop();
    clock.advance(90_000);   // 12:02:30: 12:02 was missed while down
    const c = await setup(store, clock);
    await settle();
    expect(c.f.runsOf('j').map((r) => [r.scheduledAt, r.state])).toEqual([[T0 + 60_000, 'STARTING'], [T0 + 120_000, 'STARTING']]);
    const d = await setup(store, clock);   // and yet another restart at the same instant adds nothing
    await settle();
    expect(d.f.runsOf('j')).toHaveLength(2);
  });

  it('records occurrences missed by more than startingDeadlineSeconds as MISSED, and runs only the latest in time', async () => {
    const store = new RecordingStore();
    const clock = new FakeClock(T0);
    const a = await setup(store, clock);
    await a.advance(1000);   // created just after 12:00, which is not due then
    await a.f.putJob(metronome({ id: 'hourly', run: { cmd: 'true', cpus: 0.1, mem: 32 }, schedules: [{ id: 'default', cron: '0 * * * *', startingDeadlineSeconds: 600 }] }), 'create');
    await a.f.stop();
    clock.advance(3 * 3600_000 + 5 * 60_000);   // 15:05: 13:00 and 14:00 too late, 15:00 five minutes late
    const b = await setup(store, clock);
    await settle();
    const runs = b.f.runsOf('hourly');
    expect(runs.map((r) => r.state)).toEqual(['MISSED', 'STARTING']);
    expect(runs[0]!.message).toMatch(/^2 occurrences missed \(the latest 2026-01-05T14:00:00.000Z\)/);
    expect(runs[1]!.scheduledAt).toBe(Date.UTC(2026, 0, 5, 15));
  });

  it('disables an Rn schedule once it has run n times', async () => {
    const h = await setup();
    await h.f.putJob(chronos({ name: 'thrice', schedule: 'R3/2026-01-05T12:00:30Z/PT1H' }), 'create');
    for (let i = 0; i < 4; i++) await h.advance(3600_000);
    expect(h.f.runsOf('thrice').map((r) => new Date(r.scheduledAt!).toISOString())).toEqual([
      '2026-01-05T12:00:30.000Z', '2026-01-05T13:00:30.000Z', '2026-01-05T14:00:30.000Z',
    ]);
    expect(h.f.state.jobs.get('thrice')!.disabled).toBe(true);
    expect(h.f.nextRun('thrice')).toBeUndefined();
  });
});

describe('the jobs framework: retries, concurrency, deadlines, stopping', () => {
  it('retries a failed attempt after the delay, doubling it, and fails the run when retries run out', async () => {
    const h = await setup();
    await h.f.putJob(chronos({ name: 'flaky', schedule: 'R1/2026-01-05T12:00:10Z/PT1M', retries: 2 }), 'create');
    await h.advance(10_000);
    const [t1] = await h.offerOnce();
    await h.f.onUpdate(status(t1!, 'TASK_RUNNING'));
    await h.f.onUpdate(status(t1!, 'TASK_FAILED', 3));
    expect(h.f.runsOf('flaky')[0]).toMatchObject({ state: 'STARTING', retryAt: T0 + 20_000, message: expect.stringMatching(/^attempt 1 ended TASK_FAILED; retry 1 of 2 in 10 s/) });
    expect(await h.offerOnce()).toEqual([]);   // not before the delay
    await h.advance(10_000);
    const [t2] = await h.offerOnce();
    expect(t2).toMatch(/\.2$/);
    await h.f.onUpdate(status(t2!, 'TASK_FAILED', 3));
    expect(h.f.runsOf('flaky')[0]!.retryAt).toBe(T0 + 40_000);   // 20 s: doubled
    await h.advance(20_000);
    const [t3] = await h.offerOnce();
    await h.f.onUpdate(status(t3!, 'TASK_FAILED', 3));
    expect(h.f.runsOf('flaky')[0]).toMatchObject({ state: 'FAILED', exitCode: 3, message: 'attempt 3 ended TASK_FAILED' });
    expect(h.f.runsOf('flaky')[0]!.attempts.map((a) => a.state)).toEqual(['TASK_FAILED', 'TASK_FAILED', 'TASK_FAILED']);
  });

  it('launches again, without counting a failure, an attempt the master never launched (TASK_GONE)', async () => {
    const h = await setup();
    await h.f.putJob(metronome({ id: 'once', run: { cmd: 'true', cpus: 0.1, mem: 32 } }), 'create');
    await h.f.runNow('once');
    const [t1] = await h.offerOnce();
    await h.f.onUpdate(status(t1!, 'TASK_GONE'));
    const [t2] = await h.offerOnce();
    expect(t2).toMatch(/\.2$/);
    expect(h.f.runsOf('once')[0]!.state).toBe('STARTING');
    await h.f.onUpdate(status(t2!, 'TASK_FINISHED', 0));
    expect(h.f.runsOf('once')[0]).toMatchObject({ state: 'SUCCESS', message: 'succeeded on attempt 2' });
  });

  it('FORBID skips an occurrence while a run is going; REPLACE stops the going one and starts the new', async () => {
    const h = await setup();
    await h.advance(1000);   // created just after 12:00, which is not due then
    const job = (id: string, policy: string) => metronome({ id, run: { cmd: 'sleep 100', cpus: 0.1, mem: 32 }, schedules: [{ id: 'default', cron: '* * * * *', concurrencyPolicy: policy }] });
    await h.f.putJob(job('forbid', 'FORBID'), 'create');
    await h.f.putJob(job('replace', 'REPLACE'), 'create');
    await h.advance(60_000);
    const first = await h.offerOnce();
    expect(first).toHaveLength(2);
    for (const t of first) await h.f.onUpdate(status(t, 'TASK_RUNNING'));
    await h.advance(60_000);
    expect(h.f.runsOf('forbid').map((r) => r.state)).toEqual(['ACTIVE', 'SKIPPED']);
    expect(h.f.runsOf('forbid')[1]!.message).toMatch(/^concurrencyPolicy FORBID: run \w+ still going/);
    const replaced = h.f.runsOf('replace');
    expect(replaced.map((r) => r.state)).toEqual(['ACTIVE', 'STARTING']);
    expect(replaced[0]!.stopRequested).toMatch(/^replaced by run /);
    const old = first.find((t) => t.startsWith('replace.'))!;
    expect(h.driver.kills()).toEqual([old]);
    await h.f.onUpdate(status(old, 'TASK_KILLED'));
    expect(h.f.runsOf('replace')[0]).toMatchObject({ state: 'FAILED', message: expect.stringMatching(/^replaced by run/) });
  });

  it('kills a run past activeDeadlineSeconds and fails it, with no retry', async () => {
    const h = await setup();
    await h.f.putJob(metronome({ id: 'slow', run: { cmd: 'sleep 100', cpus: 0.1, mem: 32, restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 30 } } }), 'create');
    await h.f.runNow('slow');
    const [t] = await h.offerOnce();
    await h.f.onUpdate(status(t!, 'TASK_RUNNING'));
    await h.advance(29_000);
    expect(h.driver.kills()).toEqual([]);
    await h.advance(1_000);
    expect(h.driver.kills()).toEqual([t]);
    await h.advance(10_000);
    expect(h.driver.kills()).toEqual([t, t]);   // unanswered: sent again
    await h.f.onUpdate(status(t!, 'TASK_KILLED'));
    expect(h.f.runsOf('slow')[0]).toMatchObject({ state: 'FAILED', message: 'past its deadline: still going after activeDeadlineSeconds=30' });
    expect(await h.offerOnce()).toEqual([]);
  });

  it('fails a run no offer could take within maxLaunchDelay', async () => {
    const h = await setup();
    await h.f.putJob(metronome({ id: 'huge', run: { cmd: 'true', cpus: 64, mem: 32, maxLaunchDelay: 60 } }), 'create');
    await h.f.runNow('huge');
    expect(await h.offerOnce()).toEqual([]);
    expect(h.driver.calls.filter((c) => c.call === 'decline').at(-1)!.arg).toMatchObject({ reason: expect.stringMatching(/job huge needs cpus:64/) });
    await h.advance(60_000);
    expect(h.f.runsOf('huge')[0]).toMatchObject({ state: 'FAILED', message: 'not launched within maxLaunchDelay=60 s: no offer could take it' });
  });

  it('stops a run on request, and kills a task it does not know (an orphan)', async () => {
    const h = await setup();
    await h.f.putJob(metronome({ id: 'long', run: { cmd: 'sleep 100', cpus: 0.1, mem: 32 } }), 'create');
    const run = await h.f.runNow('long');
    const [t] = await h.offerOnce();
    await h.f.onUpdate(status(t!, 'TASK_RUNNING'));
    await h.f.stopRun('long', run.runId);
    expect(h.driver.kills()).toEqual([t]);
    await h.f.onUpdate(status(t!, 'TASK_KILLED'));
    expect(h.f.runsOf('long')[0]).toMatchObject({ state: 'FAILED', message: 'stopped on request' });
    await h.f.onUpdate(status('long.20260105120000zzzzz.1', 'TASK_RUNNING'));
    expect(h.driver.kills()).toEqual([t, 'long.20260105120000zzzzz.1']);
  });

  it('declines the offers, launching nothing, when the attempts cannot be stored', async () => {
    const h = await setup();
    await h.f.putJob(metronome({ id: 'x', run: { cmd: 'true', cpus: 0.1, mem: 32 } }), 'create');
    await h.f.runNow('x');
    h.store.failNext = true;
    await expect(h.f.onOffers([offer('o1')])).rejects.toThrow('store unavailable');
    expect(h.driver.launched()).toEqual([]);
    expect(h.driver.calls.at(-1)).toEqual({ call: 'decline', arg: { offerIds: ['o1'], reason: 'the jobs framework could not store its launches' } });
    expect(await h.offerOnce()).toHaveLength(1);   // the next offer takes it
  });
});

describe('the jobs framework: dependencies', () => {
  it('runs a child only after every parent succeeded since its last run, in the parent\'s end commit', async () => {
    const h = await setup();
    await h.f.putJob(chronos({ name: 'a', schedule: 'R/2026-01-05T13:00:00Z/P1D' }), 'create');
    await h.f.putJob(chronos({ name: 'b', schedule: 'R/2026-01-05T13:00:00Z/P1D' }), 'create');
    await h.f.putJob(chronos({ name: 'c', parents: ['a', 'b'] }), 'create');
    await expect(h.f.putJob(chronos({ name: 'a', parents: ['c'] }), 'replace')).rejects.toThrow('the dependencies would form a cycle: a → c → a');
    await h.advance(3600_000);
    const tasks = await h.offerOnce();
    const [ta, tb] = [tasks.find((t) => t.startsWith('a.'))!, tasks.find((t) => t.startsWith('b.'))!];
    await h.f.onUpdate(status(ta, 'TASK_FINISHED', 0));
    expect(h.f.runsOf('c')).toEqual([]);
    await h.f.onUpdate(status(tb, 'TASK_FINISHED', 0));
    const end = h.store.commits.at(-1)!;
    expect(end.runs!.map((r) => [r.jobId, r.state, r.trigger])).toEqual([['b', 'SUCCESS', 'schedule'], ['c', 'STARTING', 'parents']]);
    expect(end.dag).toEqual({ doneAt: { a: T0 + 3600_000, b: T0 + 3600_000 }, triggeredAt: { c: T0 + 3600_000 } });
  });

  it('lets a failed softError parent count, and a failed one without it not', async () => {
    const h = await setup();
    await h.f.putJob(chronos({ name: 'soft', schedule: 'R1/2026-01-05T12:00:10Z/PT1M', retries: 0, softError: true }), 'create');
    await h.f.putJob(chronos({ name: 'hard', schedule: 'R1/2026-01-05T12:00:10Z/PT1M', retries: 0 }), 'create');
    await h.f.putJob(chronos({ name: 'after-soft', parents: ['soft'] }), 'create');
    await h.f.putJob(chronos({ name: 'after-hard', parents: ['hard'] }), 'create');
    await h.advance(10_000);
    for (const t of await h.offerOnce()) await h.f.onUpdate(status(t, 'TASK_FAILED', 1));
    expect(h.f.runsOf('after-soft')).toHaveLength(1);
    expect(h.f.runsOf('after-hard')).toHaveLength(0);
  });

  it('deletes a parent by re-parenting its children (Chronos), or refuses while they depend on it', async () => {
    const h = await setup();
    await h.f.putJob(chronos({ name: 'p', schedule: 'R/2026-01-05T13:00:00Z/P1D' }), 'create');
    await h.f.putJob(chronos({ name: 'q', parents: ['p'] }), 'create');
    await expect(h.f.deleteJob('p', { stopCurrentJobRuns: false })).rejects.toThrow("Job 'p' cannot be deleted: 'q' depends on it");
    await h.f.deleteJob('p', { stopCurrentJobRuns: false, reparent: true });
    expect(h.f.state.jobs.get('q')).toMatchObject({ parents: [], schedule: { expression: 'R/2026-01-05T13:00:00Z/P1D' } });
    expect(h.f.nextRun('q')).toBe(T0 + 3600_000);
  });
});

describe('the jobs framework: what goes wrong', () => {
  it('kills an attempt that comes back after its end was counted, again until it ends, and leaves the run to its successor', async () => {
    const h = await setup();
    await h.f.putJob(chronos({ name: 'p', schedule: 'R1/2026-01-05T12:00:10Z/PT1M', retries: 1 }), 'create');
    await h.advance(10_000);
    const [t1] = await h.offerOnce();
    await h.f.onUpdate(status(t1!, 'TASK_RUNNING'));
    await h.f.onUpdate(status(t1!, 'TASK_LOST'));   // its agent partitioned
    await h.advance(10_000);
    const [t2] = await h.offerOnce();
    await h.f.onUpdate(status(t2!, 'TASK_RUNNING'));
    await h.f.onUpdate(status(t1!, 'TASK_RUNNING'));   // the agent is back, with attempt 1 still going
    expect(h.driver.kills()).toEqual([t1]);
    expect(h.f.runsOf('p')[0]!.attempts.map((a) => a.state)).toEqual(['TASK_LOST', 'TASK_RUNNING']);
    await h.advance(10_000);
    expect(h.driver.kills()).toEqual([t1, t1]);   // unanswered: sent again
    await h.f.onUpdate(status(t1!, 'TASK_KILLED'));
    await h.advance(20_000);
    expect(h.driver.kills()).toEqual([t1, t1]);
    expect(h.f.runsOf('p')[0]).toMatchObject({ state: 'ACTIVE', attempts: [{ state: 'TASK_LOST' }, { state: 'TASK_RUNNING' }] });
  });

  it('takes a resent end of an attempt for what it is: the run going on with its next attempt is not touched', async () => {
    const h = await setup();
    await h.f.putJob(chronos({ name: 'q', schedule: 'R1/2026-01-05T12:00:10Z/PT1M', retries: 1 }), 'create');
    await h.advance(10_000);
    const [t1] = await h.offerOnce();
    await h.f.onUpdate(status(t1!, 'TASK_FAILED', 1));
    await h.advance(10_000);
    const [t2] = await h.offerOnce();
    await h.f.onUpdate(status(t2!, 'TASK_RUNNING'));
    const before = h.f.runsOf('q')[0];
    await h.f.onUpdate(status(t1!, 'TASK_FAILED', 1));   // its acknowledgement was lost: the agent says it again
    expect(h.f.runsOf('q')[0]).toEqual(before);
    expect(h.driver.kills()).toEqual([]);
  });

  it('finds an occurrence again when its commit failed, and runs it (not MISSED the next day)', async () => {
    const h = await setup();
    await h.f.putJob(chronos({ name: 'daily', schedule: 'R/2026-01-05T13:00:00Z/P1D' }), 'create');
    h.store.failWhen = (c) => (c.runs ?? []).some((r) => r.jobId === 'daily');
    await h.advance(3600_000);
    expect(h.f.runsOf('daily')).toEqual([]);
    await h.advance(1000);   // the failed step's retry
    expect(h.f.runsOf('daily').map((r) => [r.state, r.scheduledAt])).toEqual([['STARTING', T0 + 3600_000]]);
  });

  it('names an occurrence\'s run by the occurrence: a look repeated after a lost answer writes the same record', async () => {
    const store = new RecordingStore();
    const clock = new FakeClock(T0);
    const a = await setup(store, clock);
    await a.f.putJob(chronos({ name: 'r', schedule: 'R/2026-01-05T12:01:00Z/PT1H', concurrent: true }), 'create');
    await a.f.stop();
    clock.advance(60_000);
    const b = await setup(store, clock);
    await settle();
    const c = await setup(new RecordingStore(), clock, 'z');   // another framework (other random ids) with the same jobs: the same name
    await c.f.putJob(chronos({ name: 'r', schedule: 'R/2026-01-05T12:01:00Z/PT1H', concurrent: true }), 'create');
    await c.advance(0);
    expect(c.f.runsOf('r').map((r) => r.runId)).toEqual(b.f.runsOf('r').map((r) => r.runId));
  });

  it('keeps the dependency state of two softError parents failing in the same look, and runs their child', async () => {
    const h = await setup();
    const never = (id: string) => ({ ...metronome({ id, run: { cmd: 'true', cpus: 64, mem: 32, maxLaunchDelay: 60 } }), softError: true });
    await h.f.putJob(never('a'), 'create');
    await h.f.putJob(never('b'), 'create');
    await h.f.putJob(metronome({ id: 'c', run: { cmd: 'true', cpus: 0.1, mem: 32 }, dependencies: [{ id: 'a' }, { id: 'b' }] }), 'create');
    await h.f.runNow('a');
    await h.f.runNow('b');
    await h.advance(60_000);
    expect(['a', 'b'].map((id) => h.f.runsOf(id)[0]!.state)).toEqual(['FAILED', 'FAILED']);
    expect(h.f.state.dag.doneAt).toEqual({ a: T0 + 60_000, b: T0 + 60_000 });
    expect(h.f.runsOf('c').map((r) => r.trigger)).toEqual(['parents']);
  });

  it('asks the master about an attempt still TASK_STAGING a minute after its launch, every minute', async () => {
    const h = await setup();
    await h.f.putJob(metronome({ id: 's', run: { cmd: 'true', cpus: 0.1, mem: 32 } }), 'create');
    await h.f.runNow('s');
    const [t] = await h.offerOnce();
    const asked = () => h.driver.calls.filter((c) => c.call === 'reconcile' && JSON.stringify(c.arg) === JSON.stringify([t])).length;
    await h.advance(59_000);
    expect(asked()).toBe(0);
    await h.advance(1_000);
    expect(asked()).toBe(1);
    await h.advance(60_000);
    expect(asked()).toBe(2);
    await h.f.onUpdate(status(t!, 'TASK_GONE'));   // the master never saw it: launched again
    expect(await h.offerOnce()).toEqual([expect.stringMatching(/\.2$/)]);
  });

  it('kills a deleted job\'s task until it ends', async () => {
    const h = await setup();
    await h.f.putJob(metronome({ id: 'gone', run: { cmd: 'sleep 100', cpus: 0.1, mem: 32 } }), 'create');
    await h.f.runNow('gone');
    const [t] = await h.offerOnce();
    await h.f.onUpdate(status(t!, 'TASK_RUNNING'));
    await h.f.deleteJob('gone', { stopCurrentJobRuns: true });
    expect(h.driver.kills()).toEqual([t]);
    await h.advance(10_000);
    expect(h.driver.kills()).toEqual([t, t]);
    await h.f.onUpdate(status(t!, 'TASK_KILLED'));
    await h.advance(10_000);
    expect(h.driver.kills()).toEqual([t, t]);
  });

  it('answers a command whose change is stored even when the look after it fails to store', async () => {
    const h = await setup();
    h.store.failWhen = (c) => (c.runs ?? []).length > 0;   // the due run the look after putJob writes
    await expect(h.f.putJob(chronos({ name: 'now', schedule: 'R1//PT1H' }), 'create')).resolves.toMatchObject({ id: 'now' });
    expect(h.f.state.jobs.has('now')).toBe(true);
    await h.advance(1000);
    expect(h.f.runsOf('now')).toHaveLength(1);   // looked at again, and made
  });

  it('re-parents a child that has its own schedule without taking the deleted parent\'s', async () => {
    const h = await setup();
    await h.f.putJob(metronome({ id: 'top', run: { cmd: 'true', cpus: 0.1, mem: 32 }, schedules: [{ id: 'default', cron: '0 3 * * *' }] }), 'create');
    await h.f.putJob(metronome({ id: 'low', run: { cmd: 'true', cpus: 0.1, mem: 32 }, schedules: [{ id: 'default', cron: '0 9 * * *' }], dependencies: [{ id: 'top' }] }), 'create');
    await h.f.deleteJob('top', { stopCurrentJobRuns: false, reparent: true });
    expect(h.f.state.jobs.get('low')).toMatchObject({ parents: [], schedule: { expression: '0 9 * * *' } });
  });
});
