import { allocate as drfAllocate } from './allocator';
import type { AllocateFn } from './allocation';
import type { HistogramSnapshot } from './metrics-histogram';
import { harness, taskInfo } from '../test/support/master-harness';

const launch = (...tasks: ReturnType<typeof taskInfo>[]) => [{ type: 'LAUNCH' as const, id: '', tasks }];

/** Observations at or under `le` seconds (a bound of LATENCY_BUCKETS_SECONDS). */
function under(h: HistogramSnapshot, le: number): number {
  const i = h.bounds.indexOf(le);
  if (i < 0) throw new Error(`${le} is not a bucket bound`);
  return h.cumulative[i] as number;
}

/** A framework holding one offer of a 4-cpu agent, allocation cycles far apart. */
async function offered(options: Parameters<typeof harness>[0] = {}, deps: Parameters<typeof harness>[1] = {}) {
  const h = harness({ allocationIntervalMs: 60_000, ...options }, deps);
  const agentId = await h.addAgent('cpus:4;mem:4096');
  const fw = h.subscribe({ failoverTimeoutMs: 600_000 });
  h.clock.advance(0);
  return { h, agentId, fw, offer: fw.stream.lastOffer() };
}

describe('agora_allocation_duration_seconds', () => {
  it('observes every allocation cycle on the stopwatch: 7 ms passes land under 10 ms, not under 5 ms', async () => {
    let stopwatch = 0;
    const allocate: AllocateFn = (snapshot, now, random) => {
      stopwatch += 7;
      return drfAllocate(snapshot, now, random);
    };
    const h = harness({ allocationIntervalMs: 1000 }, { stopwatchMs: () => stopwatch, allocate });
    await h.addAgent();
    h.subscribe();
    h.clock.advance(3000);
    const { counts, latencies } = h.master.metrics();
    expect(counts.allocationRuns).toBeGreaterThanOrEqual(3);
    expect(latencies.allocation.count).toBe(counts.allocationRuns);
    expect(latencies.allocation.sum).toBeCloseTo(0.007 * counts.allocationRuns, 9);
    expect([under(latencies.allocation, 0.005), under(latencies.allocation, 0.01)]).toEqual([0, counts.allocationRuns]);
  });
});

describe('agora_offer_accept_seconds', () => {
  it('times an accepted offer from when it was sent to when the Accept arrived, once', async () => {
    const { h, fw, offer } = await offered();
    h.clock.advance(1500);
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: {} });
    const { latencies, counts } = h.master.metrics();
    expect(latencies.offerAccept).toMatchObject({ count: 1, sum: 1.5 });
    expect([under(latencies.offerAccept, 1), under(latencies.offerAccept, 2.5)]).toEqual([0, 1]);
    expect(latencies.offerAccept.count).toBe(counts.offers.accepted);
  });

  it('does not time an offer named in an invalid Accept, named but left unused, or declined', async () => {
    const { h, fw } = await offered();
    await h.addAgent('cpus:4;mem:4096');
    await h.addAgent('cpus:4;mem:4096');
    h.clock.advance(0);
    const [first, second, third] = fw.stream.offers().map((o) => o.id) as [string, string, string];
    expect(third).toBeDefined();
    h.clock.advance(100);
    h.master.accept({ ...fw.call, offerIds: ['offer-unknown', first], operations: launch(taskInfo('t0', 'cpus:1;mem:128')), filters: {} });
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'DECLINED', offerId: first });
    h.master.accept({ ...fw.call, offerIds: [second], operations: [], filters: {} });
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'DECLINED', offerId: second, reason: 'unused in accept' });
    h.master.decline({ ...fw.call, offerIds: [third], filters: {} });
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'DECLINED', offerId: third });
    expect(h.master.metrics().latencies.offerAccept.count).toBe(0);
  });

  it('starts the time when OFFERS is sent, after a slow allocation pass, not when the pass began', async () => {
    // Each pass takes 30 ms of the master's clock; the framework answers 1 s after it hears the offer.
    const allocate: AllocateFn = (snapshot, now, random) => {
      h.clock.advance(30);
      return drfAllocate(snapshot, now, random);
    };
    const h = harness({ allocationIntervalMs: 60_000 }, { allocate });
    await h.addAgent('cpus:4;mem:4096');
    const fw = h.subscribe();
    h.clock.advance(0);
    const offer = fw.stream.lastOffer();
    h.clock.advance(1000);
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: {} });
    expect(h.master.state().offers).toHaveLength(0);
    expect(h.master.metrics().latencies.offerAccept).toMatchObject({ count: 1, sum: 1 });
  });
});

describe('agora_task_launch_to_running_seconds', () => {
  it('times a task from its run message to the first TASK_RUNNING, through TASK_STARTING', async () => {
    const { h, agentId, fw, offer } = await offered();
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: {} });
    expect(h.agents.runs).toHaveLength(1);
    h.clock.advance(300);
    h.status(fw.frameworkId, agentId, 't1', 'TASK_STARTING', 'u1');
    expect(h.master.metrics().latencies.launchToRunning.count).toBe(0);
    h.clock.advance(200);
    h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u2');
    const timed = h.master.metrics().latencies.launchToRunning;
    expect(timed).toMatchObject({ count: 1, sum: 0.5 });
    expect([under(timed, 0.25), under(timed, 0.5)]).toEqual([0, 1]);
  });

  it('times a launch once: not a resent RUNNING, not a later RUNNING, not a task that ended first', async () => {
    const { h, agentId, fw, offer } = await offered();
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128'), taskInfo('t2', 'cpus:1;mem:128')), filters: {} });
    h.clock.advance(1000);
    h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u1');
    h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u1'); // resent until acknowledged
    h.clock.advance(5000);
    h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u2'); // e.g. its health changed
    h.status(fw.frameworkId, agentId, 't2', 'TASK_FAILED', 'u3');
    h.status(fw.frameworkId, agentId, 't2', 'TASK_RUNNING', 'u4'); // late: the task already ended
    expect(h.master.metrics().latencies.launchToRunning).toMatchObject({ count: 1, sum: 1 });
  });
});

describe('agora_status_update_seconds', () => {
  it("times an agent's update from its stamp to the master forwarding it", async () => {
    const { h, agentId, fw, offer } = await offered();
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: {} });
    h.clock.advance(1000);
    h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u1', h.clock.now() - 40);
    expect(fw.stream.updates().at(-1)).toMatchObject({ taskId: 't1', state: 'TASK_RUNNING', uuid: 'u1' });
    const timed = h.master.metrics().latencies.statusUpdate;
    expect(timed).toMatchObject({ count: 1, sum: 0.04 });
    expect([under(timed, 0.025), under(timed, 0.05)]).toEqual([0, 1]);
  });

  it('times only first deliveries: not a resend, not an unstamped update, not one a disconnected framework missed', async () => {
    const { h, agentId, fw, offer } = await offered();
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128'), taskInfo('t2', 'cpus:1;mem:128')), filters: {} });
    const stamp = h.clock.now();
    h.clock.advance(10);
    h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u1', stamp);
    h.clock.advance(10_000);
    h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u1', stamp); // the agent's resend, 10 s on
    h.status(fw.frameworkId, agentId, 't2', 'TASK_STARTING', 'u2', 0);
    h.master.disconnect(fw.frameworkId, fw.streamId);
    h.status(fw.frameworkId, agentId, 't2', 'TASK_RUNNING', 'u3');
    expect(fw.stream.updates().map((u) => u.uuid)).toEqual(['u1', 'u1', 'u2']);
    expect(h.master.metrics().latencies.statusUpdate).toMatchObject({ count: 1, sum: 0.01 });
  });

  it('counts an agent clock ahead of the master as 0, not as a negative time', async () => {
    const { h, agentId, fw, offer } = await offered();
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: {} });
    h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u1', h.clock.now() + 2000);
    const timed = h.master.metrics().latencies.statusUpdate;
    expect(timed).toMatchObject({ count: 1, sum: 0 });
    expect(under(timed, 0.0005)).toBe(1);
  });
});
