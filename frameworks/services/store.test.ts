/** The services store against a real redis-server (its own port): fenced writes. */
import { FencedError } from '../../common/fenced-redis';
import { startRedisServer, type RedisServer } from '../../common/redis-server';
import type { Change, InstanceRecord } from './model';
import { RedisStore } from './store';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedisServer(); });
afterAll(async () => { await redis?.stop(); });

const instance = (taskId: string, state: InstanceRecord['state']): InstanceRecord => ({
  instanceId: taskId, taskId, appId: '/web', configVersion: 'v1', version: 'v1', agentId: 'agent-1', hostname: 'h1',
  attributes: {}, hostPorts: [], state, stagedAt: 1000,
});

describe('the services store', () => {
  it('refuses every write of a framework whose epoch is older than the stored one, changing nothing', async () => {
    const prefix = `fenced${Date.now()}:`;
    const old = await RedisStore.connect(redis.url, prefix, { epoch: 2 });
    const newer = await RedisStore.connect(redis.url, prefix, { epoch: 3 });
    await old.commit({ instances: [instance('web.1', 'STAGING')] });
    await newer.commit({ instances: [instance('web.1', 'RUNNING')] });
    await newer.saveFrameworkId('services-fw-1');
    const before = await newer.load();
    const fenced = `a newer leader (epoch 3) has written under ${prefix}epoch; this one (epoch 2) must stop`;
    const stale: Change[] = [
      { instances: [instance('web.2', 'STAGING')] },   // a launch the old leader would store before its Accept
      { deleteInstances: ['web.1'] },
      { backoffs: [{ appId: '/web', backoff: null }] },
    ];
    await expect(old.commit(stale[0]!)).rejects.toThrow(FencedError);
    for (const c of stale.slice(1)) await expect(old.commit(c)).rejects.toThrow(fenced);
    await expect(old.saveFrameworkId('services-fw-2')).rejects.toThrow(fenced);
    const after = await newer.load();
    expect(after).toEqual(before);
    expect([...after.instances.values()].map((i) => [i.taskId, i.state])).toEqual([['web.1', 'RUNNING']]);
    expect(after.frameworkId).toBe('services-fw-1');
    for (const s of [old, newer]) await s.close();
  });
});
