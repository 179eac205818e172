/**
 * Agent health on a fake clock: heartbeats every 1 s, 3 may be missed. A silent agent is
 * unreachable after 3 s; its offers go, its tasks are reported by the framework's
 * capability; when it registers again its running tasks are taken back.
 */
import { parse } from '../common/resources';
import type { Capability } from '../common/types';
import { harness, taskInfo } from '../test/support/master-harness';

const launch = (...tasks: ReturnType<typeof taskInfo>[]) => [{ type: 'LAUNCH' as const, id: '', tasks }];

async function runningTask(capabilities: Capability[]) {
  const h = harness({ agentHeartbeatIntervalMs: 1000, agentMaxMissedHeartbeats: 3 });
  const agentId = await h.addAgent('cpus:4;mem:4096');
  const fw = h.subscribe({ capabilities, failoverTimeoutMs: 60_000 });
  h.clock.advance(0);
  h.master.accept({ ...fw.call, offerIds: [fw.stream.lastOffer().id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: { refuseMs: 0 } });
  h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u1');
  h.clock.advance(1_000);   // the unused resources come back as an offer
  return { ...h, agentId, fw };
}

describe('agent health', () => {
  it('keeps an agent that heartbeats ACTIVE however long it runs', async () => {
    const h = await runningTask(['PARTITION_AWARE']);
    h.clock.advance(600_000);
    expect(h.agentView(h.agentId).status).toBe('ACTIVE');
  });

  it('marks an agent silent for more than 3 × 1 s UNREACHABLE: offers rescinded, tasks TASK_UNREACHABLE, nothing offered there', async () => {
    const h = await runningTask(['PARTITION_AWARE']);
    const outstanding = h.fw.stream.lastOffer();
    h.silence(h.agentId);
    h.clock.advance(3_000);
    expect(h.agentView(h.agentId).status).toBe('ACTIVE');   // 3 s of silence is still allowed
    h.clock.advance(1_000);
    expect(h.agentView(h.agentId).status).toBe('UNREACHABLE');
    expect(h.fw.stream.of('RESCIND').map((e) => e.offerId)).toEqual([outstanding.id]);
    expect(h.fw.stream.updates().at(-1)).toMatchObject({
      taskId: 't1', state: 'TASK_UNREACHABLE', reason: 'REASON_AGENT_DISCONNECTED', source: 'SOURCE_MASTER', uuid: '',
    });
    expect(h.agentView(h.agentId).used).toMatchObject({ cpus: 1, mem: 128 });   // the task may still run there
    const offers = h.fw.stream.offers().length;
    h.clock.advance(10_000);
    expect(h.fw.stream.offers()).toHaveLength(offers);
  });

  it('reports TASK_LOST instead to a framework that is not partition-aware', async () => {
    const h = await runningTask([]);
    h.silence(h.agentId);
    h.clock.advance(5_000);
    expect(h.fw.stream.updates().at(-1)).toMatchObject({ taskId: 't1', state: 'TASK_LOST', reason: 'REASON_AGENT_DISCONNECTED' });
  });

  it('tells an unreachable agent to register again, and takes back the task it still runs', async () => {
    const h = await runningTask(['PARTITION_AWARE']);
    h.silence(h.agentId);
    h.clock.advance(5_000);
    expect(h.master.agentHeartbeat({ agentId: h.agentId })).toMatchObject({ reregister: true });
    await h.master.registerAgent({
      agentInfo: { id: h.agentId, hostname: 'h', resources: parse('cpus:4;mem:4096'), attributes: {}, port: 5051 },
      tasks: [{ taskId: 't1', name: 't1', frameworkId: h.fw.frameworkId, agentId: h.agentId, state: 'TASK_RUNNING', resources: parse('cpus:1;mem:128') }],
      version: 'test',
    });
    expect(h.agentView(h.agentId).status).toBe('ACTIVE');
    expect(h.fw.stream.updates().at(-1)).toMatchObject({ taskId: 't1', state: 'TASK_RUNNING', source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION' });
    expect(h.master.state().tasks).toEqual([expect.objectContaining({ id: 't1', state: 'TASK_RUNNING' })]);
    h.clock.advance(1_000);
    expect(h.fw.stream.lastOffer().agentId).toBe(h.agentId);   // offered again
  });
});

describe('the master losing its own link to the agents (NATS)', () => {
  it('judges no agent while the link is down, however long, nor for 30 s after it is back', async () => {
    const h = await runningTask(['PARTITION_AWARE']);
    const updates = h.fw.stream.updates().length;
    h.master.agentLinkLost();
    h.silence(h.agentId);   // nothing reaches the master now
    h.clock.advance(20_000);
    expect(h.agentView(h.agentId).status).toBe('ACTIVE');
    expect(h.fw.stream.updates()).toHaveLength(updates);   // no TASK_UNREACHABLE for the master's own outage

    h.master.agentLinkRestored();
    h.clock.advance(29_999);
    expect(h.agentView(h.agentId).status).toBe('ACTIVE');   // agents need time to reconnect too
    h.clock.advance(1_000);
    expect(h.agentView(h.agentId).status).toBe('UNREACHABLE');   // silent through the grace as well
  });

  it('makes no offer while the link is down, and offers again once it is back', async () => {
    const h = await runningTask(['PARTITION_AWARE']);
    h.master.decline({ ...h.fw.call, offerIds: [h.fw.stream.lastOffer().id], filters: { refuseMs: 0 } });
    const offers = h.fw.stream.offers().length;
    h.master.agentLinkLost();
    h.clock.advance(10_000);
    expect(h.fw.stream.offers()).toHaveLength(offers);
    h.master.agentLinkRestored();
    h.clock.advance(0);
    expect(h.fw.stream.offers()).toHaveLength(offers + 1);
  });
});

describe('a launch whose run message was lost', () => {
  it('is asked about on its agent once it has been STAGING 10 s, every heartbeat until it moves, and ends with the agent\'s TASK_DROPPED', async () => {
    const h = harness({ agentHeartbeatIntervalMs: 1000, agentMaxMissedHeartbeats: 3 });
    const agentId = await h.addAgent('cpus:4;mem:4096');
    const fw = h.subscribe({ failoverTimeoutMs: 60_000 });
    h.clock.advance(0);
    h.master.accept({ ...fw.call, offerIds: [fw.stream.lastOffer().id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: { refuseMs: 0 } });
    expect(h.agents.runs.map((r) => r.message.task.taskId)).toEqual(['t1']);   // sent, and (say) lost on the way

    h.clock.advance(9_000);
    expect(h.agents.reconciles).toEqual([]);   // a launch may take a while to report
    h.clock.advance(1_000);
    expect(h.agents.reconciles).toEqual([{ agentId, tasks: [{ frameworkId: fw.frameworkId, taskId: 't1' }] }]);
    h.clock.advance(1_000);
    expect(h.agents.reconciles).toHaveLength(2);   // asked again: the question may be lost too

    h.status(fw.frameworkId, agentId, 't1', 'TASK_DROPPED', 'u1');
    expect(fw.stream.updates().at(-1)).toMatchObject({ taskId: 't1', state: 'TASK_DROPPED' });
    expect(h.agentView(agentId).used).toMatchObject({ cpus: 0, mem: 0 });
    h.clock.advance(5_000);
    expect(h.agents.reconciles).toHaveLength(2);
  });
});

describe('an operator marking an agent gone', () => {
  it('ends its tasks TASK_GONE_BY_OPERATOR, rescinds its offers, and refuses the id for good', async () => {
    const h = await runningTask(['PARTITION_AWARE']);
    const outstanding = h.fw.stream.lastOffer();
    h.silence(h.agentId);
    h.clock.advance(5_000);   // partitioned: TASK_UNREACHABLE, and the operator knows the machine is dead
    await h.master.markAgentGone(h.agentId);
    expect(h.fw.stream.updates().at(-1)).toMatchObject({
      taskId: 't1', state: 'TASK_GONE_BY_OPERATOR', reason: 'REASON_AGENT_REMOVED', source: 'SOURCE_MASTER',
    });
    expect(h.fw.stream.of('RESCIND').map((e) => e.offerId)).toContain(outstanding.id);
    expect(h.master.state().agents).toEqual([]);
    await expect(h.master.registerAgent({
      agentInfo: { id: h.agentId, hostname: 'h', resources: parse('cpus:4;mem:4096'), attributes: {}, port: 5051 }, tasks: [], version: 'test',
    })).rejects.toThrow(/was marked gone by an operator and may not register again/);
    await expect(h.master.markAgentGone('agent-nobody')).rejects.toThrow(/agent agent-nobody is not registered/);
  });
});

describe('reconciling tasks the master does not know, by their agent\'s standing', () => {
  it('answers TASK_UNREACHABLE on an unreachable agent and TASK_GONE_BY_OPERATOR on one marked gone', async () => {
    const h = await runningTask(['PARTITION_AWARE']);
    h.silence(h.agentId);
    h.clock.advance(5_000);
    h.master.reconcile({ ...h.fw.call, tasks: [{ taskId: 'never-heard-of', agentId: h.agentId }] });
    expect(h.fw.stream.updates().at(-1)).toMatchObject({ taskId: 'never-heard-of', state: 'TASK_UNREACHABLE', reason: 'REASON_RECONCILIATION' });
    await h.master.markAgentGone(h.agentId);
    h.master.reconcile({ ...h.fw.call, tasks: [{ taskId: 'never-heard-of', agentId: h.agentId }] });
    expect(h.fw.stream.updates().at(-1)).toMatchObject({ taskId: 'never-heard-of', state: 'TASK_GONE_BY_OPERATOR', reason: 'REASON_RECONCILIATION' });
  });
});
