/**
 * The agent with the process containerizer, against a real NATS server; the test plays the
 * master. Tasks are real child processes.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startAgent } from './agent';
import { startAgentRig, testTask, type AgentRig, type TestMaster } from './test-master';

let rig: AgentRig;
let master: TestMaster;
let agentId: string;
let workDir: string;

beforeAll(async () => {
  rig = await startAgentRig({ containerizer: 'process', resources: 'cpus:2;mem:1024;disk:1000' });
  ({ master, agentId, workDir } = rig);
});

afterAll(async () => { await rig?.stop(); });

/** Whether a process runs; a zombie waiting for its new parent to reap it has ended. */
function alive(pid: number): boolean {
  try {
    return procState(readFileSync(`/proc/${pid}/stat`, 'utf8')).state !== 'Z';
  } catch {
    return false;
  }
}

/** The live (non-zombie) processes of a process group. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const st = procState(readFileSync(`/proc/${d}/stat`, 'utf8'));
      return st.pgrp === pgid && st.state !== 'Z' ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

function procState(stat: string): { state: string; pgrp: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, pgrp: Number(fields[2]) };
}

describe('agent with the process containerizer', () => {
  it('runs a task STARTING → RUNNING → FINISHED with its stdout and stderr in the sandbox', async () => {
    master.run(agentId, testTask('p-ok', 'echo "hello from $AGORA_TASK_ID $GREETING"; echo oops >&2; pwd', {
      command: { value: 'echo "hello from $AGORA_TASK_ID $GREETING"; echo oops >&2; pwd', argv: [], environment: { GREETING: 'hi' }, user: '' },
    }));
    const done = await master.waitForState('p-ok', 'TASK_FINISHED');
    expect(master.of('p-ok').map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    expect(done).toMatchObject({ source: 'SOURCE_EXECUTOR', exitCode: 0, agentId, frameworkId: 'fw-1' });
    const sandbox = join(workDir, 'agents', agentId, 'frameworks', 'fw-1', 'tasks', 'p-ok', 'runs', done.containerId);
    expect(readFileSync(join(sandbox, 'stdout'), 'utf8')).toBe(`hello from p-ok hi\n${sandbox}\n`);
    expect(readFileSync(join(sandbox, 'stderr'), 'utf8')).toBe('oops\n');
  });

  it('gives every status a fresh uuid, a timestamp, the container id and SOURCE_AGENT before the exit', async () => {
    master.run(agentId, testTask('p-fields', 'true'));
    await master.waitForState('p-fields', 'TASK_FINISHED');
    const all = master.of('p-fields');
    expect(new Set(all.map((s) => s.uuid)).size).toBe(3);
    expect(new Set(all.map((s) => s.containerId)).size).toBe(1);
    expect(all[0]!.containerId).not.toBe('');
    expect(all.slice(0, 2).map((s) => s.source)).toEqual(['SOURCE_AGENT', 'SOURCE_AGENT']);
    for (const s of all) expect(Math.abs(s.timestampMs - Date.now())).toBeLessThan(60_000);
  });

  it('reports a non-zero exit as TASK_FAILED naming the exit code', async () => {
    master.run(agentId, testTask('p-exit3', 'exit 3'));
    const failed = await master.waitForState('p-exit3', 'TASK_FAILED');
    expect(failed.message).toBe('command exited with code 3');
    expect(failed.exitCode).toBe(3);
    expect(failed.source).toBe('SOURCE_EXECUTOR');
  });

  it('kills a task on request: TASK_KILLED, and its whole process group is gone', async () => {
    master.run(agentId, testTask('p-kill', 'sleep 300 & echo $! > child.pid; sleep 300'));
    const running = await master.waitForState('p-kill', 'TASK_RUNNING');
    master.kill(agentId, 'p-kill', 1000);
    const killed = await master.waitForState('p-kill', 'TASK_KILLED');
    expect(killed.containerId).toBe(running.containerId);
    const sandbox = join(workDir, 'agents', agentId, 'frameworks', 'fw-1', 'tasks', 'p-kill', 'runs', running.containerId);
    const childPid = Number(readFileSync(join(sandbox, 'child.pid'), 'utf8'));
    expect(childPid).toBeGreaterThan(0);
    expect(alive(childPid)).toBe(false);
    expect(groupMembers(childPid)).toEqual([]);
  });

  it('a command that cannot start is TASK_FAILED with REASON_CONTAINER_LAUNCH_FAILED saying why', async () => {
    master.run(agentId, testTask('p-nobin', '', { command: { value: '', argv: ['/no/such/binary', 'x'], environment: {}, user: '' } }));
    const failed = await master.waitForState('p-nobin', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/\/no\/such\/binary.*no such executable file/);
  });

  it('a Docker task on an agent without Docker fails to launch, saying so', async () => {
    master.run(agentId, testTask('p-docker', 'true', { container: { type: 'DOCKER', docker: { image: 'agora/busybox:latest', portMappings: [], forcePullImage: false } } }));
    const failed = await master.waitForState('p-docker', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/Docker/);
  });

  it('refuses a duplicate run of a running task, reporting that it still runs', async () => {
    master.run(agentId, testTask('p-dup', 'sleep 300'));
    const running = await master.waitForState('p-dup', 'TASK_RUNNING');
    master.run(agentId, testTask('p-dup', 'echo second'));
    const refusal = await master.waitForStatus((s) => s.taskId === 'p-dup' && /duplicate/.test(s.message));
    expect(refusal).toMatchObject({ state: 'TASK_RUNNING', reason: 'REASON_TASK_INVALID', containerId: running.containerId });
    master.kill(agentId, 'p-dup', 0);
    await master.waitForState('p-dup', 'TASK_KILLED');
  });

  it('answers a kill for a task it does not have with TASK_DROPPED', async () => {
    master.kill(agentId, 'p-never-ran');
    const dropped = await master.waitForState('p-never-ran', 'TASK_DROPPED');
    expect(dropped.reason).toBe('REASON_TASK_UNKNOWN');
  });

  it('refuses a task id that cannot name a sandbox directory with TASK_ERROR', async () => {
    master.run(agentId, testTask('..', 'true'));
    const err = await master.waitForState('..', 'TASK_ERROR');
    expect(err.reason).toBe('REASON_TASK_INVALID');
  });
});

describe('stopping the agent', () => {
  it('kills its tasks, produces TASK_KILLED and leaves no process behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-agent-stop-'));
    const a = await startAgent({ natsUrl: rig.nats.url, workDir: dir, containerizer: 'process', httpHost: '127.0.0.1', httpPort: 0, resources: 'cpus:1;mem:256;disk:100' });
    const id = await a.registered;
    master.run(id, testTask('p-stop', 'echo $$ > sh.pid; cut -d" " -f5 /proc/$$/stat > sh.pgid; sleep 300 & sleep 300'));
    const running = await master.waitForState('p-stop', 'TASK_RUNNING');
    const produced: string[] = [];
    a.on('status', (s) => produced.push(`${s.taskId} ${s.state}`));
    await a.stop();
    // Produced into the task's reliable stream; whether it went out before NATS closed
    // depends on when the RUNNING acknowledgement arrived, so delivery is not asserted.
    expect(produced).toEqual(['p-stop TASK_KILLED']);
    const sandbox = join(dir, 'agents', id, 'frameworks', 'fw-1', 'tasks', 'p-stop', 'runs', running.containerId);
    const pid = Number(readFileSync(join(sandbox, 'sh.pid'), 'utf8'));
    const pgid = Number(readFileSync(join(sandbox, 'sh.pgid'), 'utf8'));
    expect(pgid).toBeGreaterThan(1);
    expect(alive(pid)).toBe(false);
    expect(groupMembers(pgid)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
