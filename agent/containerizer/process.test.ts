/**
 * The process containerizer on its own, with real child processes. Its kill escalation runs
 * on a fake clock here, so "SIGKILL after the grace period" is shown without waiting for it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeClock } from '../../common/clock';
import { createSandbox } from '../sandbox';
import { testTask } from '../../test/support/test-master';
import type { LaunchSpec } from './containerizer';
import { ProcessContainerizer } from './process';

let dir: string;
let seq = 0;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'agora-proc-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function spec(command: string): LaunchSpec {
  const containerId = `c${++seq}`;
  const sandboxDir = join(dir, containerId);
  createSandbox(sandboxDir);
  return { containerId, agentId: 'a', frameworkId: 'f', taskId: `t${seq}`, task: testTask(`t${seq}`, command), sandboxDir, env: { FROM_AGENT: 'yes' } };
}

/** The command writes a line once its signal handling is set up; wait for that line. */
async function untilReady(s: LaunchSpec): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (readFileSync(join(s.sandboxDir, 'stdout'), 'utf8').includes('ready')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the command never got ready');
}

/** Running, not a zombie waiting to be reaped by whoever inherited it. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Whether `pid` stops running within a bounded number of short checks. */
async function ends(pid: number, checks = 100): Promise<boolean> {
  for (let i = 0; i < checks; i++) {
    if (!running(pid)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

describe('process containerizer', () => {
  it('a command that ignores SIGTERM is killed with SIGKILL when the grace period is over', async () => {
    const clock = new FakeClock();
    const c = new ProcessContainerizer({ clock });
    const s = spec('trap "" TERM; echo ready; exec sleep 300');
    await c.launch(s);
    await untilReady(s);
    await c.kill(s.containerId, 5_000);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(5_000);
    await expect(c.wait(s.containerId)).resolves.toEqual({ exitCode: undefined, signal: 'SIGKILL' });
    await c.destroy(s.containerId);
    expect(await c.list()).toEqual([]);
  });

  it('a command that heeds SIGTERM ends with it, and the escalation is cancelled', async () => {
    const clock = new FakeClock();
    const c = new ProcessContainerizer({ clock });
    const s = spec('echo ready; exec sleep 300');
    await c.launch(s);
    await untilReady(s);
    await c.kill(s.containerId, 5_000);
    await expect(c.wait(s.containerId)).resolves.toEqual({ exitCode: undefined, signal: 'SIGTERM' });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('runs in the sandbox with the agent-given and the task environment, but not the agent\'s own', async () => {
    process.env.AGORA_SECRET_FOR_TEST = 'leak';
    const c = new ProcessContainerizer();
    const s = spec('pwd; echo "$FROM_AGENT ${AGORA_SECRET_FOR_TEST:-none}"');
    await c.launch(s);
    await expect(c.wait(s.containerId)).resolves.toEqual({ exitCode: 0 });
    expect(readFileSync(join(s.sandboxDir, 'stdout'), 'utf8')).toBe(`${s.sandboxDir}\nyes none\n`);
    delete process.env.AGORA_SECRET_FOR_TEST;
  });

  it('what a command left running in the background ends with it', async () => {
    const c = new ProcessContainerizer();
    const s = spec('sleep 300 & echo $! > bg.pid');
    await c.launch(s);
    await expect(c.wait(s.containerId)).resolves.toEqual({ exitCode: 0 });
    const pid = Number(readFileSync(join(s.sandboxDir, 'bg.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    // SIGKILL was sent to the group as the command exited; the kernel ends it a moment later
    expect(await ends(pid)).toBe(true);
  });

  it('destroyAll ends every container it runs', async () => {
    const c = new ProcessContainerizer();
    const a = spec('sleep 300');
    const b = spec('sleep 300 & sleep 300');
    await c.launch(a);
    await c.launch(b);
    expect((await c.list()).sort()).toEqual([a.containerId, b.containerId].sort());
    await c.destroyAll(1_000);
    expect(await c.list()).toEqual([]);
  });
});
