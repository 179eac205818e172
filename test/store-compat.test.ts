/**
 * State stored in Redis by the frameworks before the shared runtime (commit 116a088) loads
 * and runs on today's code. test/fixtures/redis-before-runtime.json is every key that code
 * wrote into a real Redis while the services framework ran three apps (one healthy
 * instance, hostname UNIQUE on one agent; one failed, with a backoff; one waiting for offers) and the jobs framework ran a
 * Metronome job to success and started a Chronos parent with a dependent child. The test
 * writes those keys into a real redis-server, loads both frameworks on them and checks what
 * they know and what they ask the master. (The fixture was written once, by a script run
 * against that commit's build with a fake clock; a key dump, so it holds no secrets.)
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import Redis from 'ioredis';
import { FakeClock } from '../common/clock';
import { logger } from '../common/log';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import type { Driver } from '../frameworks/shared/driver';
import { JobsFramework } from '../frameworks/jobs/framework';
import { RedisJobsStore } from '../frameworks/jobs/store';
import { ServicesFramework } from '../frameworks/services/framework';
import { RedisStore } from '../frameworks/services/store';
import { Commands } from '../frameworks/services/commands';

type Dump = Record<string, { type: 'string' | 'hash' | 'list' | 'set'; value: unknown }>;
const T0 = Date.parse('2026-12-01T00:00:05Z');

class RecordingDriver implements Driver {
  readonly calls: { call: string; arg: unknown }[] = [];
  private record(call: string, arg: unknown): Promise<void> { this.calls.push({ call, arg }); return Promise.resolve(); }
  launch() { return this.record('launch', undefined); }
  decline() { return this.record('decline', undefined); }
  kill(taskId: string) { return this.record('kill', taskId); }
  acknowledge() { return this.record('acknowledge', undefined); }
  reconcile(tasks?: { taskId: string }[]) { return this.record('reconcile', (tasks ?? []).map((t) => t.taskId).sort()); }
  revive() { return this.record('revive', undefined); }
  suppress() { return this.record('suppress', undefined); }
  of(call: string): unknown[] { return this.calls.filter((c) => c.call === call).map((c) => c.arg); }
}

let redis: RedisServer;
let url: string;

beforeAll(async () => {
  redis = await startRedisServer();
  url = `redis://127.0.0.1:${redis.port}`;
  const dump = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'redis-before-runtime.json'), 'utf8')) as Dump;
  const client = new Redis(url);
  for (const [key, { type, value }] of Object.entries(dump)) {
    if (type === 'string') await client.set(key, value as string);
    else if (type === 'hash') await client.hset(key, value as Record<string, string>);
    else if (type === 'list') await client.rpush(key, ...(value as string[]));
    else await client.sadd(key, ...(value as string[]));
  }
  client.disconnect();
});

afterAll(() => redis?.stop());

describe('state stored before the shared runtime', () => {
  it('loads into the services framework, which carries on with it', async () => {
    const store = await RedisStore.connect(url);
    const f = await ServicesFramework.load({ store, clock: new FakeClock(T0), log: logger('test'), newId: () => 'new' });
    try {
      expect(f.state.frameworkId).toBe('services-fw-1');
      expect([...f.state.apps.keys()].sort()).toEqual(['/batch/worker', '/big', '/shop/web']);
      const web = [...f.state.instances.values()].filter((i) => i.appId === '/shop/web');
      expect(web.map((i) => [i.state, i.healthy])).toEqual([['RUNNING', true]]);
      expect(f.state.backoffs.get('/batch/worker')).toMatchObject({ failures: 1 });
      expect(f.state.failures.get('/batch/worker')).toMatchObject({ state: 'TASK_FAILED', message: 'exited with 1' });
      // Every start still under way: /shop/web has one of its two (one host), the worker fails, /big fits nowhere.
      expect([...f.state.deployments.values()].flatMap((d) => d.actions.map((a) => `${a.action} ${a.app}`)).sort())
        .toEqual(['StartApplication /batch/worker', 'StartApplication /big', 'StartApplication /shop/web']);
      const driver = new RecordingDriver();
      await f.attach(driver, 'services-fw-1');
      // It asks about the instances it knows, kills none, and wants offers for what waits.
      expect(driver.of('reconcile')).toEqual([web.map((i) => i.taskId).sort(), []]);
      expect(driver.of('kill')).toEqual([]);
      expect(driver.of('revive')).toHaveLength(1);
      expect(f.queueEntries().map((q) => q.appId).sort()).toEqual(['/batch/worker', '/big', '/shop/web']);
      // And it takes commands on it: scaling the stored app (over its stored deployment) writes a deployment.
      const d = await new Commands(f).putApp('/shop/web', { instances: 3 }, { force: true, partial: true });
      expect(d.deployment.actions).toEqual([{ action: 'ScaleApplication', app: '/shop/web' }]);
    } finally {
      await f.stop();
      await store.close();
    }
  });

  it('loads into the jobs framework, which carries on with it', async () => {
    const store = await RedisJobsStore.connect(url);
    const f = await JobsFramework.load({ store, clock: new FakeClock(T0), log: logger('test'), random: () => 'x0001' });
    try {
      expect(f.state.frameworkId).toBe('jobs-fw-1');
      expect([...f.state.jobs.keys()].sort()).toEqual(['extract', 'load', 'nightly.report']);
      expect(f.runsOf('nightly.report').map((r) => [r.state, r.attempts.length])).toEqual([['SUCCESS', 1]]);
      const [extract] = f.activeRuns('extract');
      expect(extract?.attempts.map((a) => a.state)).toEqual(['TASK_STAGING']);
      expect(f.state.jobs.get('load')?.parents).toEqual(['extract']);
      expect(new Date(f.nextRun('nightly.report')!).toISOString()).toBe('2026-12-01T01:30:00.000Z');   // 02:30 in Berlin
      const driver = new RecordingDriver();
      await f.attach(driver, 'jobs-fw-1');
      // What it knows, all it has, and (staging for over a minute) the attempt again.
      expect(driver.of('reconcile')).toEqual([[extract!.attempts[0]!.taskId], [], [extract!.attempts[0]!.taskId]]);
      expect(driver.of('kill')).toEqual([]);
      // The child runs once its stored parent's run ends.
      await f.onUpdate({ taskId: extract!.attempts[0]!.taskId, state: 'TASK_FINISHED', exitCode: 0, message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN', agentId: 'agent-1', frameworkId: 'jobs-fw-1', uuid: 'u', timestampMs: 0, containerId: '' });
      expect(f.activeRuns('load')).toHaveLength(1);
    } finally {
      await f.stop();
      await store.close();
    }
  });
});
