/** The jobs store against a real redis-server (its own port), and the memory store beside it. */
import { Redis } from 'ioredis';
import { FencedError } from '../../common/fenced-redis';
import { startRedisServer, type RedisServer } from '../../common/redis-server';
import type { RunRecord } from './history';
import { parseMetronomeJob, type Job } from './job';
import { taskFor } from './launch';
import { MemoryJobsStore, RedisJobsStore, type JobsChange, type JobsStore } from './store';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedisServer(); });
afterAll(async () => { await redis?.stop(); });

const job = (id: string): Job => {
  const r = parseMetronomeJob({ id, run: { cmd: 'true' }, schedules: [{ cron: '0 * * * *' }] });
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.job;
};
const run = (jobId: string, runId: string, at: number): RunRecord => ({ runId, jobId, scheduledAt: at, startedAt: at, state: 'STARTING', attempts: [] });

const changes: JobsChange[] = [
  { jobs: [job('a'), job('b')] },
  // An occurrence started: its run and the cursor in one write.
  { runs: [run('a', 'a-1', 3_600_000)], cursors: [{ jobId: 'a', at: 3_600_000 }] },
  { runs: [{ ...run('a', 'a-1', 3_600_000), state: 'SUCCESS', endedAt: 3_660_000 }, run('b', 'b-1', 3_600_000)], dag: { doneAt: { a: 3_660_000 }, triggeredAt: { b: 3_660_000 } } },
  { deleteJobs: ['b'] },
];

describe('the jobs store', () => {
  it('keeps runs, cursors and the dependency state across a reconnect, exactly as the memory store does', async () => {
    const prefix = `t${Date.now()}:`;
    const stores: JobsStore[] = [await RedisJobsStore.connect(redis.url, prefix), new MemoryJobsStore()];
    for (const store of stores) for (const c of changes) await store.commit(c);
    const again = await RedisJobsStore.connect(redis.url, prefix);
    const [fromRedis, fromMemory] = [await again.load(), await stores[1]!.load()];
    expect(fromRedis).toEqual(fromMemory);
    expect([...fromRedis.jobs.keys()]).toEqual(['a']);
    expect(fromRedis.cursors.get('a')).toBe(3_600_000);
    expect(fromRedis.runs.get('a')?.map((r) => [r.runId, r.state])).toEqual([['a-1', 'SUCCESS']]);
    expect(fromRedis.runs.has('b')).toBe(false);   // went with its job
    expect(fromRedis.dag).toEqual({ doneAt: { a: 3_660_000 }, triggeredAt: { b: 3_660_000 } });
    for (const s of [...stores, again]) await s.close();
  });

  it('keeps a job\'s volumes, and loads a job stored before there were volumes as one without', async () => {
    const prefix = `vol${Date.now()}:`;
    const parsed = parseMetronomeJob({ id: 'etl', run: { cmd: 'etl.sh', docker: { image: 'agora/busybox:latest' }, volumes: [
      { containerPath: '/data', hostPath: '/srv/data', mode: 'RW' }, { containerPath: '/cache', hostPath: 'cache', mode: 'RO' },
    ] } });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.details));
    const store = await RedisJobsStore.connect(redis.url, prefix);
    await store.commit({ jobs: [parsed.job] });
    // A job as the code before volumes wrote it: no volumes field at all.
    const old = { ...job('old'), image: 'agora/busybox:latest' };
    expect(JSON.stringify(old)).not.toContain('volumes');
    const raw = new Redis(redis.url);
    await raw.hset(`${prefix}jobs`, 'old', JSON.stringify(old));
    raw.disconnect();
    const again = await RedisJobsStore.connect(redis.url, prefix);
    const loaded = await again.load();
    expect(loaded.jobs.get('etl')).toEqual(parsed.job);
    expect(loaded.jobs.get('etl')!.volumes).toEqual([{ containerPath: '/data', hostPath: '/srv/data', mode: 'RW' }, { containerPath: '/cache', hostPath: 'cache', mode: 'RO' }]);
    expect(loaded.jobs.get('old')).toEqual(old);
    expect(taskFor(loaded.jobs.get('old')!, run('old', 'o-1', 0), 1, { agentId: 'a1' }).container).toEqual({
      type: 'DOCKER', docker: { image: 'agora/busybox:latest', portMappings: [], forcePullImage: false },
    });
    for (const s of [store, again]) await s.close();
  });

  it('refuses to load a record that does not parse, naming its key', async () => {
    const prefix = `bad${Date.now()}:`;
    const raw = new Redis(redis.url);
    await raw.hset(`${prefix}jobs`, 'x', '{not json');
    raw.disconnect();
    const store = await RedisJobsStore.connect(redis.url, prefix);
    await expect(store.load()).rejects.toThrow(`${prefix}jobs x does not parse`);
    await store.close();
  });

  it('refuses every write of a framework whose epoch is older than the stored one, changing nothing', async () => {
    const prefix = `fenced${Date.now()}:`;
    const old = await RedisJobsStore.connect(redis.url, prefix, { epoch: 2 });
    const newer = await RedisJobsStore.connect(redis.url, prefix, { epoch: 3 });
    await old.commit({ jobs: [job('a')] });
    await newer.commit({ runs: [run('a', 'a-1', 3_600_000)], cursors: [{ jobId: 'a', at: 3_600_000 }] });
    await newer.saveFrameworkId('jobs-fw-1');
    const before = await newer.load();
    const fenced = `a newer leader (epoch 3) has written under ${prefix}epoch; this one (epoch 2) must stop`;
    await expect(old.commit({ runs: [run('a', 'a-2', 7_200_000)], cursors: [{ jobId: 'a', at: 7_200_000 }] })).rejects.toThrow(FencedError);
    await expect(old.commit({ deleteJobs: ['a'] })).rejects.toThrow(fenced);
    await expect(old.saveFrameworkId('jobs-fw-2')).rejects.toThrow(fenced);
    expect(await newer.load()).toEqual(before);
    expect(before.cursors.get('a')).toBe(3_600_000);
    for (const s of [old, newer]) await s.close();
  });

  it('fails at once, naming the URL, when Redis is not there', async () => {
    await expect(RedisJobsStore.connect('redis://127.0.0.1:1')).rejects.toThrow('cannot connect to Redis at redis://127.0.0.1:1');
  });
});
