import { parse } from '../common/resources';
import { CallError } from './errors';
import { frameworkInfo, harness, taskInfo } from '../test/support/master-harness';

const launch = (...tasks: ReturnType<typeof taskInfo>[]) => [{ type: 'LAUNCH' as const, id: '', tasks }];

/** A master with one agent, one framework and task t1 (cpus:4, the whole agent) staged on it. */
async function withTask(options: Parameters<typeof harness>[0] = {}, failoverTimeoutMs = 0) {
  const h = harness(options);
  const agentId = await h.addAgent('cpus:4;mem:4096');
  const fw = h.subscribe({ failoverTimeoutMs });
  h.clock.advance(0);
  h.master.accept({ ...fw.call, offerIds: [fw.stream.lastOffer().id], operations: launch(taskInfo('t1', 'cpus:4;mem:4096')), filters: {} });
  return { ...h, agentId, fw };
}

describe('status updates', () => {
  it('forwards an agent update to the framework and moves the task', async () => {
    const h = await withTask();
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    expect(h.fw.stream.updates()).toEqual([expect.objectContaining({ taskId: 't1', state: 'TASK_RUNNING', uuid: 'u1' })]);
    expect(h.master.state().tasks[0]).toMatchObject({ id: 't1', state: 'TASK_RUNNING' });
  });

  it('releases a task\'s resources on a terminal update, and offers them again at the next cycle', async () => {
    const h = await withTask();
    expect(h.agentView(h.agentId).used.cpus).toBe(4);
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_FINISHED', 'u2');
    expect(h.agentView(h.agentId).used.cpus).toBe(0);
    h.clock.advance(1000);
    expect(h.fw.stream.lastOffer().resources).toEqual(parse('cpus:4;mem:4096'));
  });

  it('drops an update about a task from an agent that does not run it', async () => {
    const h = await withTask();
    const other = await h.addAgent('cpus:1;mem:64');
    const before = h.fw.stream.updates().length;
    h.status(h.fw.frameworkId, other, 't1', 'TASK_FINISHED', 'u-forged');
    expect(h.fw.stream.updates()).toHaveLength(before);
    expect(h.agentView(h.agentId).used).toMatchObject({ cpus: 4 });
  });

  it('keeps a terminal state: a late RUNNING does not revive a finished task', async () => {
    const h = await withTask();
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_FAILED', 'u2');
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    expect(h.master.state().tasks[0]).toMatchObject({ state: 'TASK_FAILED' });
    expect(h.agentView(h.agentId).used.cpus).toBe(0);
  });

  it('forwards a resent duplicate again, so the framework can acknowledge it again', async () => {
    const h = await withTask();
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    expect(h.fw.stream.updates().map((u) => u.uuid)).toEqual(['u1', 'u1']);
  });

  it('neither forwards nor acknowledges while the framework is disconnected: the agent will resend', async () => {
    const h = await withTask({}, 60_000);
    h.master.disconnect(h.fw.frameworkId, h.fw.streamId);
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    expect(h.agents.acks).toHaveLength(0);
    expect(h.master.state().tasks[0]).toMatchObject({ state: 'TASK_RUNNING' });
  });
});

describe('acknowledge', () => {
  it('passes the acknowledgement to the task\'s agent, and retires an acknowledged terminal task', async () => {
    const h = await withTask();
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_FINISHED', 'u9');
    h.master.acknowledge({ ...h.fw.call, agentId: '', taskId: 't1', uuid: 'u9' });
    expect(h.agents.acks).toEqual([{ agentId: h.agentId, message: { frameworkId: h.fw.frameworkId, taskId: 't1', uuid: 'u9' } }]);
    // Retired: explicit reconciliation now answers from the agent's standing.
    h.master.reconcile({ ...h.fw.call, tasks: [{ taskId: 't1', agentId: h.agentId }] });
    expect(h.fw.stream.updates().at(-1)).toMatchObject({ taskId: 't1', state: 'TASK_GONE' });
  });

  it('refuses an acknowledgement naming another agent than the task\'s, and sends it nowhere', async () => {
    const h = await withTask();
    const other = await h.addAgent('cpus:1;mem:64');
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_FINISHED', 'u9');
    expect(() => h.master.acknowledge({ ...h.fw.call, agentId: other, taskId: 't1', uuid: 'u9' }))
      .toThrow(new CallError('INVALID_ARGUMENT', `task t1 runs on agent ${h.agentId}, not ${other}`));
    expect(h.agents.acks).toEqual([]);
  });

  it('rejects an acknowledgement without a uuid', async () => {
    const h = await withTask();
    expect(() => h.master.acknowledge({ ...h.fw.call, agentId: h.agentId, taskId: 't1', uuid: '' }))
      .toThrow(new CallError('INVALID_ARGUMENT', 'uuid is missing: only updates that carry a uuid are acknowledged'));
  });
});

describe('kill', () => {
  it('sends KillTask to the agent running a known task', async () => {
    const h = await withTask();
    h.master.kill({ ...h.fw.call, taskId: 't1', agentId: '' });
    expect(h.agents.kills).toEqual([{ agentId: h.agentId, message: { frameworkId: h.fw.frameworkId, taskId: 't1', killPolicy: undefined } }]);
  });

  it('answers a kill of an unknown task with TASK_LOST, REASON_TASK_UNKNOWN, from the master', async () => {
    const h = await withTask();
    h.master.kill({ ...h.fw.call, taskId: 'nope', agentId: h.agentId });
    expect(h.agents.kills).toHaveLength(0);
    expect(h.fw.stream.updates()).toEqual([expect.objectContaining({
      taskId: 'nope', state: 'TASK_LOST', reason: 'REASON_TASK_UNKNOWN', source: 'SOURCE_MASTER', uuid: '',
    })]);
  });
});

describe('reconcile', () => {
  it('implicit: answers every non-terminal task of the framework with its latest state', async () => {
    const h = await withTask();
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    h.master.reconcile({ ...h.fw.call, tasks: [] });
    expect(h.fw.stream.updates().at(-1)).toMatchObject({
      taskId: 't1', state: 'TASK_RUNNING', reason: 'REASON_RECONCILIATION', source: 'SOURCE_MASTER', uuid: '', agentId: h.agentId,
    });
  });

  it('explicit: known task → its state; unknown on a registered agent → TASK_GONE; unknown agent → TASK_UNKNOWN', async () => {
    const h = await withTask();
    h.master.reconcile({ ...h.fw.call, tasks: [
      { taskId: 't1', agentId: h.agentId }, { taskId: 'x', agentId: h.agentId }, { taskId: 'y', agentId: 'agent-gone' },
    ] });
    expect(h.fw.stream.updates().map((u) => [u.taskId, u.state, u.reason])).toEqual([
      ['t1', 'TASK_STAGING', 'REASON_RECONCILIATION'],
      ['x', 'TASK_GONE', 'REASON_RECONCILIATION'],
      ['y', 'TASK_UNKNOWN', 'REASON_RECONCILIATION'],
    ]);
  });
});

describe('framework failover', () => {
  it('rescinds a disconnected framework\'s offers and makes it none until it is back', async () => {
    const h = harness();
    const agentId = await h.addAgent();
    const fw = h.subscribe({ failoverTimeoutMs: 60_000 });
    h.clock.advance(0);
    const offerId = fw.stream.lastOffer().id;
    h.master.disconnect(fw.frameworkId, fw.streamId);
    expect(fw.stream.closed).toBe(true);
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'RESCINDED', offerId, reason: 'framework disconnected' });
    expect(h.agentView(agentId).available.cpus).toBe(4);
    h.clock.advance(10_000);
    expect(h.master.state().offers).toHaveLength(0);
    expect(h.master.state().frameworks[0]).toMatchObject({ connected: false });
  });

  it('keeps the tasks of a framework that comes back with its id within its failover timeout', async () => {
    const h = await withTask({}, 60_000);
    h.master.disconnect(h.fw.frameworkId, h.fw.streamId);
    h.clock.advance(59_000);
    const again = h.subscribe({ id: h.fw.frameworkId, failoverTimeoutMs: 60_000 });
    expect(again.frameworkId).toBe(h.fw.frameworkId);
    expect(again.streamId).not.toBe(h.fw.streamId);
    expect(again.stream.events[0]).toMatchObject({ type: 'SUBSCRIBED', frameworkId: h.fw.frameworkId, streamId: again.streamId, heartbeatIntervalMs: 15_000 });
    h.clock.advance(120_000);
    expect(h.master.state().tasks).toEqual([expect.objectContaining({ id: 't1', state: 'TASK_STAGING' })]);
    expect(h.agents.kills).toHaveLength(0);
  });

  it('removes the framework and kills its tasks when the failover timeout runs out', async () => {
    const h = await withTask({}, 60_000);
    h.master.disconnect(h.fw.frameworkId, h.fw.streamId);
    h.clock.advance(59_999);
    expect(h.agents.kills).toHaveLength(0);
    h.clock.advance(1);
    expect(h.agents.kills.map((k) => k.message.taskId)).toEqual(['t1']);
    expect(h.master.state().frameworks).toHaveLength(0);
    expect(h.agentView(h.agentId).used.cpus).toBe(0);
    expect(() => h.subscribe({ id: h.fw.frameworkId })).toThrow(/was removed/);
  });

  it('removes a framework with failover timeout 0 as soon as it disconnects (the Mesos default)', async () => {
    const h = await withTask({}, 0);
    h.master.disconnect(h.fw.frameworkId, h.fw.streamId);
    expect(h.agents.kills.map((k) => k.message.taskId)).toEqual(['t1']);
    expect(h.master.state().frameworks).toHaveLength(0);
  });

  it('acknowledges itself the late updates of a removed framework\'s tasks, so the agent lets go', async () => {
    const h = await withTask({}, 0);
    h.master.disconnect(h.fw.frameworkId, h.fw.streamId);
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_KILLED', 'u3');
    expect(h.agents.acks).toEqual([{ agentId: h.agentId, message: { frameworkId: h.fw.frameworkId, taskId: 't1', uuid: 'u3' } }]);
  });

  it('closes the older stream when the same framework subscribes again, and ignores its late disconnect', async () => {
    const h = await withTask({}, 0);
    const again = h.subscribe({ id: h.fw.frameworkId });
    expect(h.fw.stream.closed).toBe(true);
    expect(h.fw.stream.events.at(-1)).toMatchObject({ type: 'ERROR' });
    h.master.disconnect(h.fw.frameworkId, h.fw.streamId);
    expect(h.master.state().frameworks).toEqual([expect.objectContaining({ id: h.fw.frameworkId, connected: true })]);
    expect(again.stream.closed).toBe(false);
  });

  it('sends HEARTBEAT every frameworkHeartbeatIntervalMs while connected', () => {
    const h = harness({ frameworkHeartbeatIntervalMs: 15_000 });
    const fw = h.subscribe();
    h.clock.advance(44_999);
    expect(fw.stream.of('HEARTBEAT')).toHaveLength(2);
    h.clock.advance(1);
    expect(fw.stream.of('HEARTBEAT')).toHaveLength(3);
  });

  it('teardown kills the tasks, closes the stream and forgets the framework', async () => {
    const h = await withTask({}, 3_600_000);
    await h.master.teardown(h.fw.call);
    expect(h.agents.kills.map((k) => k.message.taskId)).toEqual(['t1']);
    expect(h.fw.stream.closed).toBe(true);
    expect(h.master.state().frameworks).toHaveLength(0);
    expect(h.master.state().tasks).toEqual([expect.objectContaining({ id: 't1', state: 'TASK_KILLED', reason: 'REASON_FRAMEWORK_REMOVED' })]);
  });

  it('updateFramework changes roles and rescinds offers of a role the framework left', async () => {
    const h = harness();
    await h.addAgent();
    const fw = h.subscribe({ roles: ['*'] });
    h.clock.advance(0);
    const offerId = fw.stream.lastOffer().id;
    h.master.updateFramework({ ...fw.call, frameworkInfo: frameworkInfo({ name: 'renamed', roles: ['web'] }) });
    expect(fw.stream.of('RESCIND')).toEqual([{ type: 'RESCIND', offerId }]);
    expect(h.master.state().frameworks[0]).toMatchObject({ name: 'renamed', roles: ['web'] });
  });
});

describe('calls are checked against the live subscription', () => {
  it.each([
    ['a missing framework id', { frameworkId: '', streamId: 's' }, 'INVALID_ARGUMENT', 'framework_id is missing'],
    ['a missing stream id', { frameworkId: 'fw-1', streamId: '' }, 'INVALID_ARGUMENT', 'stream_id is missing'],
    ['an unknown framework', { frameworkId: 'fw-nobody', streamId: 's' }, 'NOT_FOUND', 'framework fw-nobody is not known'],
  ])('refuses %s', (_what, call, code, message) => {
    const h = harness();
    let error: unknown;
    try { h.master.revive({ ...call, roles: [] }); } catch (err) { error = err; }
    expect(error).toBeInstanceOf(CallError);
    expect(error).toMatchObject({ code, message: expect.stringContaining(message) });
  });

  it('refuses a stale stream id with PERMISSION_DENIED', () => {
    const h = harness();
    const fw = h.subscribe();
    expect(() => h.master.revive({ frameworkId: fw.frameworkId, streamId: 'stream-old', roles: [] }))
      .toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }) as Error);
  });
});

describe('agents', () => {
  it('answers the heartbeat of an unknown agent with reregister', async () => {
    const h = harness();
    const agentId = await h.addAgent();
    expect(h.master.agentHeartbeat({ agentId })).toEqual({ reregister: false, masterId: h.master.info.id });
    expect(h.master.agentHeartbeat({ agentId: 'agent-unknown' })).toEqual({ reregister: true, masterId: h.master.info.id });
  });

  it('keeps a re-registering agent\'s id and adopts the tasks it reports', async () => {
    const h = harness();
    const fw = h.subscribe({ failoverTimeoutMs: 60_000 });
    const task = { taskId: 'old', name: 'old', frameworkId: fw.frameworkId, agentId: 'agent-abc', state: 'TASK_RUNNING' as const, resources: parse('cpus:1;mem:64') };
    const result = await h.master.registerAgent({
      agentInfo: { id: 'agent-abc', hostname: 'h', resources: parse('cpus:2;mem:1024'), attributes: {}, port: 5051 }, tasks: [task], version: 'test',
    });
    expect(result).toMatchObject({ agentId: 'agent-abc', heartbeatIntervalMs: 5000 });
    expect(h.agentView('agent-abc').used).toMatchObject({ cpus: 1, mem: 64 });
    h.clock.advance(0);
    expect(fw.stream.lastOffer().resources).toEqual(parse('cpus:1;mem:960'));
  });

  it('refuses a re-registration too small for the launches still staging on the agent, keeping the agent as it was', async () => {
    const h = await withTask();   // t1 holds cpus:4, the whole agent, and is STAGING
    await expect(h.master.registerAgent({
      agentInfo: { id: h.agentId, hostname: 'h', resources: parse('cpus:1;mem:4096'), attributes: {}, port: 5051 }, tasks: [], version: 'test',
    })).rejects.toThrow(`agent ${h.agentId} re-registers with cpus:1;mem:4096, less than the cpus:4;mem:4096 its tasks hold`);
    expect(h.agentView(h.agentId).total).toMatchObject({ cpus: 4 });
    h.clock.advance(10_000);   // allocation cycles run without tripping the over-commit assertion
  });

  it('forgets an agent that unregisters: its offers rescinded, its tasks TASK_GONE, nothing more offered from it', async () => {
    const h = await withTask();   // t1 staged on the agent
    const spare = await h.addAgent('cpus:1;mem:64');
    h.clock.advance(1_000);
    const spareOffer = h.fw.stream.offers().find((o) => o.agentId === spare)!;
    await h.master.unregisterAgent(spare, 'maintenance');
    expect(h.fw.stream.of('RESCIND').map((e) => e.offerId)).toContain(spareOffer.id);
    await h.master.unregisterAgent(h.agentId, 'the agent was stopped');
    expect(h.fw.stream.updates().at(-1)).toMatchObject({
      taskId: 't1', state: 'TASK_GONE', reason: 'REASON_AGENT_REMOVED', source: 'SOURCE_MASTER', uuid: '',
    });
    expect(h.master.state().agents).toEqual([]);
    const offersBefore = h.fw.stream.offers().length;
    h.clock.advance(10_000);
    expect(h.fw.stream.offers()).toHaveLength(offersBefore);
    await expect(h.master.unregisterAgent(spare, 'again')).rejects.toThrow(new CallError('NOT_FOUND', `agent ${spare} is not registered`));
  });

  it('refuses an agent whose reported tasks hold more than its resources', async () => {
    const h = harness();
    const task = { taskId: 'big', name: 'big', frameworkId: 'fw-x', agentId: 'agent-abc', state: 'TASK_RUNNING' as const, resources: parse('cpus:8') };
    await expect(h.master.registerAgent({
      agentInfo: { id: 'agent-abc', hostname: 'h', resources: parse('cpus:2'), attributes: {}, port: 5051 }, tasks: [task], version: 'test',
    })).rejects.toThrow('agent reports tasks holding cpus:8, more than its resources cpus:2');
    expect(h.master.state().agents).toHaveLength(0);
  });
});
