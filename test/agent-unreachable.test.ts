/**
 * A partitioned agent, for real: the `agora agent` process is frozen with SIGSTOP (its task,
 * a Docker container, keeps running, as it would behind a partition). The master notices within heartbeat ×
 * allowed misses, reports the task TASK_UNREACHABLE to the partition-aware framework and
 * stops offering the agent; after SIGCONT the agent registers again and the task is
 * RUNNING and known to the master once more.
 */
import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stopChild } from '../common/nats-server';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { eventually, startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

describe('an agent that goes silent', () => {
  let cluster: TestCluster;
  let agent: ChildProcess;
  let workDir: string;
  let s: Scheduler;
  let log: EventLog;

  beforeAll(async () => {
    // heartbeats every 200 ms, 3 may be missed: silence is noticed after 600 ms
    cluster = await startCluster({ agents: 0, masterOptions: { agentHeartbeatIntervalMs: 200, agentMaxMissedHeartbeats: 3 } });
    workDir = mkdtempSync(join(tmpdir(), 'agora-partitioned-'));
    agent = spawn(process.execPath, [BIN, 'agent', '--nats', cluster.nats.url, '--port', '0', '--host', '127.0.0.1',
      '--hostname', '127.0.0.1', '--work-dir', workDir, '--containerizer', 'docker', '--resources', 'cpus:2;mem:512;disk:100'],
    { stdio: 'ignore', env: { ...process.env, AGORA_LOG: 'warn' } });
    await eventually('the agent registered', async () => (await cluster.state()).agents.length === 1);
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'partition-aware', capabilities: ['PARTITION_AWARE'] } });
    log = new EventLog(s);
  });
  afterAll(async () => {
    agent.kill('SIGCONT');   // in case the test stopped half-way through the partition
    await stopChild(agent);
    s?.close();
    await cluster.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('is marked UNREACHABLE with its task TASK_UNREACHABLE, and on its return the task is RUNNING again', async () => {
    const offer = await log.offer();
    await s.launch(offer, [task({ id: 'survivor', command: 'sleep 600', cpus: 0.5, mem: 64, image: TEST_IMAGE, killGracePeriodMs: 1000 }, offer)]);
    await log.status('survivor', 'TASK_RUNNING');

    const unreachable = log.next((e) => e.type === 'UPDATE' && e.status.taskId === 'survivor' && e.status.state === 'TASK_UNREACHABLE');
    agent.kill('SIGSTOP');
    await unreachable;
    const frozen = (await cluster.state()).agents[0]!;
    expect(frozen.status).toBe('UNREACHABLE');
    expect((await cluster.state()).offers).toEqual([]);

    const back = log.next((e) => e.type === 'UPDATE' && e.status.taskId === 'survivor' && e.status.state === 'TASK_RUNNING');
    agent.kill('SIGCONT');
    await back;
    const state = await cluster.state();
    expect(state.agents.map((a) => [a.id, a.status])).toEqual([[frozen.id, 'ACTIVE']]);
    expect(state.tasks.find((t) => t.id === 'survivor')).toMatchObject({ state: 'TASK_RUNNING', agentId: frozen.id });

    await s.kill('survivor');
    await log.status('survivor', 'TASK_KILLED');
  });
});
