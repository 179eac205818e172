/**
 * What a framework reads of the cluster besides its offers, on a fake clock: the agents
 * (GetAgents), and where a task's sandbox is for the master's relay, including for a task the
 * master no longer holds.
 */
import { parse } from '../common/resources';
import { CallError } from './errors';
import { harness, taskInfo } from '../test/support/master-harness';

/** The CallError `call` throws, as its code and message. */
function refusal(call: () => unknown): { code: string; message: string } | undefined {
  try {
    call();
  } catch (err) {
    if (err instanceof CallError) return { code: err.code, message: err.message };
    throw err;
  }
  return undefined;
}

const launch = (...tasks: ReturnType<typeof taskInfo>[]) => [{ type: 'LAUNCH' as const, id: '', tasks }];

describe('GetAgents', () => {
  it('lists every agent with its hostname, HTTP port, attributes and total resources; a silent one as unreachable', async () => {
    const h = harness({ agentHeartbeatIntervalMs: 1000, agentMaxMissedHeartbeats: 3 });
    const a = await h.addAgent('cpus:4;mem:4096');
    const b = await h.addAgent('cpus:2;mem:1024;ports:[31000-31009]');
    const fw = h.subscribe();
    expect(h.master.getAgents(fw.call)).toEqual([
      { id: a, hostname: 'host-new', port: 5051, attributes: {}, resources: parse('cpus:4;mem:4096'), unreachable: false },
      { id: b, hostname: 'host-new', port: 5051, attributes: {}, resources: parse('cpus:2;mem:1024;ports:[31000-31009]'), unreachable: false },
    ]);
    h.silence(b);
    h.clock.advance(4_000);   // more than 3 missed heartbeats of 1 s
    expect(h.master.getAgents(fw.call).map((x) => [x.id, x.unreachable])).toEqual([[a, false], [b, true]]);
  });

  it('answers only the live subscription: a stale stream id is PERMISSION_DENIED, an unknown framework NOT_FOUND', async () => {
    const h = harness();
    await h.addAgent();
    const fw = h.subscribe();
    expect(refusal(() => h.master.getAgents({ ...fw.call, streamId: 'stale' })))
      .toEqual({ code: 'PERMISSION_DENIED', message: `stream id stale is not the live subscription of framework ${fw.frameworkId}` });
    expect(refusal(() => h.master.getAgents({ frameworkId: 'nobody', streamId: fw.streamId })))
      .toEqual({ code: 'NOT_FOUND', message: 'framework nobody is not known to this master' });
  });
});

describe('where a sandbox is', () => {
  it("is a task's own agent while the master holds the task, whatever agent the caller names", async () => {
    const h = harness();
    const a = await h.addAgent('cpus:4;mem:4096');
    const b = await h.addAgent('cpus:1;mem:64');
    const fw = h.subscribe({ principal: 'team-a' });
    h.clock.advance(0);
    const offer = fw.stream.offers().find((o) => o.agentId === a)!;
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: {} });
    expect(h.master.sandboxOf(fw.frameworkId, 't1')).toEqual({ agentId: a, hostname: 'host-new', port: 5051 });
    expect(h.master.sandboxOf(fw.frameworkId, 't1', b)).toMatchObject({ agentId: a });
    expect(h.master.frameworkPrincipal(fw.frameworkId)).toBe('team-a');
    expect(h.master.frameworkPrincipal('nobody')).toBeUndefined();
  });

  it('is the named agent for a task the master does not hold, and unknown when that agent is not known either', async () => {
    const h = harness();
    const a = await h.addAgent();
    const fw = h.subscribe();
    expect(h.master.sandboxOf(fw.frameworkId, 'long-gone')).toBeUndefined();
    expect(h.master.sandboxOf(fw.frameworkId, 'long-gone', a)).toEqual({ agentId: a, hostname: 'host-new', port: 5051 });
    expect(h.master.sandboxOf(fw.frameworkId, 'long-gone', 'agent-nobody')).toBeUndefined();
  });
});
