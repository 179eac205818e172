/**
 * The SDK's promises, against a real master and agent: a framework that only listens with
 * callbacks holds no growing backlog; with `events()`, an update is acknowledged only once
 * the reader is done with it, so an update it never read is sent again, never lost.
 */
import type { SchedulerEvent } from '../common/types';
import { subscribe, task } from '../frameworks/sdk';
import { startCluster, type TestCluster } from './support/cluster';

describe('the scheduler SDK', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // resend unacknowledged updates after 200 ms, so an update that was not acknowledged shows up quickly
    cluster = await startCluster({ containerizer: 'process', agentOptions: { statusRetryInitialMs: 200, statusRetryMaxMs: 400 } });
  });
  afterAll(async () => { await cluster.stop(); });

  it('keeps a callback-only framework alive past maxBufferedEvents: nothing piles up unread', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'callbacks' }, maxBufferedEvents: 3, replayWindow: 3 });
    let closed: Error | undefined;
    s.on('closed', (err) => { closed = err ?? new Error('closed'); });
    let seen = 0;
    await new Promise<void>((resolve) => {
      s.on('offers', (offers) => {
        // declined with no filter, so the same resources come straight back as new offers
        s.decline(offers.map((o) => o.id), { refuseMs: 0 }).catch(() => undefined);
        if ((seen += offers.length) >= 10) resolve();
      });
    });
    expect(closed).toBeUndefined();
    s.close();
  });

  it('with events(), acknowledges an update only after the reader moved past it', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'reader' } });
    const reader = s.events();
    const next = async (match: (e: SchedulerEvent) => boolean): Promise<SchedulerEvent> => {
      for (;;) {
        const r = await reader.next();
        if (r.done) throw new Error('subscription ended');
        if (match(r.value)) return r.value;
      }
    };
    const update = (state: string) => (e: SchedulerEvent): e is Extract<SchedulerEvent, { type: 'UPDATE' }> =>
      e.type === 'UPDATE' && e.status.taskId === 'read-me' && e.status.state === state;

    const offered = await next((e) => e.type === 'OFFERS') as Extract<SchedulerEvent, { type: 'OFFERS' }>;
    const offer = offered.offers[0]!;
    await s.launch(offer, [task({ id: 'read-me', command: 'sleep 600', cpus: 0.1, mem: 32, process: true }, offer)]);
    const starting = await next(update('TASK_STARTING')) as Extract<SchedulerEvent, { type: 'UPDATE' }>;

    // The reader holds STARTING and asks for nothing more: no acknowledgement goes out, so
    // the agent sends the same update again.
    await new Promise<void>((resolve) => {
      const onUpdate = (st: { uuid: string }) => { if (st.uuid === starting.status.uuid) { s.off('update', onUpdate); resolve(); } };
      s.on('update', onUpdate);
    });
    // Moving on acknowledges it; the resent copy comes next, then RUNNING.
    const again = await next((e) => e.type === 'UPDATE' && e.status.taskId === 'read-me') as Extract<SchedulerEvent, { type: 'UPDATE' }>;
    expect(again.status).toMatchObject({ state: 'TASK_STARTING', uuid: starting.status.uuid });
    await next(update('TASK_RUNNING'));
    await s.kill('read-me');
    await next(update('TASK_KILLED'));
    s.close();
  });
});
