/**
 * Recovery at awkward crash points, staged for real: the checkpoints an agent would have left
 * are written with the agent's own RunStore, the containers it would have left are made with
 * the Docker Engine, then a real agent starts on that work directory and must tell the truth.
 */
import { randomUUID } from 'crypto';
import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import type { TaskStatus } from '../common/types';
import { startAgent, type AgentHandle } from './agent';
import { metaDir, writeJsonAtomic } from './checkpoint';
import { LABELS } from './containerizer/docker-create';
import { RunStore, type RunCheckpoint } from './runs';
import { createSandbox, sandboxPath } from './sandbox';
import { eventually } from '../test/support/cluster';
import { TestMaster, testTask } from '../test/support/test-master';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const IMAGE = 'agora/busybox:latest';

let nats: NatsServer;
let master: TestMaster;
let workDir: string;
let agent: AgentHandle | undefined;
const agentId = `agent-staged-${process.pid}`;

beforeAll(async () => {
  nats = await startNatsServer();
  master = await TestMaster.start(nats.url);
});
afterAll(async () => {
  await master.close();
  await nats.stop();
});
beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'agora-staged-'));
  writeJsonAtomic(join(metaDir(workDir), 'agent.json'), { version: 1, agentId });
});
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  for (const c of await docker.listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${agentId}`] } })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
  rmSync(workDir, { recursive: true, force: true });
});

/** A run as the agent checkpoints it right after TASK_STARTING. */
function stagedRun(taskId: string, containerizer: 'docker' | 'process', more: Partial<RunCheckpoint> = {}): RunCheckpoint {
  const containerId = randomUUID();
  const sandboxDir = sandboxPath(workDir, agentId, 'fw-1', taskId, containerId);
  createSandbox(sandboxDir);
  const latest: TaskStatus = {
    taskId, frameworkId: 'fw-1', agentId, containerId, state: 'TASK_STARTING', message: '', source: 'SOURCE_AGENT',
    reason: 'REASON_UNKNOWN', uuid: randomUUID(), timestampMs: Date.now(),
  };
  const run: RunCheckpoint = {
    version: 1, frameworkId: 'fw-1', taskId, containerId, sandboxDir, containerizer, info: testTask(taskId, 'sleep 600'),
    killingState: false, killRequested: false, latest, ackedUuid: latest.uuid, ...more,
  };
  new RunStore(workDir).write(run, true);
  return run;
}

const start = async (containerizer: 'docker' | 'process'): Promise<void> => {
  agent = await startAgent({ natsUrl: nats.url, workDir, httpHost: '127.0.0.1', httpPort: 0, containerizer });
  expect(await agent.registered).toBe(agentId);
};

describe('recovery from a crash between two steps of a launch', () => {
  it('a container created but never started is removed and its task reported TASK_FAILED, not FINISHED', async () => {
    const run = stagedRun('never-started', 'docker');
    const created = await docker.createContainer({
      Image: IMAGE, Cmd: ['sleep', '600'],
      Labels: { [LABELS.agentId]: agentId, [LABELS.containerId]: run.containerId, [LABELS.taskId]: run.taskId, [LABELS.frameworkId]: 'fw-1' },
    });
    await start('docker');
    const failed = await master.waitForState('never-started', 'TASK_FAILED');
    expect(failed).toMatchObject({ reason: 'REASON_AGENT_RESTARTED', containerId: run.containerId });
    expect(failed.message).toMatch(/created but never started/);
    await expect(docker.getContainer(created.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('a process whose pid now belongs to another process is not taken for the task', async () => {
    // This test's own pid, with a start time it never had: pid reuse after the agent's crash.
    stagedRun('pid-reused', 'process', { pid: process.pid, pidStartTicks: 1 });
    await start('process');
    const failed = await master.waitForState('pid-reused', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_AGENT_RESTARTED');
    expect(failed.message).toMatch(/is gone and left no exit status/);
  });

  it('a run checkpointed before its launch, with nothing started, is reported TASK_FAILED and its checkpoint removed once acknowledged', async () => {
    const run = stagedRun('not-launched', 'process');
    await start('process');
    const failed = await master.waitForState('not-launched', 'TASK_FAILED');
    expect(failed.message).toMatch(/no process was recorded/);
    expect(new RunStore(workDir).list().runs.map((r) => r.containerId)).toContain(run.containerId);
    master.ack(failed);
    await eventually('the checkpoint is removed', async () => !new RunStore(workDir).list().runs.some((r) => r.containerId === run.containerId));
  });

  it('a container labelled with the agent\'s id that no checkpoint claims is removed at start-up', async () => {
    const orphan = await docker.createContainer({ Image: IMAGE, Cmd: ['sleep', '600'], Labels: { [LABELS.agentId]: agentId, [LABELS.containerId]: 'nobody-claims-me' } });
    await orphan.start();
    await start('docker');
    await expect(docker.getContainer(orphan.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
