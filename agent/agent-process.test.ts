/**
 * The agent with the process containerizer, against a real NATS server; the test plays the
 * master. Tasks are real child processes.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { get } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from '../common/resources';
import { startAgent, type AgentHandle } from './agent';
import type { AgentStateView } from './api/http';
import { detectCgroups } from './containerizer/cgroups';
import { startAgentRig, testTask, type AgentRig, type TestMaster } from '../test/support/test-master';

let rig: AgentRig;
let master: TestMaster;
let agent: AgentHandle;
let agentId: string;
let workDir: string;

beforeAll(async () => {
  rig = await startAgentRig({ containerizer: 'process', resources: 'cpus:2;mem:1024;disk:1000' });
  ({ master, agent, agentId, workDir } = rig);
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

/**
 * Waits until the command has written a line to `file`. TASK_RUNNING means the command was
 * started, not that it has run a single instruction yet (with cgroups it first passes the
 * gate that puts it in its cgroup), so a test that needs what it writes waits for it.
 */
async function untilLine(file: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (existsSync(file) && readFileSync(file, 'utf8').endsWith('\n')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} never got a line`);
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
    const sandbox = join(workDir, 'agents', agentId, 'frameworks', 'fw-1', 'tasks', 'p-kill', 'runs', running.containerId);
    await untilLine(join(sandbox, 'child.pid'));
    master.kill(agentId, 'p-kill', 1000);
    const killed = await master.waitForState('p-kill', 'TASK_KILLED');
    expect(killed.containerId).toBe(running.containerId);
    const childPid = Number(readFileSync(join(sandbox, 'child.pid'), 'utf8'));
    expect(childPid).toBeGreaterThan(0);
    expect(alive(childPid)).toBe(false);
    expect(groupMembers(childPid)).toEqual([]);
  });

  it('a command that cannot start is TASK_FAILED with REASON_CONTAINER_LAUNCH_FAILED saying why', async () => {
    master.run(agentId, testTask('p-nobin', '', { command: { value: '', argv: ['/no/such/binary', 'x'], environment: {}, user: '' } }));
    const failed = await master.waitForState('p-nobin', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/\/no\/such\/binary.*no such file/);
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

  it('honours the kill grace period: a task that traps SIGTERM finishes its clean-up, one that ignores it is SIGKILLed after it', async () => {
    master.run(agentId, testTask('p-grace', 'trap \'echo term; sleep 1; echo cleaned; exit 0\' TERM; echo up > up; while :; do sleep 0.1; done'));
    const running = await master.waitForState('p-grace', 'TASK_RUNNING');
    const sandbox = join(workDir, 'agents', agentId, 'frameworks', 'fw-1', 'tasks', 'p-grace', 'runs', running.containerId);
    await untilLine(join(sandbox, 'up'));
    master.kill(agentId, 'p-grace', 10_000);
    const killed = await master.waitForState('p-grace', 'TASK_KILLED');
    expect(readFileSync(join(sandbox, 'stdout'), 'utf8')).toBe('term\ncleaned\n');
    expect(killed.exitCode).toBe(0);

    master.run(agentId, testTask('p-deaf', 'trap "" TERM; echo up > up; while :; do sleep 0.1; done'));
    const deaf = await master.waitForState('p-deaf', 'TASK_RUNNING');
    await untilLine(join(workDir, 'agents', agentId, 'frameworks', 'fw-1', 'tasks', 'p-deaf', 'runs', deaf.containerId, 'up'));
    master.kill(agentId, 'p-deaf', 500);
    const ended = await master.waitForState('p-deaf', 'TASK_KILLED');
    expect(ended.message).toMatch(/signal SIGKILL/);
  });

  it('answers a kill for a task it does not have with TASK_DROPPED', async () => {
    master.kill(agentId, 'p-never-ran');
    const dropped = await master.waitForState('p-never-ran', 'TASK_DROPPED');
    expect(dropped.reason).toBe('REASON_TASK_UNKNOWN');
  });

  it('answers the master\'s question about a task it never received with TASK_DROPPED, and about one it runs with nothing', async () => {
    master.run(agentId, testTask('p-asked', 'sleep 300'));
    await master.waitForState('p-asked', 'TASK_RUNNING');
    master.reconcile(agentId, ['p-asked', 'p-run-lost']);
    const dropped = await master.waitForState('p-run-lost', 'TASK_DROPPED');
    expect(dropped).toMatchObject({ reason: 'REASON_TASK_UNKNOWN', source: 'SOURCE_AGENT' });
    expect(dropped.message).toMatch(/never reached this agent/);
    // The question came after p-asked's own messages: had it answered for p-asked, it would have by now.
    expect(master.of('p-asked').map((x) => x.state)).not.toContain('TASK_DROPPED');
    master.kill(agentId, 'p-asked');
    await master.waitForState('p-asked', 'TASK_KILLED');
  });

  it('heartbeats at once, not an hour later as the master asked, when a master announces it has begun to lead', async () => {
    const heard = new Promise((resolve) => master.once('heartbeat', resolve));
    master.announceLeader('master-2');
    await expect(heard).resolves.toMatchObject({ agentId });
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
    master.run(id, testTask('p-stop', 'cut -d" " -f5 /proc/$$/stat > sh.pgid; echo $$ > sh.pid; sleep 300 & sleep 300'));
    const running = await master.waitForState('p-stop', 'TASK_RUNNING');
    const sandbox = join(dir, 'agents', id, 'frameworks', 'fw-1', 'tasks', 'p-stop', 'runs', running.containerId);
    await untilLine(join(sandbox, 'sh.pid'));
    const produced: string[] = [];
    a.on('status', (s) => produced.push(`${s.taskId} ${s.state}`));
    await a.stop();
    // Produced into the task's reliable stream; whether it went out before NATS closed
    // depends on when the RUNNING acknowledgement arrived, so delivery is not asserted.
    expect(produced).toEqual(['p-stop TASK_KILLED']);
    const pid = Number(readFileSync(join(sandbox, 'sh.pid'), 'utf8'));
    const pgid = Number(readFileSync(join(sandbox, 'sh.pgid'), 'utf8'));
    expect(pgid).toBeGreaterThan(1);
    expect(alive(pid)).toBe(false);
    expect(groupMembers(pgid)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});

function agentState(): Promise<AgentStateView> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: agent.httpPort, path: '/state' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve(JSON.parse(body) as AgentStateView));
    }).on('error', reject);
  });
}

// The same detection the agent makes at start-up.
const host = detectCgroups();
const withCgroups = host.ok ? describe : describe.skip;

describe('resource limits of process tasks', () => {
  it('/state says which cgroups the agent limits process tasks with, or why none', async () => {
    expect((await agentState()).isolation).toEqual(host.view);
  });
});

withCgroups(`process tasks in cgroups (${host.view.cgroups}: ${host.view.why})`, () => {
  const cgroups = host.ok ? host.cgroups : undefined!;

  it('a task that allocates past its memory limit is TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY', async () => {
    // `tail` holds its last line in memory: 300 MB without a newline, against a 32 MB limit.
    master.run(agentId, testTask('p-oom', 'head -c 300m /dev/zero | tail > /dev/null', { resources: parse('cpus:0.5;mem:32') }));
    const failed = await master.waitForState('p-oom', 'TASK_FAILED');
    expect(failed).toMatchObject({ reason: 'REASON_CONTAINER_LIMITATION_MEMORY', source: 'SOURCE_AGENT' });
    // The kernel kills `tail` (the shell then exits 137), or the shell itself when it is the one
    // it picks; both are the memory limit, and the message says which.
    expect([failed.exitCode, failed.message]).toEqual(failed.exitCode === undefined
      ? [undefined, 'memory limit exceeded; command terminated by signal SIGKILL']
      : [137, 'memory limit exceeded; command exited with code 137']);
  });

  it('a running task\'s cpu quota and memory limit are in its cgroup, which is gone once the task has ended', async () => {
    master.run(agentId, testTask('p-quota', 'sleep 300', { resources: parse('cpus:0.25;mem:40') }));
    const running = await master.waitForState('p-quota', 'TASK_RUNNING');
    const dirs = cgroups.parents.map((p) => join(p, running.containerId));
    if (cgroups.version === 'v1') {
      expect(readFileSync(join(dirs[1]!, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('25000');
      expect(readFileSync(join(dirs[0]!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(40 * 1024 * 1024));
    } else {
      expect(readFileSync(join(dirs[0]!, 'cpu.max'), 'utf8').trim()).toBe('25000 100000');
      expect(readFileSync(join(dirs[0]!, 'memory.max'), 'utf8').trim()).toBe(String(40 * 1024 * 1024));
    }
    master.kill(agentId, 'p-quota', 0);
    await master.waitForState('p-quota', 'TASK_KILLED');
    // The container, cgroup included, is removed before the terminal update goes out.
    for (const d of dirs) expect(existsSync(d)).toBe(false);
  });
});
