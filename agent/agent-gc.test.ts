/**
 * Garbage collection on a running agent: real NATS, real processes, real directories, the
 * test playing the master. Time is a FakeClock the test advances; the disk usage comes from
 * a function the test sets, so "95 % full" needs no full disk. Every check waits for a GC
 * sweep that decided at the clock's new time, never on wall time.
 */
import Docker from 'dockerode';
import { randomUUID } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'fs';
import { request } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeClock } from '../common/clock';
import type { TaskStatus } from '../common/types';
import { TEST_IMAGE } from '../test/support/cluster';
import { startAgent, type AgentHandle } from './agent';
import type { AgentStateView } from './api/http';
import { LABELS } from './containerizer/docker-create';
import type { GcSweep } from './gc-collector';
import { startAgentRig, testTask, type AgentRig } from '../test/support/test-master';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** The next sweep that matches, waited for as an event (the timeout only turns a hang into a message). */
function nextSweep(agent: AgentHandle, match: (s: GcSweep) => boolean, what: string): Promise<GcSweep> {
  return new Promise((resolve, reject) => {
    const on = (s: GcSweep) => {
      if (!match(s)) return;
      agent.off('gc', on);
      clearTimeout(t);
      resolve(s);
    };
    const t = setTimeout(() => { agent.off('gc', on); reject(new Error(`no GC sweep: ${what}`)); }, 20_000);
    agent.on('gc', on);
  });
}

/** Moves the clock and waits for a sweep that decided at the new time. */
async function advanceAndSweep(agent: AgentHandle, clock: FakeClock, ms: number): Promise<GcSweep> {
  const at = clock.now() + ms;
  const swept = nextSweep(agent, (s) => s.atMs === at, `after advancing ${ms} ms`);
  clock.advance(ms);
  return swept;
}

function get(agent: AgentHandle, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: agent.httpPort, path }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

const readStdout = (agent: AgentHandle, fw: string, task: string) =>
  get(agent, `/files/read?framework_id=${fw}&task_id=${task}&file=stdout&offset=0&length=100`);

describe('agent garbage collection of finished sandboxes (process containerizer)', () => {
  const clock = new FakeClock();
  let usage = 0;
  let rig: AgentRig;
  let agent: AgentHandle;

  beforeAll(async () => {
    rig = await startAgentRig({
      containerizer: 'process', resources: 'cpus:2;mem:1024;disk:1000', clock,
      gcDelayMs: HOUR, gcDiskHeadroom: 0.1, diskWatchIntervalMs: MIN, diskUsage: () => Promise.resolve(usage),
    });
    agent = rig.agent;
  });

  afterAll(async () => { await rig?.stop(); });

  const sandboxOf = (fw: string, task: string, containerId: string) =>
    join(rig.workDir, 'agents', rig.agentId, 'frameworks', fw, 'tasks', task, 'runs', containerId);

  /** Runs `command` to its end; resolves once its acknowledged run was scheduled for GC. */
  async function finishedRun(fw: string, task: string, command: string): Promise<{ sandbox: string; done: TaskStatus; sweep: GcSweep }> {
    const scheduled = nextSweep(agent, (s) => s.scheduled.some((p) => p.includes(`/tasks/${task}/`)), `${task} scheduled`);
    rig.master.run(rig.agentId, testTask(task, command), fw);
    const done = await rig.master.waitForState(task, 'TASK_FINISHED');
    const sweep = await scheduled;
    const sandbox = sandboxOf(fw, task, done.containerId);
    expect(sweep.scheduled).toContain(sandbox);
    return { sandbox, done, sweep };
  }

  it('keeps a finished sandbox readable for gcDelay × (1 − headroom) = 54 min on an empty disk, then removes it and its empty parents', async () => {
    usage = 0;
    const { sandbox } = await finishedRun('fw-gc1', 'gc-done', 'echo hello');

    const before = await advanceAndSweep(agent, clock, 53 * MIN);
    expect(before.maxAgeMs).toBe(54 * MIN);
    expect(before.removed).not.toContain(sandbox);
    expect(existsSync(join(sandbox, 'stdout'))).toBe(true);
    expect(await readStdout(agent, 'fw-gc1', 'gc-done')).toEqual({ status: 200, body: { data: 'hello\n', offset: 0 } });

    const after = await advanceAndSweep(agent, clock, 2 * MIN);
    expect(after.removed).toContain(sandbox);
    expect(existsSync(sandbox)).toBe(false);
    // The empty parents go up to the framework's directory; the agent's own stays.
    expect(existsSync(join(rig.workDir, 'agents', rig.agentId, 'frameworks', 'fw-gc1'))).toBe(false);
    expect(existsSync(join(rig.workDir, 'agents', rig.agentId, 'frameworks'))).toBe(true);
    // And the run is no longer offered.
    expect((await readStdout(agent, 'fw-gc1', 'gc-done')).status).toBe(404);
    const state = (await get(agent, '/state')).body as unknown as AgentStateView;
    expect(state.tasks.map((t) => t.id)).not.toContain('gc-done');
  });

  it('on a half-full disk the wait shrinks to 1 h × (1 − 0.1 − 0.5) = 24 min', async () => {
    usage = 0.5;
    const { sandbox } = await finishedRun('fw-gc2', 'gc-half', 'echo half');
    const before = await advanceAndSweep(agent, clock, 23 * MIN);
    expect(before.maxAgeMs).toBe(24 * MIN);
    expect(existsSync(join(sandbox, 'stdout'))).toBe(true);
    expect((await readStdout(agent, 'fw-gc2', 'gc-half')).status).toBe(200);

    const after = await advanceAndSweep(agent, clock, 2 * MIN);
    expect(after.removed).toContain(sandbox);
    expect(existsSync(sandbox)).toBe(false);
  });

  it('at 95 % usage a sandbox goes as soon as its run is acknowledged, with no time passing', async () => {
    usage = 0.95;
    const at = clock.now();
    const { sandbox, sweep } = await finishedRun('fw-gc3', 'gc-full', 'echo full');
    expect(sweep).toMatchObject({ atMs: at, maxAgeMs: 0 });
    expect(sweep.removed).toContain(sandbox);
    expect(existsSync(sandbox)).toBe(false);
    expect((await readStdout(agent, 'fw-gc3', 'gc-full')).status).toBe(404);
  });

  it('never touches the sandbox of a live run, nor of one whose terminal update is unacknowledged, even on a full disk', async () => {
    usage = 0.99;
    const master = rig.master;
    master.run(rig.agentId, testTask('gc-live', 'echo live; sleep 300'), 'fw-gc4');
    const running = await master.waitForState('gc-live', 'TASK_RUNNING');
    // Everything of gc-unacked is acknowledged but its TASK_FINISHED (only the oldest update
    // of a task is ever in flight, so the earlier ones must be).
    master.autoAck = false;
    const ackAllButTheEnd = (st: TaskStatus) => { if (st.taskId === 'gc-unacked' && st.state !== 'TASK_FINISHED') master.ack(st); };
    master.on('status', ackAllButTheEnd);
    master.run(rig.agentId, testTask('gc-unacked', 'echo unacked'), 'fw-gc4');
    const unacked = await master.waitForState('gc-unacked', 'TASK_FINISHED');
    const live = sandboxOf('fw-gc4', 'gc-live', running.containerId);
    const ended = sandboxOf('fw-gc4', 'gc-unacked', unacked.containerId);

    const week = await advanceAndSweep(agent, clock, 7 * 24 * HOUR);
    expect(week.maxAgeMs).toBe(0);
    expect(week.removed.filter((p) => p.includes('/fw-gc4/'))).toEqual([]);
    expect(existsSync(join(live, 'stdout'))).toBe(true);
    expect(existsSync(join(ended, 'stdout'))).toBe(true);
    expect((await readStdout(agent, 'fw-gc4', 'gc-unacked')).body).toEqual({ data: 'unacked\n', offset: 0 });

    // Once acknowledged, the ended run is let go, and the disk being full, it goes at once.
    const gone = nextSweep(agent, (s) => s.removed.includes(ended), 'the acknowledged run removed');
    master.off('status', ackAllButTheEnd);
    master.autoAck = true;
    master.ack(unacked);
    await gone;
    expect(existsSync(ended)).toBe(false);
    expect(existsSync(join(live, 'stdout'))).toBe(true);

    const liveGone = nextSweep(agent, (s) => s.removed.includes(live), 'the killed run removed');
    master.kill(rig.agentId, 'gc-live', 1000, 'fw-gc4');
    await master.waitForState('gc-live', 'TASK_KILLED');
    await liveGone;
    expect(existsSync(live)).toBe(false);
  });
});

describe('agent garbage collection at start-up', () => {
  it('schedules sandboxes no run claims (an older agent id\'s) by their mtime, and clears the old agent\'s directory once empty', async () => {
    const clock = new FakeClock();
    const rig = await startAgentRig({ containerizer: 'process', resources: 'cpus:1;mem:256;disk:100', clock });
    const workDir = mkdtempSync(join(tmpdir(), 'agora-agent-gc-'));
    const old = (task: string, run: string, minutesAgo: number) => {
      const dir = join(workDir, 'agents', 'old-agent', 'frameworks', 'fw-old', 'tasks', task, 'runs', run);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'stdout'), 'left behind\n');
      const t = (clock.now() - minutesAgo * MIN) / 1000;
      utimesSync(dir, t, t);
      return dir;
    };
    const stale = old('t-stale', 'c-stale', 120);
    const recent = old('t-recent', 'c-recent', 10);
    let agent: AgentHandle | undefined;
    try {
      agent = await startAgent({
        natsUrl: rig.nats.url, workDir, httpHost: '127.0.0.1', httpPort: 0, containerizer: 'process', resources: 'cpus:1;mem:256;disk:100',
        clock, gcDelayMs: HOUR, gcDiskHeadroom: 0.1, diskWatchIntervalMs: MIN, diskUsage: () => Promise.resolve(0),
      });
      await agent.registered;
      // 54 min allowed: the one that ended 2 h ago is due at once, the one 10 min ago in 44 min.
      const first = await advanceAndSweep(agent, clock, MIN);
      expect(first.maxAgeMs).toBe(54 * MIN);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(join(recent, 'stdout'))).toBe(true);

      const later = await advanceAndSweep(agent, clock, 43 * MIN);
      expect(later.removed).toContain(recent);
      expect(existsSync(join(workDir, 'agents', 'old-agent'))).toBe(false);
      expect(existsSync(join(workDir, 'agents'))).toBe(true);
    } finally {
      await agent?.stop();
      await rig.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});

describe('agent garbage collection of exited containers (Docker)', () => {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const made: Docker.Container[] = [];

  /** A container carrying an agent's labels for a run no agent knows, as a crash would leave it. */
  async function labelled(agentId: string, cmd: string[]): Promise<{ container: Docker.Container; containerId: string }> {
    const containerId = `orphan-${randomUUID()}`;
    const container = await docker.createContainer({
      Image: TEST_IMAGE, Cmd: cmd, HostConfig: { Init: true },
      Labels: { [LABELS.agentId]: agentId, [LABELS.frameworkId]: 'fw-gone', [LABELS.taskId]: 't-gone', [LABELS.containerId]: containerId },
    });
    made.push(container);
    await container.start();
    return { container, containerId };
  }

  const exists = (c: Docker.Container) => c.inspect().then(() => true, (e: { statusCode?: number }) => {
    if (e.statusCode === 404) return false;
    throw e;
  });

  afterAll(async () => {
    await Promise.all(made.map((c) => c.remove({ force: true }).catch(() => undefined)));
  });

  it('removes an exited container labelled with this agent\'s id that no run claims; a running one and another agent\'s are left', async () => {
    const clock = new FakeClock();
    const rig = await startAgentRig({
      containerizer: 'docker', resources: 'cpus:1;mem:256;disk:100', clock, diskWatchIntervalMs: MIN, diskUsage: () => Promise.resolve(0),
      // The clock jumps a minute: the engine watchdog on it would take that for a silent engine.
      dockerProbeIntervalMs: 365 * 24 * HOUR,
    });
    try {
      const exited = await labelled(rig.agentId, ['true']);
      await exited.container.wait();
      const running = await labelled(rig.agentId, ['sleep', '300']);
      const foreign = await labelled(`other-${rig.agentId}`, ['true']);
      await foreign.container.wait();

      const swept = await advanceAndSweep(rig.agent, clock, MIN);
      expect(swept.containers).toEqual([exited.containerId]);
      expect(await exists(exited.container)).toBe(false);
      expect(await exists(running.container)).toBe(true);
      expect(await exists(foreign.container)).toBe(true);
    } finally {
      await rig.stop();
    }
  });
});
