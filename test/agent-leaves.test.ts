/**
 * An agent that is stopped tells the master on its way out: its offers are rescinded, the
 * task it ran ends, and the master stops offering what is no longer there.
 */
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

describe('an agent leaving', () => {
  let cluster: TestCluster;
  let s: Scheduler;
  let log: EventLog;

  beforeAll(async () => {
    cluster = await startCluster({ containerizer: 'process', agents: 2 });
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'watcher' } });
    log = new EventLog(s);
  });
  afterAll(async () => {
    s.close();
    await cluster.stop();
  });

  it('ends its task, has its offers rescinded and vanishes from the master\'s state', async () => {
    const [stays, leaves] = cluster.agents as [typeof cluster.agents[0], typeof cluster.agents[0]];
    const there = await log.offer((o) => o.agentId === leaves.agentId);
    await s.launch(there, [task({ id: 'on-leaver', command: 'sleep 600', cpus: 0.5, mem: 64, process: true }, there)], { refuseMs: 0 });
    await log.status('on-leaver', 'TASK_RUNNING');
    const held = await log.offer((o) => o.agentId === leaves.agentId);   // what the task left free there

    await leaves.stop();

    const ended = await log.waitFor((e) => e.type === 'UPDATE' && e.status.taskId === 'on-leaver'
      && (e.status.state === 'TASK_KILLED' || e.status.state === 'TASK_GONE'));
    expect(ended.type).toBe('UPDATE');
    await log.waitFor((e) => e.type === 'RESCIND' && e.offerId === held.id);
    const state = await cluster.state();
    expect(state.agents.map((a) => a.id)).toEqual([stays.agentId]);
    expect(state.offers.filter((o) => o.agentId === leaves.agentId)).toEqual([]);
  });
});
