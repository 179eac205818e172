/**
 * The SDK's promises, against a real master and agent: a framework that only listens with
 * callbacks holds no growing backlog; with `events()`, an update is acknowledged only once
 * the reader is done with it, so an update it never read is sent again, never lost; a
 * decline's reason reaches the master's offer log; a stream silent for three heartbeat
 * intervals of the SDK's clock counts as lost.
 */
import { once } from 'events';
import { FakeClock } from '../common/clock';
import type { OfferLogEvent } from '../common/operator-types';
import type { SchedulerEvent } from '../common/types';
import { followOffers } from '../cli/offers';
import { subscribe, task, SubscriptionError } from '../frameworks/sdk';
import { masterAddress } from '../common/operator-client';
import { startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

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

  it('declines with a reason that the master\'s offer log shows, as `agora offers` reads it', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'picky' } });
    const offer = await new EventLog(s).offer();
    await s.decline([offer.id], { refuseMs: 0, reason: 'needs a GPU; this agent has none' });
    s.close();

    const controller = new AbortController();
    let declined: OfferLogEvent | undefined;
    await followOffers(masterAddress(cluster.masterAddr), { replay: 1000, signal: controller.signal }, (e) => {
      if (e.type === 'DECLINED' && e.offerId === offer.id) { declined = e; controller.abort(); }
    });
    expect(declined).toMatchObject({ type: 'DECLINED', frameworkId: s.frameworkId, reason: 'needs a GPU; this agent has none' });
  });

  it('counts a stream silent for 3 heartbeat intervals of its clock as lost: disconnected, then subscribed again 200 ms later', async () => {
    // The master sends HEARTBEAT every 15 s of real time; the SDK's fake clock passes 45 s in
    // an instant, so to the SDK the master has gone silent.
    const clock = new FakeClock();
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'watched', failoverTimeoutMs: 60_000 }, clock });
    const frameworkId = s.frameworkId;
    expect(s.heartbeatIntervalMs).toBe(15_000);
    let lost: Error | undefined;
    s.on('disconnected', (err) => { lost = err; });
    clock.advance(44_999);
    expect(lost).toBeUndefined();
    clock.advance(1);
    expect(lost).toBeInstanceOf(SubscriptionError);
    expect(lost?.message).toMatch(/^no event from the master for 45000 ms \(3 heartbeat intervals of 15000 ms\)/);
    expect(s.connected).toBe(false);
    await expect(s.revive()).rejects.toThrow("Revive while the master is away: the SDK is subscribing again; call again after 'resubscribed'");

    const resubscribed = once(s, 'resubscribed');
    clock.advance(199);
    expect(s.connected).toBe(false);
    clock.advance(1);
    expect(await resubscribed).toEqual([cluster.grpcAddr]);
    expect(s.frameworkId).toBe(frameworkId);
    expect(s.connected).toBe(true);
    await s.revive();
    s.close();
  });

  it('without reconnect, a silent stream closes the subscription with the reason', async () => {
    const clock = new FakeClock();
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'one-shot' }, reconnect: false, maxMissedHeartbeats: 2, clock });
    const closed: (Error | undefined)[] = [];
    s.on('closed', (err) => closed.push(err));
    clock.advance(29_999);
    expect(closed).toEqual([]);
    clock.advance(1);
    expect(closed).toHaveLength(1);
    expect(closed[0]?.message).toMatch(/^no event from the master for 30000 ms \(2 heartbeat intervals of 15000 ms\)/);
    await expect(s.revive()).rejects.toThrow('Revive after the subscription closed');
  });
});
