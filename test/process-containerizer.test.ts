/** The same offer cycle where no Docker is wanted: tasks run as plain child processes. */
import { scalar } from '../common/resources';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { readSandbox, startCluster, waitForSandbox, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

describe('the offer cycle with the process containerizer', () => {
  let cluster: TestCluster;
  let s: Scheduler;
  let log: EventLog;

  beforeAll(async () => {
    cluster = await startCluster({ containerizer: 'process' });
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'processes' } });
    log = new EventLog(s);
  });
  afterAll(async () => {
    s.close();
    await cluster.stop();
  });

  it('runs 3 tasks as processes through STARTING → RUNNING → FINISHED and gets the resources back', async () => {
    const offer = await log.offer();
    const ids = ['p-0', 'p-1', 'p-2'];
    await s.launch(offer, ids.map((id) => task({ id, command: `echo done ${id}`, cpus: 0.5, mem: 64, process: true }, offer)), { refuseMs: 0 });
    for (const id of ids) {
      await log.status(id, 'TASK_FINISHED');
      expect(log.states(id)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
      expect(await readSandbox(cluster, s.frameworkId, id, 'stdout')).toBe(`done ${id}\n`);
    }
    await log.until(() => log.offeredTotal('cpus') === 2);
    await s.decline(log.takeAll().map((o) => o.id), { refuseMs: 0 });
  });

  it('reports exit code 3 as TASK_FAILED, and a kill as TASK_KILLED with the process gone', async () => {
    const offer = await log.offer((o) => scalar(o.resources, 'cpus') >= 0.2);
    await s.launch(offer, [
      task({ id: 'p-fails', command: 'exit 3', cpus: 0.1, mem: 32, process: true }, offer),
      task({ id: 'p-sleeps', command: 'echo $$; exec sleep 600', cpus: 0.1, mem: 32, process: true, killGracePeriodMs: 500 }, offer),
    ]);
    const failed = await log.status('p-fails', 'TASK_FAILED');
    expect(failed.message).toMatch(/\b3\b/);

    await log.status('p-sleeps', 'TASK_RUNNING');
    const pid = Number(await waitForSandbox(cluster, s.frameworkId, 'p-sleeps', 'stdout', (t) => t.endsWith('\n')));
    expect(pid).toBeGreaterThan(1);
    expect(isAlive(pid)).toBe(true);
    await s.kill('p-sleeps');
    await log.status('p-sleeps', 'TASK_KILLED');
    expect(isAlive(pid)).toBe(false);
    // the sandbox outlives the task, for its logs
    expect(Number(await readSandbox(cluster, s.frameworkId, 'p-sleeps', 'stdout'))).toBe(pid);
  });
});

describe('process tasks are not root by accident', () => {
  let cluster: TestCluster;
  let s: Scheduler;
  let log: EventLog;

  beforeAll(async () => {
    cluster = await startCluster({ containerizer: 'process' });
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'users' } });
    log = new EventLog(s);
  });
  afterAll(async () => {
    s.close();
    await cluster.stop();
  });

  it('a task that names no user runs as nobody on an agent running as root, and its COMMAND health check runs as the same user', async () => {
    expect(process.getuid?.()).toBe(0);   // the agent runs as root here, as it does on a machine
    const offer = await log.offer();
    const healthCheck = {
      type: 'COMMAND' as const, delayMs: 1, intervalMs: 200, timeoutMs: 5000, consecutiveFailures: 3, gracePeriodMs: 0, port: 0, path: '',
      // Healthy only as nobody: run as the agent's root, the check would fail and the task be killed.
      command: { value: 'test "$(id -u)" = 65534 && touch "$AGORA_SANDBOX/checked-as-nobody"', argv: [], environment: {}, user: '' },
    };
    await s.launch(offer, [task({ id: 'who', command: 'id -u; id -g; until [ -e checked-as-nobody ]; do sleep 0.05; done', cpus: 0.1, mem: 32, process: true, healthCheck }, offer)]);
    await log.status('who', 'TASK_FINISHED');
    expect(await readSandbox(cluster, s.frameworkId, 'who', 'stdout')).toBe('65534\n65534\n');
  });
});

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
