/**
 * Hollow agents (bench/hollow) against a real nats-server and a real, locked master: a fleet
 * of 200 registers as one agent principal over one connection, every agent is ACTIVE, and a
 * framework's tasks on them go STARTING → RUNNING → FINISHED exactly once each (acknowledged,
 * so nothing is resent), a kill gives TASK_KILLED, and after a master restart every agent
 * re-registers with its running tasks: the agent protocol's expectations,
 * met by the agent's own protocol code with no containers behind it.
 */
import { parse } from '../common/resources';
import type { TaskState } from '../common/types';
import { subscribe, task } from '../frameworks/sdk';
import { HollowFleet } from '../bench/hollow/fleet';
import { DURATION_LABEL } from '../bench/hollow/containerizer';
import { getJson, masterAddress } from '../common/operator-client';
import type { MasterStateView } from '../common/operator-types';
import { startMaster } from '../master/server';
import { eventually, startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

const AGENTS = 200;
const TASKS = 200;

describe('a hollow fleet', () => {
  let cluster: TestCluster;
  let fleet: HollowFleet;
  /** The master started in place of the cluster's (its stop() knows only the first). */
  let restarted: Awaited<ReturnType<typeof startMaster>> | undefined;

  beforeAll(async () => {
    cluster = await startCluster({ agents: 0 });
    fleet = new HollowFleet({
      natsUrl: cluster.nats.url, agents: AGENTS, startSpreadMs: 500,
      specOf: (i) => ({ hostname: `hollow-${i}`, resources: parse('cpus:4;mem:4096;disk:4096;ports:[31000-31099]'), attributes: { rack: `r${i % 4}` }, taskDurationMs: 300 }),
      timing: {
        heartbeatIntervalMs: undefined, statusRetryInitialMs: 10_000, statusRetryMaxMs: 600_000, usageIntervalMs: 1_000,
        requestTimeoutMs: 5_000, registerBackoffFactorMs: 1_000, registerBackoffMaxMs: 10_000, killGracePeriodMs: 1_000,
      },
      ...(cluster.doors && cluster.security ? { security: cluster.doors, identity: cluster.security.identity('local-agent') } : {}),
    });
    await fleet.start();
    await fleet.registeredAll();
  });
  afterAll(async () => {
    await fleet?.stop();
    await restarted?.stop();
    await cluster?.stop();
  });

  it('registers every agent, and the master shows each ACTIVE with its attributes', async () => {
    await eventually('all hollow agents ACTIVE', async () => {
      const s = await cluster.state();
      return s.agents.filter((a) => a.status === 'ACTIVE' && a.hostname.startsWith('hollow-')).length === AGENTS;
    });
    expect(fleet.counts()).toMatchObject({ agents: AGENTS, registered: AGENTS, registrations: AGENTS });
  });

  it('runs a framework\'s tasks to TASK_FINISHED exactly once each, and a kill to TASK_KILLED', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'hollow-load' } });
    const log = new EventLog(s);
    const ids: string[] = [];
    while (ids.length < TASKS) {
      const offer = await log.offer();
      const id = `t-${ids.length}`;
      ids.push(id);
      await s.launch(offer, [task({ id, command: 'true', cpus: 0.5, mem: 64 }, offer)], { refuseMs: 0 });
    }
    const killOffer = await log.offer();
    await s.launch(killOffer, [task({ id: 'long', command: 'sleep 600', cpus: 0.5, mem: 64, labels: { [DURATION_LABEL]: '600000' } }, killOffer)], { refuseMs: 0 });
    await log.status('long', 'TASK_RUNNING');
    await s.kill('long');
    await log.status('long', 'TASK_KILLED');
    for (const id of ids) await log.status(id, 'TASK_FINISHED');
    const expected: TaskState[] = ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'];
    for (const id of ids) expect(log.states(id)).toEqual(expected);
    expect(log.states('long')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
    // Every update was acknowledged: no stream holds one, no task is left in any table.
    await eventually('every update acknowledged', () => Promise.resolve(fleet.agents.every((a) => a.unacknowledged === 0 && a.liveTasks === 0)));
    await s.teardown();
    s.close();
  });

  it('re-registers every agent with its running tasks after the master restarts, none lost or doubled', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'hollow-long' } });
    const log = new EventLog(s);
    const ids = Array.from({ length: 50 }, (_, i) => `long-${i}`);
    for (const id of ids) {
      const offer = await log.offer();
      await s.launch(offer, [task({ id, command: 'sleep 600', cpus: 0.5, mem: 64, labels: { [DURATION_LABEL]: '600000' } }, offer)], { refuseMs: 0 });
    }
    for (const id of ids) await log.status(id, 'TASK_RUNNING');
    s.close();
    const before = fleet.counts().reregistrations;
    await cluster.master.stop();
    const master = await startMaster({
      natsUrl: cluster.nats.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, allocationIntervalMs: 100,
      ...(cluster.doors && cluster.security ? { security: cluster.doors, identity: cluster.security.identity('master') } : {}),
    });
    restarted = master;
    const state = () => getJson<MasterStateView>(masterAddress(`127.0.0.1:${master.httpPort}`), '/api/v1/state');
    await eventually('every hollow agent re-registered', () => Promise.resolve(fleet.counts().reregistrations - before >= AGENTS), 1200);
    await eventually('the new master knows the 50 running tasks', async () => {
      const st = await state();
      return st.tasks.filter((t) => t.id.startsWith('long-') && t.state === 'TASK_RUNNING').length === ids.length;
    }, 400);
    const st = await state();
    const seen = st.tasks.filter((t) => t.id.startsWith('long-')).map((t) => t.id).sort();
    expect(seen).toEqual([...ids].sort());
    expect(fleet.counts().liveTasks).toBe(ids.length);
  });
});

