/**
 * What the master tells the operator event stream as frameworks, agents and tasks change:
 * the core driven on a fake clock, the journal read back in id order.
 */
import type { OperatorEvent } from '../common/operator-types';
import { parse } from '../common/resources';
import type { FrameworkInfo } from '../common/types';
import { frameworkInfo, harness, RecordingStream, taskInfo } from '../test/support/master-harness';

type H = ReturnType<typeof harness>;

/** Each event after `fromId`, as `TYPE detail`, offers left out (they have their own tests). */
function told(h: H, fromId = 0): string[] {
  const r = h.events.after(fromId);
  if (!r.ok) throw new Error(`journal: ${r.why}`);
  return r.events.filter((e) => e.type !== 'OFFER').map(line);
}

function line(e: OperatorEvent): string {
  switch (e.type) {
    case 'TASK_ADDED': case 'TASK_UPDATED':
      return `${e.type} ${e.task.id} ${e.task.state}${e.task.healthy === undefined ? '' : ` healthy=${e.task.healthy}`}`;
    case 'AGENT_ADDED': case 'AGENT_UPDATED': return `${e.type} ${e.agent.status}`;
    case 'FRAMEWORK_ADDED': case 'FRAMEWORK_UPDATED': return `${e.type} ${e.framework.name} connected=${e.framework.connected}`;
    case 'AGENT_REMOVED': return `${e.type} ${e.reason}`;
    case 'FRAMEWORK_REMOVED': return `${e.type} ${e.name} ${e.reason}`;
    case 'OFFER': return `${e.type} ${e.kind}`;
  }
}

async function withTask(failoverTimeoutMs = 0, capabilities: FrameworkInfo['capabilities'] = []) {
  const h = harness();
  const agentId = await h.addAgent('cpus:4;mem:4096');
  const fw = h.subscribe({ name: 'fw', failoverTimeoutMs, capabilities });
  h.clock.advance(0);
  h.master.accept({ ...fw.call, offerIds: [fw.stream.lastOffer().id], operations: [{ type: 'LAUNCH', id: '', tasks: [taskInfo('t1', 'cpus:1;mem:64')] }], filters: {} });
  return { ...h, agentId, fw };
}

describe('operator events from the master', () => {
  it('tell an agent, a framework and a task\'s life in order; a resent update is told once', async () => {
    const h = await withTask();
    const health = (healthy: boolean, uuid: string) => h.master.statusUpdate({ frameworkId: h.fw.frameworkId, status: {
      taskId: 't1', state: 'TASK_RUNNING', message: 'health check', source: 'SOURCE_EXECUTOR', reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
      agentId: h.agentId, frameworkId: h.fw.frameworkId, uuid, timestampMs: h.clock.now(), containerId: '', healthy,
    } });
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    health(false, 'u2');
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_FINISHED', 'u3');
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_FAILED', 'u4');   // too late: terminal states stick
    expect(told(h)).toEqual([
      'AGENT_ADDED ACTIVE',
      'FRAMEWORK_ADDED fw connected=true',
      'TASK_ADDED t1 TASK_STAGING',
      'TASK_UPDATED t1 TASK_RUNNING',
      'TASK_UPDATED t1 TASK_RUNNING healthy=false',
      'TASK_UPDATED t1 TASK_FINISHED',
    ]);
    const ids = h.events.after(0);
    expect(ids.ok && ids.events.map((e) => e.id)).toEqual(Array.from({ length: h.events.lastId() }, (_, i) => i + 1));
  });

  it('tell an agent going unreachable before its tasks', async () => {
    const h = await withTask(0, ['PARTITION_AWARE']);
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    const from = h.events.lastId();
    h.silence(h.agentId);
    h.clock.advance(20_000);   // 3 missed heartbeats of 5 s, noticed at the next check
    expect(told(h, from)).toEqual(['AGENT_UPDATED UNREACHABLE', 'TASK_UPDATED t1 TASK_UNREACHABLE']);
  });

  it('tell an agent that re-registers, reporting its task running, as ACTIVE again', async () => {
    const h = await withTask(0, ['PARTITION_AWARE']);
    h.status(h.fw.frameworkId, h.agentId, 't1', 'TASK_RUNNING', 'u1');
    h.silence(h.agentId);
    h.clock.advance(20_000);
    const from = h.events.lastId();
    const before = h.master.state().tasks[0];
    await h.master.registerAgent({
      agentInfo: { id: h.agentId, hostname: 'host', resources: parse('cpus:4;mem:4096'), attributes: {}, port: 5051 },
      tasks: [{ taskId: 't1', name: 't1', frameworkId: h.fw.frameworkId, agentId: h.agentId, state: 'TASK_RUNNING', resources: parse('cpus:1;mem:64') }],
      version: 'test',
    });
    expect(before?.state).toBe('TASK_UNREACHABLE');
    expect(told(h, from)).toEqual(['AGENT_UPDATED ACTIVE', 'TASK_UPDATED t1 TASK_RUNNING']);
  });

  it('tell an agent that leaves after its tasks end TASK_GONE', async () => {
    const h = await withTask();
    const from = h.events.lastId();
    await h.master.unregisterAgent(h.agentId, 'stopped');
    expect(told(h, from)).toEqual(['TASK_UPDATED t1 TASK_GONE', `AGENT_REMOVED agent ${h.agentId} left: stopped`]);
  });

  it('tell a framework disconnecting, failing over, changing its name and tearing down', async () => {
    const h = await withTask(60_000);
    const from = h.events.lastId();
    h.master.disconnect(h.fw.frameworkId, h.fw.streamId);
    const again = h.master.subscribe(frameworkInfo({ id: h.fw.frameworkId, name: 'fw', failoverTimeoutMs: 60_000 }), new RecordingStream());
    h.master.updateFramework({ frameworkId: h.fw.frameworkId, streamId: again.streamId, frameworkInfo: frameworkInfo({ name: 'fw2', failoverTimeoutMs: 60_000 }) });
    await h.master.teardown({ frameworkId: h.fw.frameworkId, streamId: again.streamId });
    expect(told(h, from)).toEqual([
      'FRAMEWORK_UPDATED fw connected=false',
      'FRAMEWORK_UPDATED fw connected=true',
      'FRAMEWORK_UPDATED fw2 connected=true',
      'TASK_UPDATED t1 TASK_KILLED',
      'FRAMEWORK_REMOVED fw2 torn down by the framework',
    ]);
  });
});
