/**
 * Framework failover and reconciliation on real parts (nats-server, Docker containers): a framework that goes away and
 * comes back with its id within its failover timeout keeps its running task; one that does
 * not come back has its task killed on the agent; reconciliation, implicit and explicit,
 * answers from what the master knows.
 */
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { agentState, eventually, startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

describe('framework failover and reconciliation', () => {
  let cluster: TestCluster;

  beforeAll(async () => { cluster = await startCluster({ containerizer: 'docker' }); });
  afterAll(async () => { await cluster.stop(); });

  async function launchSleeper(name: string, failoverTimeoutMs: number): Promise<{ s: Scheduler; log: EventLog }> {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name, failoverTimeoutMs } });
    const log = new EventLog(s);
    const offer = await log.offer();
    await s.launch(offer, [task({ id: name, command: 'sleep 600', cpus: 0.1, mem: 32, image: TEST_IMAGE, killGracePeriodMs: 1000 }, offer)], { refuseMs: 0 });
    await log.status(name, 'TASK_RUNNING');
    return { s, log };
  }

  it('keeps the running task of a framework that comes back with its id, and answers its reconciliation', async () => {
    const { s } = await launchSleeper('comes-back', 60_000);
    const frameworkId = s.frameworkId;
    s.close();   // the scheduler fails over
    await eventually('the master saw it go', async () =>
      (await cluster.state()).frameworks.some((f) => f.id === frameworkId && !f.connected));

    const again = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'comes-back', id: frameworkId, failoverTimeoutMs: 60_000 } });
    expect(again.frameworkId).toBe(frameworkId);
    const log = new EventLog(again);

    // implicit: every task the master knows for it
    await again.reconcile();
    const implicit = await log.waitFor((e) => e.type === 'UPDATE' && e.status.taskId === 'comes-back');
    expect(implicit).toMatchObject({ status: { state: 'TASK_RUNNING', reason: 'REASON_RECONCILIATION', source: 'SOURCE_MASTER' } });

    // explicit: the task, and one the master never heard of on the same agent
    const agentId = cluster.agents[0]!.agentId;
    await again.reconcile([{ taskId: 'comes-back', agentId }, { taskId: 'never-launched', agentId }]);
    const unknown = await log.waitFor((e) => e.type === 'UPDATE' && e.status.taskId === 'never-launched');
    expect(unknown).toMatchObject({ status: { state: 'TASK_GONE', reason: 'REASON_RECONCILIATION' } });

    await again.kill('comes-back');
    await log.status('comes-back', 'TASK_KILLED');
    await again.teardown();
    again.close();
  });

  it('kills on the agent the task of a framework that does not come back within its failover timeout', async () => {
    const { s } = await launchSleeper('stays-away', 300);
    const frameworkId = s.frameworkId;
    s.close();
    // the master removes it after 300 ms and has the agent kill its task
    await eventually('the agent killed the task', async () =>
      (await agentState(cluster.agents[0]!)).tasks.some((t) => t.id === 'stays-away' && t.frameworkId === frameworkId && t.state === 'TASK_KILLED'));
    expect((await cluster.state()).frameworks.map((f) => f.id)).not.toContain(frameworkId);
  });
});
