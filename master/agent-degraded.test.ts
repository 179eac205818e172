/**
 * A degraded agent (its container engine does not answer, so it takes no launches) on a fake
 * clock: its offers are rescinded, it is left out of allocation and shown degraded with the
 * agent's reason; when it heartbeats without a reason it is offered again.
 */
import { parse } from '../common/resources';
import { harness } from '../test/support/master-harness';
import { offerable } from './agents';

const WHY = 'the container engine has not answered for 30 s (3 probes in a row failed; the last: no answer within 5000 ms)';

async function offeredAgent() {
  const h = harness({ agentHeartbeatIntervalMs: 1000, agentMaxMissedHeartbeats: 3, allocationIntervalMs: 1000 });
  const agentId = await h.addAgent('cpus:4;mem:4096');
  // The test heartbeats for the agent, saying what a degraded one says.
  h.silence(agentId);
  const fw = h.subscribe();
  h.clock.advance(0);
  return { ...h, agentId, fw };
}

describe('a degraded agent', () => {
  it('offerable: neither unreachable nor degraded', () => {
    expect(offerable({})).toBe(true);
    expect(offerable({ degradedReason: WHY })).toBe(false);
    expect(offerable({ unreachableSince: 1 })).toBe(false);
  });

  it('has its outstanding offer rescinded naming the reason, is offered nothing, and shows the reason in the state', async () => {
    const h = await offeredAgent();
    const outstanding = h.fw.stream.lastOffer();
    expect(outstanding.agentId).toBe(h.agentId);
    expect(h.master.agentHeartbeat({ agentId: h.agentId, degradedReason: WHY })).toEqual({ reregister: false, masterId: h.master.info.id });
    expect(h.fw.stream.of('RESCIND').map((e) => e.offerId)).toEqual([outstanding.id]);
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'RESCINDED', offerId: outstanding.id, reason: `agent ${h.agentId} is degraded: ${WHY}` });
    expect(h.agentView(h.agentId)).toMatchObject({ status: 'ACTIVE', degradedReason: WHY });
    const offers = h.fw.stream.offers().length;
    for (let i = 0; i < 10; i++) {
      h.clock.advance(1_000);
      h.master.agentHeartbeat({ agentId: h.agentId, degradedReason: WHY });
    }
    expect(h.fw.stream.offers()).toHaveLength(offers);
  });

  it('is offered again as soon as it heartbeats without a reason, and no longer shows one', async () => {
    const h = await offeredAgent();
    h.master.agentHeartbeat({ agentId: h.agentId, degradedReason: WHY });
    const offers = h.fw.stream.offers().length;
    h.master.agentHeartbeat({ agentId: h.agentId });
    expect(h.agentView(h.agentId)).not.toHaveProperty('degradedReason');
    h.clock.advance(0);   // the allocation it asked for, before the next interval
    expect(h.fw.stream.offers()).toHaveLength(offers + 1);
    expect(h.fw.stream.lastOffer().agentId).toBe(h.agentId);
  });

  it('is an operator event when it becomes degraded and when it recovers, not for each new wording of the reason', async () => {
    const h = await offeredAgent();
    const from = h.events.lastId();
    const updates = () => {
      const r = h.events.after(from);
      return r.ok ? r.events.filter((e) => e.type === 'AGENT_UPDATED') : [];
    };
    h.master.agentHeartbeat({ agentId: h.agentId, degradedReason: WHY });
    h.master.agentHeartbeat({ agentId: h.agentId, degradedReason: WHY.replace('30 s', '35 s') });
    expect(h.agentView(h.agentId).degradedReason).toMatch(/35 s/);
    h.master.agentHeartbeat({ agentId: h.agentId });
    expect(updates()).toEqual([
      expect.objectContaining({ type: 'AGENT_UPDATED', agent: expect.objectContaining({ id: h.agentId, degradedReason: WHY }) }),
      expect.objectContaining({ type: 'AGENT_UPDATED', agent: expect.not.objectContaining({ degradedReason: expect.anything() }) }),
    ]);
  });

  it('registering degraded (after a master failover, say) is not offered until it recovers', async () => {
    const h = harness({ allocationIntervalMs: 1000 });
    const fw = h.subscribe();
    const { agentId } = await h.master.registerAgent({
      agentInfo: { id: '', hostname: 'h', resources: parse('cpus:4;mem:4096'), attributes: {}, port: 5051 }, tasks: [], version: 'test', degradedReason: WHY,
    });
    h.clock.advance(5_000);
    expect(fw.stream.offers()).toEqual([]);
    expect(h.agentView(agentId).degradedReason).toBe(WHY);
    h.master.agentHeartbeat({ agentId });
    h.clock.advance(0);
    expect(fw.stream.lastOffer().agentId).toBe(agentId);
  });

  it('keeps at most 500 characters of the reason, on one line', async () => {
    const h = await offeredAgent();
    h.master.agentHeartbeat({ agentId: h.agentId, degradedReason: `engine\nsilent ${'x'.repeat(1_000)}` });
    const kept = h.agentView(h.agentId).degradedReason!;
    expect(Array.from(kept)).toHaveLength(500);
    expect(kept.startsWith('engine silent xxx')).toBe(true);
  });
});
