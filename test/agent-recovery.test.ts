/**
 * Agent recovery, for real: an `agora agent` process running five tasks is killed with
 * SIGKILL and started again on the same work directory, once with Docker and once with the
 * process containerizer. While it is down one task exits (code 7); one task's TASK_RUNNING
 * update was never acknowledged. Afterwards:
 *  - the four survivors are RUNNING at the master, in the same containers, each launched once;
 *  - the one that exited is reported TASK_FAILED with its real exit code;
 *  - the unacknowledged update arrives again, with the same uuid;
 *  - output written after the restart lands in the sandbox once, after what was there;
 *  - a recovered task can still be killed.
 */
import { authedFetch, base } from './support/http';
import { spawn, type ChildProcess } from 'child_process';
import Docker from 'dockerode';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort, stopChild } from '../common/nats-server';
import type { TaskStatus } from '../common/types';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { eventually, startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';
import { followSandboxFile, sandboxFileRef } from '../cli/logs';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');
const docker = new Docker();

const SCRIPTS: Record<string, string> = {
  // Each start leaves a line, so a second launch would show.
  'keep-1': 'echo start >> starts; sleep 600',
  'keep-2': 'echo start >> starts; echo before; while [ ! -f more ]; do sleep 0.1; done; echo after; sleep 600',
  'keep-3': 'echo start >> starts; sleep 600',
  'held': 'echo start >> starts; sleep 600',
  'exits': 'echo start >> starts; while [ ! -f go ]; do sleep 0.1; done; exit 7',
};

describe.each(['docker', 'process'] as const)('an agent killed with SIGKILL and restarted (%s)', (containerizer) => {
  let cluster: TestCluster;
  let workDir: string;
  let agent: ChildProcess | undefined;
  let s: Scheduler;
  let log: EventLog;
  let agentPort: number;
  let releaseHeld = false;
  /** Where the test is, printed if it does not finish: a hung wait names itself. */
  let step = '';

  const startAgentProcess = (): ChildProcess => spawn(process.execPath, [BIN, 'agent', '--nats', cluster.nats.url,
    '--port', String(agentPort), '--host', '127.0.0.1', '--hostname', '127.0.0.1', '--work-dir', workDir,
    '--containerizer', containerizer, '--resources', 'cpus:4;mem:2048;disk:100'],
  { stdio: 'ignore', env: { ...process.env, AGORA_LOG: 'warn' } });

  const updates = (taskId: string): TaskStatus[] =>
    log.events.flatMap((e) => (e.type === 'UPDATE' && e.status.taskId === taskId ? [e.status] : []));

  beforeAll(async () => {
    cluster = await startCluster({ agents: 0 });
    workDir = mkdtempSync(join(tmpdir(), 'agora-recovery-'));
    agentPort = await freePort();
    agent = startAgentProcess();
    await eventually('the agent registered', async () => (await cluster.state()).agents.length === 1);
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: `recovery-${containerizer}` }, autoAcknowledge: false });
    log = new EventLog(s);
    // Everything is acknowledged but the held task's TASK_RUNNING, until the test says so.
    s.on('update', (st) => {
      if (st.uuid && (releaseHeld || !(st.taskId === 'held' && st.state === 'TASK_RUNNING'))) void s.acknowledge(st).catch(() => undefined);
    });
  });
  afterAll(async () => {
    if (step !== 'done') process.stderr.write(`agent recovery (${containerizer}) stopped at: ${step}\n`);
    if (agent) await stopChild(agent);
    s?.close();
    await cluster.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('takes its tasks back, reports the one that ended, resends what was not acknowledged, launches nothing twice', async () => {
    step = 'an offer';
    const offer = await log.offer();
    const tasks = Object.entries(SCRIPTS).map(([id, command]) => task({
      // Docker tasks start in the image's directory, not the sandbox.
      id, command: `cd "$AGORA_SANDBOX"; ${command}`, cpus: 0.1, mem: 32, killGracePeriodMs: 1000,
      ...(containerizer === 'docker' ? { image: TEST_IMAGE } : { process: true }),
    }, offer));
    await s.launch(offer, tasks);
    const running = new Map<string, TaskStatus>();
    step = 'every TASK_RUNNING';
    for (const id of Object.keys(SCRIPTS)) running.set(id, await log.status(id, 'TASK_RUNNING'));
    const agentId = offer.agentId;
    const sandbox = (id: string) => join(workDir, 'agents', agentId, 'frameworks', s.frameworkId, 'tasks', id, 'runs', running.get(id)!.containerId);
    await eventually('every task started', async () => Object.keys(SCRIPTS).every((id) => existsSync(join(sandbox(id), 'starts'))));
    await eventually('keep-2 wrote its first line', async () => readFileSync(join(sandbox('keep-2'), 'stdout'), 'utf8') === 'before\n');
    const heldUuid = running.get('held')!.uuid;
    // `agora logs -f` of keep-2, as the CLI follows it through the master's relay: it must outlive the agent's restart.
    let followed = '';
    const stop = new AbortController();
    let followedAll!: () => void;
    const bothLines = new Promise<void>((resolve) => { followedAll = resolve; });
    const following = followSandboxFile(sandboxFileRef(cluster.masterAddr, s.frameworkId, 'keep-2', 'stdout', agentId), 0, (chunk) => {
      followed += chunk;
      if (followed.includes('after')) followedAll();
    }, { signal: stop.signal });
    await eventually('the follow read the first line', async () => followed === 'before\n');

    // Down hard: nothing is cleaned up, containers and processes keep running.
    step = 'the agent dying';
    const dead = new Promise((resolve) => agent!.once('exit', resolve));
    agent!.kill('SIGKILL');
    await dead;
    agent = undefined;

    // While it is down, 'exits' ends with code 7.
    step = 'the exits task ending';
    writeFileSync(join(sandbox('exits'), 'go'), '');
    if (containerizer === 'docker') {
      const [c] = await docker.listContainers({ all: true, filters: { label: [`agora.container-id=${running.get('exits')!.containerId}`] } });
      await docker.getContainer(c!.Id).wait();
    } else {
      const statusFile = join(workDir, 'meta', 'runs', running.get('exits')!.containerId, 'exit-status');
      await eventually('the exits task ended', async () => existsSync(statusFile));
    }

    const resent = log.next((e) => e.type === 'UPDATE' && e.status.uuid === heldUuid);
    const failed = log.next((e) => e.type === 'UPDATE' && e.status.taskId === 'exits' && e.status.state === 'TASK_FAILED');
    step = 'the held update resent after the restart';
    agent = startAgentProcess();
    await resent;
    step = 'TASK_FAILED of the exits task';
    const ended = await failed;
    expect(ended.type === 'UPDATE' && ended.status).toMatchObject({ exitCode: 7, containerId: running.get('exits')!.containerId });
    expect(ended.type === 'UPDATE' && ended.status.message).toMatch(/code 7.*while the agent was down/);
    releaseHeld = true;
    await s.acknowledge(updates('held').at(-1)!);

    const state = await cluster.state();
    expect(state.agents.map((a) => [a.id, a.status])).toEqual([[agentId, 'ACTIVE']]);
    for (const id of ['keep-1', 'keep-2', 'keep-3', 'held']) {
      expect(state.tasks.find((t) => t.id === id)).toMatchObject({ state: 'TASK_RUNNING', agentId });
      // No second run: one sandbox run directory, one start.
      expect(readdirSync(join(sandbox(id), '..'))).toEqual([running.get(id)!.containerId]);
      expect(readFileSync(join(sandbox(id), 'starts'), 'utf8')).toBe('start\n');
    }
    const agentView = await (await authedFetch(`${base(`127.0.0.1:${agentPort}`)}/state`)).json() as { tasks: { id: string; state: string; containerId: string }[] };
    for (const id of ['keep-1', 'keep-2', 'keep-3', 'held']) {
      expect(agentView.tasks.filter((t) => t.id === id).map((t) => [t.state, t.containerId])).toEqual([['TASK_RUNNING', running.get(id)!.containerId]]);
    }
    if (containerizer === 'docker') {
      const mine = await docker.listContainers({ all: true, filters: { label: [`agora.agent-id=${agentId}`] } });
      expect(mine.map((c) => c.Labels['agora.task-id']).sort()).toEqual(['held', 'keep-1', 'keep-2', 'keep-3']);
    }

    // Output goes on landing in the sandbox, once, after what was there.
    step = 'the second line of keep-2';
    writeFileSync(join(sandbox('keep-2'), 'more'), '');
    await eventually('keep-2 wrote its second line', async () => readFileSync(join(sandbox('keep-2'), 'stdout'), 'utf8') === 'before\nafter\n');
    // The follow took the stream up again where it stopped: each line once.
    step = 'the follow across the restart';
    await bothLines;
    expect(followed).toBe('before\nafter\n');
    stop.abort();
    await following;

    // A recovered task can be killed like any other.
    step = 'TASK_KILLED of keep-1';
    const killed = log.next((e) => e.type === 'UPDATE' && e.status.taskId === 'keep-1' && e.status.state === 'TASK_KILLED');
    await s.kill('keep-1');
    await killed;
    step = 'done';
  });
});

describe('an agent restarted with --recover=cleanup', () => {
  let cluster: TestCluster;
  let workDir: string;
  let agent: ChildProcess | undefined;
  let s: Scheduler;
  let log: EventLog;

  const startAgentProcess = (recover: 'reconnect' | 'cleanup'): ChildProcess => spawn(process.execPath, [BIN, 'agent',
    '--nats', cluster.nats.url, '--port', '0', '--host', '127.0.0.1', '--hostname', '127.0.0.1', '--work-dir', workDir,
    '--containerizer', 'docker', '--resources', 'cpus:2;mem:1024;disk:100', '--recover', recover],
  { stdio: 'ignore', env: { ...process.env, AGORA_LOG: 'warn' } });

  beforeAll(async () => {
    // Heartbeats every 200 ms, 3 may be missed: the old agent is noticed gone quickly.
    cluster = await startCluster({ agents: 0, masterOptions: { agentHeartbeatIntervalMs: 200, agentMaxMissedHeartbeats: 3 } });
    workDir = mkdtempSync(join(tmpdir(), 'agora-cleanup-'));
    agent = startAgentProcess('reconnect');
    await eventually('the agent registered', async () => (await cluster.state()).agents.length === 1);
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'cleanup', capabilities: ['PARTITION_AWARE'] } });
    log = new EventLog(s);
  });
  afterAll(async () => {
    if (agent) await stopChild(agent);
    s?.close();
    await cluster.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('kills what the previous agent left and registers as a new agent; the old one\'s task is reported unreachable', async () => {
    const offer = await log.offer();
    await s.launch(offer, [task({ id: 'left-behind', command: 'sleep 600', cpus: 0.1, mem: 32, image: TEST_IMAGE }, offer)]);
    const running = await log.status('left-behind', 'TASK_RUNNING');
    const dead = new Promise((resolve) => agent!.once('exit', resolve));
    agent!.kill('SIGKILL');
    await dead;
    const [before] = await docker.listContainers({ all: true, filters: { label: [`agora.container-id=${running.containerId}`] } });
    expect(before?.State).toBe('running');

    const unreachable = log.next((e) => e.type === 'UPDATE' && e.status.taskId === 'left-behind' && e.status.state === 'TASK_UNREACHABLE');
    agent = startAgentProcess('cleanup');
    await eventually('a second agent registered', async () => (await cluster.state()).agents.some((a) => a.id !== offer.agentId));
    await unreachable;
    expect(await docker.listContainers({ all: true, filters: { label: [`agora.container-id=${running.containerId}`] } })).toEqual([]);
    expect(existsSync(join(workDir, 'meta', 'runs', running.containerId))).toBe(false);
    const state = await cluster.state();
    expect(state.agents.find((a) => a.id === offer.agentId)?.status).toBe('UNREACHABLE');
  });
});
