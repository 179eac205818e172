/**
 * The container engine restarted under a running task, on real parts: the agent's engine is a
 * dockerd of this test's own (support/private-dockerd.ts, `--live-restore`), stopped and started
 * again while a task prints a numbered line every 100 ms. The engine's going away is not the
 * task's end: the task stays TASK_RUNNING, its output goes on into the sandbox once the engine is
 * back (every line once, none missing), and a kill afterwards ends it as TASK_KILLED.
 */
import { mkdtempSync, rmSync } from 'fs';
import { join } from 'path';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { nextEngineHealth } from './support/engine-health';
import { startPrivateDockerd, type PrivateDockerd } from './support/private-dockerd';
import { readSandbox, startCluster, TEST_IMAGE, waitForSandbox, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

jest.setTimeout(120_000);

/** The numbered lines a task printed, in order. */
const numbers = (text: string): number[] => text.split('\n').filter(Boolean).map((l) => Number(/^line (\d+)$/.exec(l)?.[1] ?? NaN));

describe('an agent whose container engine restarts under a running task', () => {
  let dir: string;
  let engine: PrivateDockerd;
  let cluster: TestCluster;
  let s: Scheduler;
  let log: EventLog;

  beforeAll(async () => {
    // Short: containerd's socket path lives under it.
    dir = mkdtempSync('/tmp/agd-');
    engine = await startPrivateDockerd(join(dir, 'e'), TEST_IMAGE);
    cluster = await startCluster({
      secure: false, containerizer: 'docker', resources: 'cpus:2;mem:1024;disk:1024;ports:[31000-31009]',
      agentOptions: { dockerSocket: engine.socket, dockerProbeIntervalMs: 200, dockerProbeTimeoutMs: 1_000, dockerProbeFailures: 2, killGracePeriodMs: 1_000 },
    });
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'engine-restart' } });
    log = new EventLog(s);
  });

  afterAll(async () => {
    await s?.teardown().catch(() => undefined);
    s?.close();
    await cluster?.stop();
    await engine?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the task running, follows its output again, and kills it afterwards', async () => {
    const agent = cluster.agents[0]!;
    const offer = await log.offer();
    const command = 'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.1; done';
    await s.launch(offer, [task({ id: 'steady', command, cpus: 0.1, mem: 32, image: TEST_IMAGE }, offer)]);
    await log.status('steady', 'TASK_RUNNING');
    await waitForSandbox(cluster, s.frameworkId, 'steady', 'stdout', (t) => numbers(t).length >= 5);

    // The engine stays away until the agent has seen it gone, then comes back.
    const wedged = nextEngineHealth(agent);
    await engine.halt();
    expect(await wedged).toMatchObject({ wedged: true });
    const before = numbers(await readSandbox(cluster, s.frameworkId, 'steady', 'stdout')).length;
    const back = nextEngineHealth(agent);
    await engine.start();
    expect(await back).toEqual({ wedged: false });

    // Lines printed after the restart reach the sandbox: the output is followed again.
    const after = await waitForSandbox(cluster, s.frameworkId, 'steady', 'stdout', (t) => numbers(t).length >= before + 10);
    expect(numbers(after)).toEqual(numbers(after).map((_, i) => i));
    // Nothing but its start was said of it.
    expect(log.states('steady')).toEqual(['TASK_STARTING', 'TASK_RUNNING']);

    await s.kill('steady');
    await log.status('steady', 'TASK_KILLED');
  });
});
