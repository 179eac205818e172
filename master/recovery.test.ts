import { FakeClock, seededRandom } from '../common/clock';
import { parse } from '../common/resources';
import type { Capability } from '../common/types';
import { resolveConfig } from './config';
import { CallError } from './errors';
import { Master } from './master';
import { OfferLog } from './offer-log';
import { InMemoryRegistry } from './registry';
import { readRegistry } from './recovery';
import { frameworkInfo, RecordingAgents, RecordingStream } from '../test/support/master-harness';

const MINUTE = 60_000;

/** Masters that share one clock and one registry, as a restarted master shares its Redis. */
function cluster() {
  const clock = new FakeClock();
  const registry = new InMemoryRegistry();
  const started: Master[] = [];
  async function startMaster(): Promise<Master> {
    // Registry writes apply in order, after the call that made them: the last master's are in before the next one reads.
    for (const m of started) await m.registrySettled();
    const config = resolveConfig({ clock, random: seededRandom(7), hostname: 'master.test' });
    const master = new Master({ config, agentPort: new RecordingAgents(), offerLog: new OfferLog(100), registry });
    master.recover(await readRegistry(registry));
    master.start();
    started.push(master);
    return master;
  }
  return { clock, registry, startMaster };
}

async function registerAgent(master: Master, id = ''): Promise<string> {
  const result = await master.registerAgent({
    agentInfo: { id, hostname: 'host-1', resources: parse('cpus:4;mem:4096'), attributes: {}, port: 5051 }, tasks: [], version: 'test',
  });
  return result.agentId;
}

function subscribe(master: Master, failoverTimeoutMs: number, id = '', capabilities: Capability[] = []) {
  const stream = new RecordingStream();
  return { ...master.subscribe(frameworkInfo({ id, failoverTimeoutMs, capabilities }), stream), stream };
}

describe('a master recovering from the registry', () => {
  it('records a framework\'s failover deadline when it disconnects, and none while it is connected', async () => {
    const { clock, registry, startMaster } = cluster();
    const a = await startMaster();
    const fw = subscribe(a, 10 * MINUTE);
    expect(await registry.listFrameworks()).toEqual([{ info: expect.objectContaining({ id: fw.frameworkId }), failoverDeadlineMs: null }]);
    a.disconnect(fw.frameworkId, fw.streamId);
    expect(await registry.listFrameworks()).toEqual([{ info: expect.objectContaining({ id: fw.frameworkId }), failoverDeadlineMs: clock.now() + 10 * MINUTE }]);
    a.stop();
  });

  it('removes a framework that stays away at its original deadline, not a fresh timeout later', async () => {
    const { clock, registry, startMaster } = cluster();
    const a = await startMaster();
    const fw = subscribe(a, 10 * MINUTE);
    a.disconnect(fw.frameworkId, fw.streamId);
    a.stop();
    clock.advance(4 * MINUTE); // the master is down for four minutes

    const b = await startMaster();
    expect(b.state().frameworks).toEqual([expect.objectContaining({ id: fw.frameworkId, connected: false })]);
    clock.advance(6 * MINUTE - 1);
    expect(b.state().frameworks.map((f) => f.id)).toEqual([fw.frameworkId]);
    clock.advance(1);
    expect(b.state().frameworks).toEqual([]);
    expect(await registry.listFrameworks()).toEqual([]);
    b.stop();
  });

  it('lets a framework that returns within its deadline keep its id, connected and with no deadline', async () => {
    const { clock, registry, startMaster } = cluster();
    const a = await startMaster();
    const fw = subscribe(a, 10 * MINUTE);
    a.disconnect(fw.frameworkId, fw.streamId);
    a.stop();

    const b = await startMaster();
    clock.advance(9 * MINUTE);
    const back = subscribe(b, 10 * MINUTE, fw.frameworkId);
    expect(back.frameworkId).toBe(fw.frameworkId);
    clock.advance(5 * MINUTE); // past the old deadline: its timer was cancelled
    expect(b.state().frameworks).toEqual([expect.objectContaining({ id: fw.frameworkId, connected: true })]);
    expect(await registry.listFrameworks()).toEqual([{ info: expect.objectContaining({ id: fw.frameworkId }), failoverDeadlineMs: null }]);
    b.stop();
  });

  it('removes at once a framework whose deadline passed while no master ran; its id cannot come back', async () => {
    const { clock, startMaster } = cluster();
    const a = await startMaster();
    const fw = subscribe(a, MINUTE);
    a.disconnect(fw.frameworkId, fw.streamId);
    a.stop();
    clock.advance(2 * MINUTE);

    const b = await startMaster();
    expect(b.state().frameworks).toEqual([]);
    expect(() => subscribe(b, MINUTE, fw.frameworkId)).toThrow(CallError);
    expect(() => subscribe(b, MINUTE, fw.frameworkId)).toThrow(/was removed; subscribe without an id/);
    b.stop();
  });

  it('gives a framework still connected when the master stopped its failover timeout from the restart', async () => {
    const { clock, registry, startMaster } = cluster();
    const a = await startMaster();
    const fw = subscribe(a, 10 * MINUTE);
    a.stop();
    clock.advance(3 * MINUTE);

    const b = await startMaster();
    expect(await registry.listFrameworks()).toEqual([{ info: expect.objectContaining({ id: fw.frameworkId }), failoverDeadlineMs: clock.now() + 10 * MINUTE }]);
    clock.advance(10 * MINUTE - 1);
    expect(b.state().frameworks.map((f) => f.id)).toEqual([fw.frameworkId]);
    clock.advance(1);
    expect(b.state().frameworks).toEqual([]);
    b.stop();
  });

  it('forgets a connected framework with a failover timeout of 0, so it may come back with its id', async () => {
    const { registry, startMaster } = cluster();
    const a = await startMaster();
    const fw = subscribe(a, 0);
    a.stop();

    const b = await startMaster();
    expect(b.state().frameworks).toEqual([]);
    expect(await registry.listFrameworks()).toEqual([]);
    expect(subscribe(b, 0, fw.frameworkId).frameworkId).toBe(fw.frameworkId);
    b.stop();
  });

  it('lists admitted agents as RECOVERING, offers nothing of them, and asks them to register again with their id', async () => {
    const { clock, startMaster } = cluster();
    const a = await startMaster();
    const agentId = await registerAgent(a);
    a.stop();

    const b = await startMaster();
    const fw = subscribe(b, MINUTE);
    expect(b.state().agents).toEqual([expect.objectContaining({ id: agentId, status: 'RECOVERING' })]);
    clock.advance(5000);
    expect(fw.stream.offers()).toEqual([]);
    expect(b.agentHeartbeat({ agentId })).toEqual({ reregister: true, masterId: b.info.id });

    expect(await registerAgent(b, agentId)).toBe(agentId);
    expect(b.state().agents).toEqual([expect.objectContaining({ id: agentId, status: 'ACTIVE' })]);
    expect(b.agentHeartbeat({ agentId })).toEqual({ reregister: false, masterId: b.info.id });
    clock.advance(1000);
    expect(fw.stream.offers().map((o) => o.agentId)).toEqual([agentId]);
    b.stop();
  });

  it('answers nothing for a task on a recovering agent, then the state the agent reports when it registers again', async () => {
    const { startMaster } = cluster();
    const a = await startMaster();
    const fw = subscribe(a, 10 * MINUTE);
    const agentId = await registerAgent(a);
    a.stop();

    const b = await startMaster();
    const back = subscribe(b, 10 * MINUTE, fw.frameworkId);
    b.reconcile({ frameworkId: back.frameworkId, streamId: back.streamId, tasks: [{ taskId: 't1', agentId }] });
    expect(back.stream.updates()).toEqual([]);   // not TASK_UNREACHABLE: that would have t1 replaced

    await b.registerAgent({
      agentInfo: { id: agentId, hostname: 'host-1', resources: parse('cpus:4;mem:4096'), attributes: {}, port: 5051 }, version: 'test',
      tasks: [{ taskId: 't1', frameworkId: fw.frameworkId, agentId, name: 't1', state: 'TASK_RUNNING', resources: parse('cpus:1;mem:128') }],
    });
    expect(back.stream.updates()).toEqual([expect.objectContaining({ taskId: 't1', state: 'TASK_RUNNING', reason: 'REASON_RECONCILIATION' })]);
    b.stop();
  });

  it('turns a recovering agent UNREACHABLE when its re-registration window ends, and then answers TASK_UNREACHABLE', async () => {
    const { clock, startMaster } = cluster();
    const a = await startMaster();
    const fw = subscribe(a, 60 * MINUTE, '', ['PARTITION_AWARE']);
    const agentId = await registerAgent(a);
    a.stop();

    const b = await startMaster();
    const back = subscribe(b, 60 * MINUTE, fw.frameworkId, ['PARTITION_AWARE']);
    clock.advance(10 * MINUTE - 1);   // Mesos's agent_reregister_timeout, the default
    expect(b.state().agents).toEqual([expect.objectContaining({ id: agentId, status: 'RECOVERING' })]);
    clock.advance(5000);
    expect(b.state().agents).toEqual([expect.objectContaining({ id: agentId, status: 'UNREACHABLE' })]);
    b.reconcile({ frameworkId: back.frameworkId, streamId: back.streamId, tasks: [{ taskId: 't1', agentId }] });
    expect(back.stream.updates()).toEqual([expect.objectContaining({ taskId: 't1', state: 'TASK_UNREACHABLE', reason: 'REASON_RECONCILIATION' })]);
    b.stop();
  });

  it('keeps refusing an agent an operator marked gone under the previous master', async () => {
    const { startMaster } = cluster();
    const a = await startMaster();
    const agentId = await registerAgent(a);
    await a.markAgentGone(agentId);
    a.stop();

    const b = await startMaster();
    expect(b.state().agents).toEqual([]);
    await expect(registerAgent(b, agentId)).rejects.toThrow(/was marked gone by an operator/);
    b.stop();
  });

  it('brings back the role weights an operator set under the previous master', async () => {
    const { startMaster } = cluster();
    const a = await startMaster();
    await a.updateWeights({ prod: 4 });
    a.stop();
    const b = await startMaster();
    expect(b.weights()).toEqual({ prod: 4 });
    b.stop();
  });

  it('refuses to recover once started', async () => {
    const { startMaster } = cluster();
    const a = await startMaster();
    expect(() => a.recover({ agents: [], frameworks: [] })).toThrow('recover() must come before start()');
    a.stop();
  });
});
