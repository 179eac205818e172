/**
 * Health checks end to end: a real agent with a fake clock, real NATS, real Docker
 * containers and processes; the test plays the master. The schedule is the fake clock's:
 * the test advances it to fire each probe and then waits for the probe's outcome (an agent
 * `health` event) or for the status update it causes. The probes themselves are real HTTP
 * requests, TCP connections and commands run in the task's container or sandbox.
 */
import { existsSync, rmSync, watch, writeFileSync } from 'fs';
import { join } from 'path';
import { FakeClock } from '../common/clock';
import { freePort } from '../common/nats-server';
import { parse } from '../common/resources';
import type { HealthCheck, TaskInfo, TaskStatus } from '../common/types';
import type { AgentHandle } from './agent';
import type { HealthProbeReport } from './task-health';
import { startAgentRig, testTask, type AgentRig, type TestMaster } from '../test/support/test-master';

const clock = new FakeClock();
let rig: AgentRig;
let master: TestMaster;
let agent: AgentHandle;
let agentId: string;

beforeAll(async () => {
  // The engine watchdog runs on the agent's clock too: a jump past a probe's timeout would
  // count as an engine that did not answer, so it is idle here (engine-watchdog.test.ts).
  rig = await startAgentRig({ containerizer: 'docker', resources: 'cpus:2;mem:1024;disk:1000', clock, dockerProbeIntervalMs: 365 * 86_400_000 });
  ({ master, agent, agentId } = rig);
});

afterAll(async () => { await rig?.stop(); });

/** Probes 1 s apart, the first 1 s after RUNNING; failures in the first 60 s do not count until a success. */
function check(more: Partial<HealthCheck>): HealthCheck {
  return { type: 'HTTP', delayMs: 1_000, intervalMs: 1_000, timeoutMs: 20_000, consecutiveFailures: 3, gracePeriodMs: 60_000, port: 0, path: '/', ...more };
}

function sandboxOf(s: TaskStatus): string {
  return join(rig.workDir, 'agents', agentId, 'frameworks', 'fw-1', 'tasks', s.taskId, 'runs', s.containerId);
}

/** The next probe of `taskId`, after moving the clock by `ms` to fire it. */
function probe(taskId: string, ms = 1_000): Promise<HealthProbeReport> {
  const next = new Promise<HealthProbeReport>((resolve, reject) => {
    const t = setTimeout(() => { agent.off('health', on); reject(new Error(`no probe of ${taskId}`)); }, 20_000);
    const on = (r: HealthProbeReport) => {
      if (r.taskId !== taskId) return;
      clearTimeout(t);
      agent.off('health', on);
      resolve(r);
    };
    agent.on('health', on);
  });
  clock.advance(ms);
  return next;
}

/** Resolves once `name` exists in directory `dir` (written by a task: watched, not polled). */
function fileAppears(dir: string, name: string): Promise<void> {
  const path = join(dir, name);
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => { w.close(); clearTimeout(t); if (err) reject(err); else resolve(); };
    const w = watch(dir, () => { if (existsSync(path)) done(); });
    const t = setTimeout(() => done(new Error(`${path} never appeared`)), 20_000);
    if (existsSync(path)) done();
  });
}

/**
 * A task script: busybox httpd on `listen` serving /tmp; `ready` appears in the sandbox once
 * it answers (the task asks it itself), and when the test writes `stop` there, httpd is
 * killed, `stopped` appears, and the task lives on without answering.
 */
function serveUntilStopped(listen: string, url: string): string {
  return `echo ok > /tmp/index.html; httpd -f -p ${listen} -h /tmp & pid=$!; `
    + `until wget -q -O /dev/null ${url}; do sleep 0.05; done; touch "$AGORA_SANDBOX/ready"; `
    + 'while [ ! -e "$AGORA_SANDBOX/stop" ]; do sleep 0.05; done; kill $pid; wait $pid; touch "$AGORA_SANDBOX/stopped"; exec sleep 300';
}

/** The first health update of `taskId` saying `healthy`, made after `after` if given. */
function healthUpdate(taskId: string, healthy: boolean, after?: TaskStatus): Promise<TaskStatus> {
  return master.waitForStatus((s) => s.taskId === taskId && s.state === 'TASK_RUNNING' && s.healthy === healthy
    && (!after || s.timestampMs > after.timestampMs), `${taskId} healthy=${healthy}`);
}

/** The task's updates as the master received them, resends dropped. */
function updates(taskId: string): Pick<TaskStatus, 'state' | 'healthy' | 'reason'>[] {
  const seen = new Set<string>();
  return master.of(taskId).filter((s) => !seen.has(s.uuid) && seen.add(s.uuid)).map((s) => ({
    state: s.state, healthy: s.healthy, reason: s.reason,
  }));
}

const HEALTH = 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED';

describe('health checks of Docker tasks', () => {
  it('HTTP on a bridge: healthy once httpd answers, unhealthy when it stops, killed after 3 failures', async () => {
    const hostPort = await freePort();
    master.run(agentId, testTask('h-http', serveUntilStopped('8080', 'http://127.0.0.1:8080/index.html'), {
      resources: parse(`cpus:0.1;mem:32;ports:[${hostPort}-${hostPort}]`),
      container: { type: 'DOCKER', docker: { image: '', network: 'BRIDGE', portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp' }], forcePullImage: false } },
      healthCheck: check({ type: 'HTTP', port: 8080, path: '/index.html' }),
      killPolicy: { gracePeriodMs: 1_000 },
    }));
    const running = await master.waitForState('h-http', 'TASK_RUNNING');
    await fileAppears(sandboxOf(running), 'ready');

    const up = await probe('h-http');
    expect(up).toMatchObject({ healthy: true, counted: true });
    expect(up.why).toBe(`GET http://127.0.0.1:${hostPort}/index.html: HTTP 200`);
    const healthy = await healthUpdate('h-http', true);
    expect(healthy).toMatchObject({ reason: HEALTH, message: up.why, containerId: running.containerId });

    writeFileSync(join(sandboxOf(running), 'stop'), '');
    await fileAppears(sandboxOf(running), 'stopped');
    // The port is still published: Docker accepts the connection and drops it.
    const first = await probe('h-http');
    expect(first).toMatchObject({ healthy: false, counted: true, consecutiveFailures: 1 });
    const unhealthy = await healthUpdate('h-http', false);
    expect(unhealthy.message).toBe(first.why);
    expect(unhealthy.message).toMatch(new RegExp(`^GET http://127.0.0.1:${hostPort}/index.html: `));

    expect(await probe('h-http')).toMatchObject({ healthy: false, consecutiveFailures: 2 });
    expect(await probe('h-http')).toMatchObject({ healthy: false, consecutiveFailures: 3 });
    const killed = await master.waitForState('h-http', 'TASK_KILLED');
    expect(killed.healthy).toBe(false);
    expect(killed.reason).toBe(HEALTH);
    expect(killed.message).toMatch(/^killed as unhealthy: health check failed 3 times in a row, the last: GET http:\/\/127\.0\.0\.1:\d+\/index\.html: /);
    expect(updates('h-http')).toEqual([
      { state: 'TASK_STARTING', healthy: undefined, reason: 'REASON_UNKNOWN' },
      { state: 'TASK_RUNNING', healthy: undefined, reason: 'REASON_UNKNOWN' },
      { state: 'TASK_RUNNING', healthy: true, reason: HEALTH },
      { state: 'TASK_RUNNING', healthy: false, reason: HEALTH },
      { state: 'TASK_KILLED', healthy: false, reason: HEALTH },
    ]);
  });

  it('TCP with HOST networking: the check port is the host port; a kill on request stops the checks', async () => {
    const port = await freePort();
    master.run(agentId, testTask('h-tcp', serveUntilStopped(`127.0.0.1:${port}`, `http://127.0.0.1:${port}/index.html`), {
      container: { type: 'DOCKER', docker: { image: '', network: 'HOST', portMappings: [], forcePullImage: false } },
      healthCheck: check({ type: 'TCP', port }),
    }));
    const running = await master.waitForState('h-tcp', 'TASK_RUNNING');
    await fileAppears(sandboxOf(running), 'ready');
    expect((await probe('h-tcp')).why).toBe(`TCP 127.0.0.1:${port}: connected`);
    await healthUpdate('h-tcp', true);

    writeFileSync(join(sandboxOf(running), 'stop'), '');
    await fileAppears(sandboxOf(running), 'stopped');
    const down = await probe('h-tcp');
    expect(down.why).toMatch(new RegExp(`^TCP 127.0.0.1:${port}: connect ECONNREFUSED`));
    await healthUpdate('h-tcp', false);

    master.kill(agentId, 'h-tcp', 0);
    const killed = await master.waitForState('h-tcp', 'TASK_KILLED');
    expect(killed.reason).toBe('REASON_UNKNOWN');
    expect(killed.healthy).toBeUndefined();
    expect(killed.message).toMatch(/^killed on request/);
  });

  it('COMMAND runs inside the container: unhealthy while the command fails, healthy again when it passes', async () => {
    master.run(agentId, testTask('h-cmd', 'exec sleep 300', {
      healthCheck: check({
        type: 'COMMAND',
        // In the container: its mount of the sandbox and its environment, plus the check's own.
        command: { value: 'test "$AGORA_SANDBOX" = /mnt/agora/sandbox && test "$WHO" = check && ! cat "$AGORA_SANDBOX/sick"', argv: [], environment: { WHO: 'check' }, user: '' },
      }),
    }));
    const running = await master.waitForState('h-cmd', 'TASK_RUNNING');
    expect((await probe('h-cmd')).why).toMatch(/^command '.*' exited with code 0$/);
    await healthUpdate('h-cmd', true);

    writeFileSync(join(sandboxOf(running), 'sick'), 'disk full');
    const sick = await probe('h-cmd');
    expect(sick).toMatchObject({ healthy: false, counted: true, consecutiveFailures: 1 });
    expect(sick.why).toMatch(/exited with code 1: disk full$/);
    const unhealthy = await healthUpdate('h-cmd', false);

    rmSync(join(sandboxOf(running), 'sick'));
    expect(await probe('h-cmd')).toMatchObject({ healthy: true, consecutiveFailures: 0 });
    await healthUpdate('h-cmd', true, unhealthy);
    expect(updates('h-cmd').map((u) => u.healthy)).toEqual([undefined, undefined, true, false, true]);

    master.kill(agentId, 'h-cmd', 0);
    await master.waitForState('h-cmd', 'TASK_KILLED');
  });

  it('a check the agent cannot run is TASK_ERROR naming the problem, and nothing is launched', async () => {
    master.run(agentId, testTask('h-bad', 'exec sleep 300', {
      container: { type: 'DOCKER', docker: { image: '', network: 'BRIDGE', portMappings: [], forcePullImage: false } },
      healthCheck: check({ type: 'HTTP', port: 8080 }),
    }));
    const error = await master.waitForState('h-bad', 'TASK_ERROR');
    expect(error.reason).toBe('REASON_TASK_INVALID');
    expect(error.message).toBe("health check of task h-bad: port 8080 is not a container port of the task's TCP port mappings (none); on a BRIDGE network the check's port is the container port");
    expect(updates('h-bad').map((u) => u.state)).toEqual(['TASK_ERROR']);
  });
});

describe('health checks of process tasks', () => {
  it('COMMAND runs in the sandbox with the task environment; one failure allowed: unhealthy, then killed', async () => {
    const task: TaskInfo = testTask('h-proc', 'exec sleep 300', {
      container: { type: 'PROCESS' },
      command: { value: 'exec sleep 300', argv: [], environment: { ROLE: 'web' }, user: '' },
      healthCheck: check({
        type: 'COMMAND', consecutiveFailures: 1, gracePeriodMs: 1,
        command: { value: 'test "$PWD" = "$AGORA_SANDBOX" && test "$ROLE" = web && test ! -e sick', argv: [], environment: {}, user: '' },
      }),
    });
    master.run(agentId, task);
    const running = await master.waitForState('h-proc', 'TASK_RUNNING');
    expect(await probe('h-proc')).toMatchObject({ healthy: true });
    await healthUpdate('h-proc', true);

    writeFileSync(join(sandboxOf(running), 'sick'), '');
    expect(await probe('h-proc')).toMatchObject({ healthy: false, consecutiveFailures: 1 });
    const killed = await master.waitForState('h-proc', 'TASK_KILLED');
    expect(killed.healthy).toBe(false);
    expect(killed.message).toMatch(/^killed as unhealthy: health check failed 1 time in a row, the last: command '.*' exited with code 1; command terminated by signal SIGTERM$/);
    expect(updates('h-proc').map((u) => [u.state, u.healthy])).toEqual([
      ['TASK_STARTING', undefined], ['TASK_RUNNING', undefined], ['TASK_RUNNING', true], ['TASK_RUNNING', false], ['TASK_KILLED', false],
    ]);
  });
});
