/**
 * Hollow agents (bench/hollow) against a real nats-server and a real, locked master: a fleet
 * of 200 registers as one agent principal over one connection, every agent is ACTIVE, and a
 * framework's tasks on them go STARTING → RUNNING → FINISHED exactly once each (acknowledged,
 * so nothing is resent), while a kill gives TASK_KILLED: the agent protocol's expectations,
 * met by the agent's own protocol code with no containers behind it.
 */
import { parse } from '../common/resources';
import type { TaskState } from '../common/types';
import { subscribe, task } from '../frameworks/sdk';
import { HollowFleet } from '../bench/hollow/fleet';
import { DURATION_LABEL } from '../bench/hollow/containerizer';
import { eventually, startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

const AGENTS = 200;
const TASKS = 200;

describe('a hollow fleet', () => {
  let cluster: TestCluster;
  let fleet: HollowFleet;

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
});
