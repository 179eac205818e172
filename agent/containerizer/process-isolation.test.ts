/**
 * The process containerizer's isolation with real processes: the user and working
 * directory a command runs with, and its cgroup (limits, OOM kills, cleanup) where this
 * host's cgroups are usable — the tests that need them are skipped otherwise, saying why.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from '../../common/resources';
import type { TaskInfo } from '../../common/types';
import { createSandbox } from '../sandbox';
import { testTask } from '../../test/support/test-master';
import { detectCgroups } from './cgroups';
import { LaunchError, type LaunchSpec } from './containerizer';
import { ProcessContainerizer } from './process';

let dir: string;
let seq = 0;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agora-proc-iso-'));
  // A task run as another user must be able to reach its sandbox below this directory.
  chmodSync(dir, 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function spec(command: string, more: Partial<TaskInfo> = {}): LaunchSpec {
  const containerId = `iso-${process.pid}-${++seq}`;
  const sandboxDir = join(dir, containerId);
  createSandbox(sandboxDir);
  return { containerId, agentId: 'a', frameworkId: 'f', taskId: `t${seq}`, task: testTask(`t${seq}`, command, more), sandboxDir, env: {} };
}

const stdout = (s: LaunchSpec) => readFileSync(join(s.sandboxDir, 'stdout'), 'utf8');
/** Waits until the command wrote a whole line to `file` (it does so right after it starts). */
async function untilFileHasLine(file: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (existsSync(file) && readFileSync(file, 'utf8').endsWith('\n')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} never got a line`);
}

const cmd = (value: string, extra: { user?: string; workingDirectory?: string }) => ({ value, argv: [], environment: {}, user: extra.user ?? '', ...(extra.workingDirectory ? { workingDirectory: extra.workingDirectory } : {}) });

describe('process containerizer: user and working directory', () => {
  it('runs the command as command.user, in a sandbox-relative working directory it creates', async () => {
    const c = new ProcessContainerizer();
    const s = spec('', { command: cmd('id -u; id -g; pwd; echo "$HOME $USER"; touch mine', { user: 'nobody', workingDirectory: 'work/here' }) });
    await c.launch(s);
    await expect(c.wait(s.containerId)).resolves.toEqual({ exitCode: 0 });
    await c.destroy(s.containerId);
    expect(stdout(s)).toBe(`65534\n65534\n${s.sandboxDir}/work/here\n/nonexistent nobody\n`);
    // The user could write there: the directory was handed to it.
    expect(existsSync(join(s.sandboxDir, 'work/here/mine'))).toBe(true);
  });

  it('runs in an absolute working directory as given', async () => {
    const c = new ProcessContainerizer();
    const s = spec('', { command: cmd('pwd', { workingDirectory: '/tmp' }) });
    await c.launch(s);
    await expect(c.wait(s.containerId)).resolves.toEqual({ exitCode: 0 });
    expect(stdout(s)).toBe('/tmp\n');
  });

  it('refuses a working directory that leaves the sandbox or does not exist', async () => {
    const c = new ProcessContainerizer();
    await expect(c.launch(spec('', { command: cmd('pwd', { workingDirectory: '../..' }) })))
      .rejects.toThrow(new LaunchError("command.workingDirectory '../..' leads out of the sandbox; use a path inside it or an absolute one"));
    await expect(c.launch(spec('', { command: cmd('pwd', { workingDirectory: '/no/such/dir' }) })))
      .rejects.toThrow("command.workingDirectory '/no/such/dir' is not a directory on this agent");
  });

  it('an agent that is not root refuses to run a task as someone else', async () => {
    const c = new ProcessContainerizer({ uid: 1000 });
    await expect(c.launch(spec('', { command: cmd('id', { user: 'root' }) })))
      .rejects.toThrow("the agent runs as uid 1000 and cannot start a task as 'root' (uid 0): only an agent running as root can switch users");
  });

  it('refuses an unknown user and volumes, which need Docker', async () => {
    const c = new ProcessContainerizer();
    await expect(c.launch(spec('', { command: cmd('id', { user: 'agora-no-such-user' }) }))).rejects.toThrow(/'agora-no-such-user' is not a user on this agent/);
    await expect(c.launch(spec('true', { container: { type: 'PROCESS', volumes: [{ hostPath: 'd', containerPath: '/d', mode: 'RW' }] } })))
      .rejects.toThrow(/volumes need the Docker containerizer/);
  });
});

// The same detection the agent makes at start-up.
const host = detectCgroups();
const withCgroups = host.ok ? describe : describe.skip;

withCgroups(`process containerizer with cgroups (${host.view.cgroups}: ${host.view.why})`, () => {
  const cgroups = host.ok ? host.cgroups : undefined!;

  it('the command is in its container\'s cgroup from its first instruction on', async () => {
    const c = new ProcessContainerizer({ cgroups });
    const s = spec('cat /proc/self/cgroup');
    await c.launch(s);
    await expect(c.wait(s.containerId)).resolves.toEqual({ exitCode: 0 });
    const memoryLine = stdout(s).split('\n').find((l) => (cgroups.version === 'v1' ? /:memory:/ : /^0::/).test(l));
    expect(memoryLine).toMatch(new RegExp(`/agora/${s.containerId}$`));
    await c.destroy(s.containerId);
  });

  it('writes mem and cpus as the memory limit and cpu quota, and removes the cgroup on destroy', async () => {
    const c = new ProcessContainerizer({ cgroups });
    const s = spec('echo ready; exec sleep 300', { resources: parse('cpus:0.5;mem:48') });
    await c.launch(s);
    const [first, second] = cgroups.parents.map((p) => join(p, s.containerId));
    if (cgroups.version === 'v1') {
      expect(readFileSync(join(first!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(48 * 1024 * 1024));
      expect(readFileSync(join(second!, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
    } else {
      expect(readFileSync(join(first!, 'memory.max'), 'utf8').trim()).toBe(String(48 * 1024 * 1024));
      expect(readFileSync(join(first!, 'cpu.max'), 'utf8').trim()).toBe('50000 100000');
    }
    await c.kill(s.containerId, 0);
    await expect(c.wait(s.containerId)).resolves.toEqual({ exitCode: undefined, signal: 'SIGKILL' });
    await c.destroy(s.containerId);
    for (const p of cgroups.parents) expect(existsSync(join(p, s.containerId))).toBe(false);
  });

  it('a command over its memory limit is OOM-killed and reported as oomKilled', async () => {
    const c = new ProcessContainerizer({ cgroups });
    // `tail` keeps the last line in memory: 300 MB without a newline is one line.
    const s = spec('head -c 300m /dev/zero | tail > /dev/null', { resources: parse('cpus:0.5;mem:32') });
    await c.launch(s);
    await expect(c.wait(s.containerId)).resolves.toEqual({ exitCode: 137, oomKilled: true });
    await c.destroy(s.containerId);
  });

  it('destroy also ends what left the process group (setsid), through the cgroup', async () => {
    const c = new ProcessContainerizer({ cgroups });
    const s = spec('setsid sleep 300 & echo $! > escaped.pid; wait');
    await c.launch(s);
    const escapedFile = join(s.sandboxDir, 'escaped.pid');
    await untilFileHasLine(escapedFile);
    await c.kill(s.containerId, 0);
    await c.wait(s.containerId);
    await c.destroy(s.containerId);
    const pid = Number(readFileSync(escapedFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    let state = '';
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2)[0]!;
    } catch {
      state = 'gone';
    }
    expect(['gone', 'Z']).toContain(state);
  });
});
