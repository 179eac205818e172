/**
 * Health checks as a framework sees them: a real master, a real agent whose clock is fake
 * (the test fires each probe by advancing it), and an SDK framework. Every health update
 * the agent makes reaches the framework through the master with `healthy` intact.
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { FakeClock } from '../common/clock';
import { subscribe, task } from '../frameworks/sdk';
import { startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

describe('health checks through the master', () => {
  const clock = new FakeClock();
  let cluster: TestCluster;

  beforeAll(async () => { cluster = await startCluster({ containerizer: 'process', agentOptions: { clock } }); });
  afterAll(async () => { await cluster.stop(); });

  it('the framework hears healthy, then unhealthy with TASK_KILLING, then TASK_KILLED with healthy=false', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'health', capabilities: ['TASK_KILLING_STATE'] } });
    const log = new EventLog(s);
    const offer = await log.offer();
    await s.launch(offer, [task({
      id: 'web', command: 'exec sleep 600', cpus: 0.1, mem: 32, process: true, killGracePeriodMs: 300,
      healthCheck: {
        type: 'COMMAND', delayMs: 1_000, intervalMs: 1_000, timeoutMs: 20_000, consecutiveFailures: 1, gracePeriodMs: 1, port: 0, path: '/',
        command: { value: 'test ! -e sick', argv: [], environment: {}, user: '' },
      },
    }, offer)], { refuseMs: 0 });
    const running = await log.status('web', 'TASK_RUNNING');
    const agent = cluster.agents[0]!;
    const sandbox = join(agent.config.workDir, 'agents', running.agentId, 'frameworks', running.frameworkId, 'tasks', 'web', 'runs', running.containerId);

    clock.advance(1_000);
    await log.until(() => log.events.some((e) => e.type === 'UPDATE' && e.status.healthy === true));
    writeFileSync(join(sandbox, 'sick'), '');
    clock.advance(1_000);
    const killed = await log.status('web', 'TASK_KILLED');

    const updates = log.events.flatMap((e) => (e.type === 'UPDATE' && e.status.taskId === 'web' ? [[e.status.state, e.status.healthy, e.status.reason]] : []));
    const HEALTH = 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED';
    expect(updates).toEqual([
      ['TASK_STARTING', undefined, 'REASON_UNKNOWN'],
      ['TASK_RUNNING', undefined, 'REASON_UNKNOWN'],
      ['TASK_RUNNING', true, HEALTH],
      ['TASK_RUNNING', false, HEALTH],
      ['TASK_KILLING', false, HEALTH],
      ['TASK_KILLED', false, HEALTH],
    ]);
    expect(killed.message).toMatch(/^killed as unhealthy: health check failed 1 time in a row, the last: command 'test ! -e sick' exited with code 1;/);
    await s.teardown();
    s.close();
  });
});
