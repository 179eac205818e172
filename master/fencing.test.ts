/**
 * The master core fenced by its epoch: offer ids name it, an Accept of another epoch's offer
 * is refused naming both, and a registry that refuses a write as fenced stops the master.
 * FakeClock, recording ports, a registry seam; no server.
 */
import { FencedError } from '../common/fenced-redis';
import { CallError } from './errors';
import { InMemoryRegistry } from './registry';
import { harness, taskInfo } from '../test/support/master-harness';
import { recordingLogger } from '../test/support/test-clients';

const launch = (...tasks: ReturnType<typeof taskInfo>[]) => [{ type: 'LAUNCH' as const, id: '', tasks }];

/** The same offer id, as the leader of `epoch` would have made it. */
const ofEpoch = (offerId: string, epoch: number) => offerId.replace(/^offer-e\d+-/, `offer-e${epoch}-`);

/** A registry whose writes a newer master has fenced, from the moment `fence()` is called. */
class FenceableRegistry extends InMemoryRegistry {
  private fenced = false;
  fence(): void { this.fenced = true; }
  private check(): Promise<void> {
    return this.fenced ? Promise.reject(new FencedError(8, 7, 'agora:epoch')) : Promise.resolve();
  }
  override admit(...a: Parameters<InMemoryRegistry['admit']>) { return this.check().then(() => super.admit(...a)); }
  override saveFramework(...a: Parameters<InMemoryRegistry['saveFramework']>) { return this.check().then(() => super.saveFramework(...a)); }
  override saveWeights(...a: Parameters<InMemoryRegistry['saveWeights']>) { return this.check().then(() => super.saveWeights(...a)); }
}

describe('offer ids carry the epoch', () => {
  it('makes offers named after its epoch', async () => {
    const h = harness({ epoch: 4 });
    await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    expect(fw.stream.lastOffer().id).toMatch(/^offer-e4-[0-9a-f-]{36}$/);
  });

  it('drops every task of an Accept naming another epoch\'s offer, naming both epochs, and changes nothing', async () => {
    const h = harness({ epoch: 4 });
    const agentId = await h.addAgent('cpus:4;mem:4096');
    const fw = h.subscribe();
    h.clock.advance(0);
    const mine = fw.stream.lastOffer();
    const stale = ofEpoch(mine.id, 3);
    const before = { state: h.agentView(agentId), offers: h.master.state().offers, log: h.offerLog.recent().length };

    h.master.accept({ ...fw.call, offerIds: [stale], operations: launch(taskInfo('t1', 'cpus:1'), taskInfo('t2', 'cpus:1')), filters: {} });

    const message = `invalid offers: offer ${stale} was made by the leader of epoch 3; this leader is epoch 4`;
    expect(fw.stream.updates()).toEqual([
      expect.objectContaining({ taskId: 't1', state: 'TASK_DROPPED', reason: 'REASON_INVALID_OFFERS', source: 'SOURCE_MASTER', message }),
      expect.objectContaining({ taskId: 't2', state: 'TASK_DROPPED', reason: 'REASON_INVALID_OFFERS', source: 'SOURCE_MASTER', message }),
    ]);
    expect(h.agents.runs).toEqual([]);
    expect({ state: h.agentView(agentId), offers: h.master.state().offers, log: h.offerLog.recent().length }).toEqual(before);
    // Its own offer is still good.
    h.master.accept({ ...fw.call, offerIds: [mine.id], operations: launch(taskInfo('t3', 'cpus:1')), filters: {} });
    expect(h.agents.runs.map((r) => r.message.task.taskId)).toEqual(['t3']);
  });

  it('ignores a Decline of another epoch\'s offer', async () => {
    const h = harness({ epoch: 4 });
    const agentId = await h.addAgent('cpus:4;mem:4096');
    const fw = h.subscribe();
    h.clock.advance(0);
    const mine = fw.stream.lastOffer();
    const before = { state: h.agentView(agentId), log: h.offerLog.recent().length };
    h.master.decline({ ...fw.call, offerIds: [ofEpoch(mine.id, 5)], filters: { refuseMs: 60_000 } });
    expect({ state: h.agentView(agentId), log: h.offerLog.recent().length }).toEqual(before);
    expect(h.master.state().offers.map((o) => o.id)).toEqual([mine.id]);
  });
});

describe('a master fenced by its registry', () => {
  it('stops acting, logs it as fatal, and refuses every later call UNAVAILABLE naming the epochs', async () => {
    const registry = new FenceableRegistry();
    const log = recordingLogger();
    const h = harness({ epoch: 7 }, { registry, log });
    const agentId = await h.addAgent();
    const fw = h.subscribe({ failoverTimeoutMs: 60_000 });
    h.clock.advance(0);
    expect(fw.stream.offers()).toHaveLength(1);

    registry.fence();
    // An agent's admission waits for the registry: refused, and the master stops.
    const refused = h.addAgent('cpus:1;mem:128', 'agent-late');
    await expect(refused).rejects.toThrow(CallError);
    await expect(refused).rejects.toMatchObject({
      code: 'UNAVAILABLE', message: 'this master (epoch 7) was fenced: a newer leader (epoch 8) has written under agora:epoch; this one (epoch 7) must stop',
    });
    expect(log.lines.filter((l) => l.level === 'error' && l.fields?.fatal === true).map((l) => l.msg))
      .toEqual(['FATAL: this master (epoch 7) was fenced and stops acting']);
    expect(h.master.fencedReason).toBe('a newer leader (epoch 8) has written under agora:epoch; this one (epoch 7) must stop');
    expect(fw.stream.closed).toBe(true);

    const offersBefore = fw.stream.offers().length;
    h.silence(agentId);   // its heartbeats would be refused too (below)
    h.clock.advance(60_000);
    expect(fw.stream.offers()).toHaveLength(offersBefore);
    expect(() => h.master.accept({ ...fw.call, offerIds: [fw.stream.lastOffer().id], operations: launch(taskInfo('t1', 'cpus:1')), filters: {} }))
      .toThrow(/^this master \(epoch 7\) was fenced: a newer leader \(epoch 8\)/);
    expect(() => h.master.agentHeartbeat({ agentId: 'agent-late' })).toThrow(CallError);
    await expect(h.master.updateWeights({ prod: 2 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(h.agents.runs).toEqual([]);
  });

  it('stops likewise when a write it did not wait for is fenced (a framework saved as it disconnects)', async () => {
    const registry = new FenceableRegistry();
    const h = harness({ epoch: 7 }, { registry, log: recordingLogger() });
    const fw = h.subscribe({ failoverTimeoutMs: 60_000 });
    registry.fence();
    h.master.disconnect(fw.frameworkId, fw.streamId);   // saves the framework's failover deadline, unawaited
    await new Promise((r) => setImmediate(r));
    expect(h.master.fencedReason).toMatch(/^a newer leader \(epoch 8\)/);
    expect(() => h.subscribe({ id: fw.frameworkId, failoverTimeoutMs: 60_000 })).toThrow(/was fenced/);
  });
});
