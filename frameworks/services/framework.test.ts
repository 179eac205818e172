/**
 * The services framework's runtime through its narrow seams: a Driver that records what it
 * is asked (the master connection), the in-memory store (made to fail on demand), and a fake
 * clock. What only a real cluster shows is in test/services-*.test.ts.
 */
import { FakeClock } from '../../common/clock';
import { logger } from '../../common/log';
import { parse } from '../../common/resources';
import type { Offer, TaskStatus } from '../../common/types';
import { Commands } from './commands';
import { ServicesFramework, type Driver } from './framework';
import type { Change } from './model';
import { MemoryStore } from './store';

class RecordingDriver implements Driver {
  readonly calls: { call: string; arg: unknown }[] = [];
  failRevive = false;
  private record(call: string, arg: unknown): Promise<void> {
    this.calls.push({ call, arg });
    return call === 'revive' && this.failRevive ? Promise.reject(new Error('master busy')) : Promise.resolve();
  }
  launch(offer: Offer) { return this.record('launch', offer.id); }
  decline(offerIds: string[]) { return this.record('decline', offerIds); }
  kill(taskId: string) { return this.record('kill', taskId); }
  acknowledge() { return new Promise<void>(() => undefined); }   // a master that never answers
  reconcile() { return this.record('reconcile', undefined); }
  revive() { return this.record('revive', undefined); }
  suppress() { return this.record('suppress', undefined); }
  count(call: string, arg?: unknown): number {
    return this.calls.filter((c) => c.call === call && (arg === undefined || JSON.stringify(c.arg) === JSON.stringify(arg))).length;
  }
}

/** The in-memory store, failing the next `failures` commits, or the next one `failWhen` picks. */
class FlakyStore extends MemoryStore {
  failures = 0;
  failWhen: ((c: Change) => boolean) | undefined;
  /** Commits that were stored. */
  commits = 0;
  override commit(change: Change): Promise<void> {
    if (this.failures > 0 || this.failWhen?.(change)) {
      if (this.failures > 0) this.failures--; else this.failWhen = undefined;
      return Promise.reject(new Error('store unavailable'));
    }
    this.commits++;
    return super.commit(change);
  }
}

const offer = (id: string): Offer => ({ id, frameworkId: 'fw', agentId: 'agent-1', hostname: 'h1', role: '*', attributes: {}, resources: parse('cpus:4;mem:4096;ports:[31000-31010]') });
const status = (taskId: string, state: TaskStatus['state']): TaskStatus => ({
  taskId, state, message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN', agentId: 'agent-1', frameworkId: 'fw', uuid: 'u', timestampMs: 0, containerId: '',
});

async function setup() {
  const clock = new FakeClock();
  const store = new FlakyStore();
  let n = 0;
  const f = await ServicesFramework.load({ store, clock, log: logger('test'), newId: () => `id${++n}` });
  const driver = new RecordingDriver();
  await f.attach(driver, 'fw');
  const commands = new Commands(f);
  /** Lets the framework's queued steps run. */
  const settle = async () => { for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); };
  return { clock, store, f, driver, commands, settle };
}

async function running(h: Awaited<ReturnType<typeof setup>>, appId: string, extra: Record<string, unknown> = {}): Promise<string> {
  await h.commands.createApp({ id: appId, cmd: 'serve', cpus: 0.1, mem: 16, ...extra }, false);
  await h.f.onOffers([offer('o1')]);
  const [taskId] = [...h.f.state.instances.keys()];
  await h.f.onUpdate(status(taskId!, 'TASK_RUNNING'));
  return taskId!;
}

describe('the services framework at run time', () => {
  it('sends a kill again every 10 s until the task ends, and again on a new connection', async () => {
    const h = await setup();
    const taskId = await running(h, '/web');
    await h.commands.deleteApp('/web', false);
    expect(h.driver.count('kill', taskId)).toBe(1);
    h.clock.advance(9_999);
    await h.settle();
    expect(h.driver.count('kill', taskId)).toBe(1);
    h.clock.advance(1);
    await h.settle();
    expect(h.driver.count('kill', taskId)).toBe(2);

    const next = new RecordingDriver();
    await h.f.attach(next, 'fw');
    expect(next.count('kill', taskId)).toBe(1);
    await h.f.onUpdate(status(taskId, 'TASK_KILLED'));
    h.clock.advance(60_000);
    await h.settle();
    expect(next.count('kill', taskId)).toBe(1);   // ended: no more
    expect(h.f.state.deployments.size).toBe(0);
  });

  it('forgets an unreachable instance it kills (its agent cannot answer), and replaces it', async () => {
    const h = await setup();
    const taskId = await running(h, '/web', { unreachableStrategy: { inactiveAfterSeconds: 60, expungeAfterSeconds: 600 } });
    await h.f.onUpdate(status(taskId, 'TASK_UNREACHABLE'));
    expect(h.f.state.instances.get(taskId)?.state).toBe('UNREACHABLE');
    await h.commands.killTasks([taskId], { scale: false, force: false });
    expect(h.f.state.instances.has(taskId)).toBe(false);
    expect(h.driver.count('kill', taskId)).toBe(1);
    expect(h.f.queueEntries().map((q) => [q.appId, q.count])).toEqual([['/web', 1]]);
  });

  it('declines the offers whose launches could not be stored, and launches once the store is back', async () => {
    const h = await setup();
    await h.commands.createApp({ id: '/web', cmd: 'serve', cpus: 0.1, mem: 16 }, false);
    h.store.failures = 1;
    await expect(h.f.onOffers([offer('o1'), offer('o2')])).rejects.toThrow('store unavailable');
    expect(h.driver.count('decline', ['o1', 'o2'])).toBe(1);
    expect(h.driver.count('launch')).toBe(0);
    expect(h.f.state.instances.size).toBe(0);
    await h.f.onOffers([offer('o3')]);
    expect(h.driver.count('launch', 'o3')).toBe(1);
  });

  it('evaluates again a second after a failed look: a kill whose record could not be written is written and sent', async () => {
    const h = await setup();
    const taskId = await running(h, '/web');
    h.store.failWhen = (c) => c.instances?.some((i) => i.killRequested) === true;   // the kill's record
    // The command's own change is stored, so its caller hears it succeeded (a retry would do it
    // twice); what the look after it left undone is the runtime's to finish.
    await expect(h.commands.deleteApp('/web', false)).resolves.toMatchObject({ actions: [{ action: 'StopApplication', app: '/web' }] });
    expect(h.f.state.apps.has('/web')).toBe(false);
    expect(h.driver.count('kill', taskId)).toBe(0);
    h.clock.advance(1000);
    await h.settle();
    expect(h.f.state.instances.get(taskId)?.killRequested).toBe(true);
    expect(h.driver.count('kill', taskId)).toBe(1);
  });

  it('refuses an app whose LIKE pattern RE2 cannot run (a backreference): 422 at the constraint, nothing stored, nothing launched', async () => {
    const h = await setup();
    await expect(h.commands.createApp({ id: '/re', cmd: 'serve', cpus: 0.1, mem: 16, constraints: [['rack', 'LIKE', '(a)\\1']] }, false)).rejects.toMatchObject({
      status: 422,
      body: { message: 'Object is not valid', details: [{ path: '/constraints(0)', errors: [expect.stringMatching(/^'\(a\)\\1' is not a regular expression RE2 accepts/)] }] },
    });
    expect(h.store.commits).toBe(0);
    expect(h.f.state.apps.size).toBe(0);
    expect(h.f.state.deployments.size).toBe(0);
    await h.f.onOffers([offer('o1')]);
    expect(h.driver.count('launch')).toBe(0);
  });

  it('is not held by a master that never acknowledges: the API still answers', async () => {
    const h = await setup();
    await running(h, '/web');   // its TASK_RUNNING was acknowledged, and that call never returns
    const created = await h.commands.createApp({ id: '/other', cmd: 'serve' }, false);
    expect(created.app.id).toBe('/other');
  });

  it('asks for offers again when a revive fails', async () => {
    const h = await setup();
    h.driver.failRevive = true;
    await h.commands.createApp({ id: '/web', cmd: 'serve' }, false);
    await h.settle();
    expect(h.driver.count('revive')).toBe(1);
    h.driver.failRevive = false;
    h.clock.advance(1000);
    await h.settle();
    expect(h.driver.count('revive')).toBe(2);
  });

  it('does not count a kill it asked for as a failure, however the master words the end', async () => {
    const h = await setup();
    const taskId = await running(h, '/web');
    await h.commands.killTasks([taskId], { scale: false, force: false });
    await h.f.onUpdate(status(taskId, 'TASK_LOST'));
    expect(h.f.state.backoffs.has('/web')).toBe(false);
    expect(h.f.state.failures.has('/web')).toBe(false);
  });
});
