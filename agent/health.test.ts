/**
 * The health-check core on a fake clock, with scripted probes: no servers. Times in the
 * expectations are milliseconds since the checker started (the task turned RUNNING).
 */
import fc from 'fast-check';
import { FakeClock } from '../common/clock';
import type { HealthCheck, TaskInfo } from '../common/types';
import { HealthChecker, HealthCheckError, resolveHealthCheck, type HealthEvent, type HealthSchedule, type ProbeResult } from './health';

const MESOS_DEFAULTS: HealthSchedule = { delayMs: 15_000, intervalMs: 10_000, timeoutMs: 20_000, consecutiveFailures: 3, gracePeriodMs: 10_000 };
const ok: ProbeResult = { healthy: true, why: 'HTTP 200' };
const down: ProbeResult = { healthy: false, why: 'connection refused' };

/** Lets the probes' promises settle: microtasks only, no wall time. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

interface Probed { at: number; signal: AbortSignal; answer(r: ProbeResult): void }

/**
 * A checker whose probe answers from `script` (by probe number) at once, or, for 'manual',
 * waits until the test answers it.
 */
function setup(schedule: Partial<HealthSchedule>, script: (n: number) => ProbeResult | 'manual' | Error) {
  const clock = new FakeClock();
  const start = clock.now();
  const probes: Probed[] = [];
  const events: (HealthEvent & { at: number })[] = [];
  const checker = new HealthChecker({
    schedule: { ...MESOS_DEFAULTS, ...schedule },
    clock,
    probe: (signal) => {
      const r = script(probes.length);
      let answer!: (r: ProbeResult) => void;
      const p = new Promise<ProbeResult>((resolve) => { answer = resolve; });
      probes.push({ at: clock.now() - start, signal, answer });
      if (r instanceof Error) return Promise.reject(r);
      if (r !== 'manual') answer(r);
      return p;
    },
    report: (e) => events.push({ ...e, at: clock.now() - start }),
  });
  const step = async (ms: number) => { clock.advance(ms); await settle(); };
  const of = <K extends HealthEvent['kind']>(kind: K) =>
    events.filter((e): e is Extract<HealthEvent, { kind: K }> & { at: number } => e.kind === kind);
  return { clock, checker, probes, events, step, of, probeTimes: () => probes.map((p) => p.at) };
}

describe('health checker schedule', () => {
  it('probes first after the delay (15 s), then every interval (10 s) after the previous probe ended', async () => {
    const t = setup({}, () => ok);
    await t.step(14_999);
    expect(t.probes).toHaveLength(0);
    await t.step(1);
    await t.step(10_000);
    await t.step(10_000);
    expect(t.probeTimes()).toEqual([15_000, 25_000, 35_000]);
  });

  it('counts the interval from the end of a slow probe, so probes never overlap', async () => {
    const t = setup({ delayMs: 1_000, intervalMs: 1_000, timeoutMs: 5_000 }, (n) => (n === 0 ? 'manual' : ok));
    await t.step(1_000);
    await t.step(3_000);                       // the first probe is still out at 4 s
    expect(t.probeTimes()).toEqual([1_000]);
    t.probes[0]!.answer(ok);
    await settle();
    await t.step(999);
    expect(t.probes).toHaveLength(1);
    await t.step(1);
    expect(t.probeTimes()).toEqual([1_000, 5_000]);
  });

  it('a probe that does not answer within the timeout is a failure, is aborted, and its late answer is ignored', async () => {
    const t = setup({ delayMs: 1_000, intervalMs: 1_000, timeoutMs: 2_000, gracePeriodMs: 0 }, (n) => (n === 0 ? 'manual' : ok));
    await t.step(1_000);
    await t.step(1_999);
    expect(t.probes[0]!.signal.aborted).toBe(false);
    expect(t.of('probed')).toEqual([]);
    await t.step(1);
    expect(t.probes[0]!.signal.aborted).toBe(true);
    expect(t.of('changed')).toEqual([{ kind: 'changed', healthy: false, why: 'no answer within 2000 ms', at: 3_000 }]);
    t.probes[0]!.answer(ok);                   // too late: changes nothing
    await settle();
    expect(t.of('changed')).toHaveLength(1);
    await t.step(1_000);                       // the next probe, 1 s after the timeout, succeeds
    expect(t.of('changed').map((e) => [e.at, e.healthy])).toEqual([[3_000, false], [4_000, true]]);
  });

  it('a probe that throws or rejects is a failure that says why', async () => {
    const t = setup({ delayMs: 0, gracePeriodMs: 0 }, () => new Error('socket hang up'));
    await t.step(0);
    expect(t.of('changed')).toEqual([{ kind: 'changed', healthy: false, why: 'probe failed: socket hang up', at: 0 }]);
  });

  it('stop() aborts the probe under way, cancels the next one and reports nothing more', async () => {
    const t = setup({ delayMs: 1_000 }, () => 'manual');
    await t.step(1_000);
    t.checker.stop();
    expect(t.probes[0]!.signal.aborted).toBe(true);
    t.probes[0]!.answer(ok);
    await t.step(60_000);
    expect(t.events).toEqual([]);
    expect(t.probes).toHaveLength(1);
    expect(t.clock.pendingTimers()).toBe(0);
    expect(t.checker.active).toBe(false);
  });
});

describe('health changes', () => {
  it('reports the first result and then only changes: healthy, unhealthy, healthy again', async () => {
    const results = [ok, ok, down, down, ok, ok];
    const t = setup({ delayMs: 0, intervalMs: 1_000 }, (n) => results[n] ?? ok);
    for (let i = 0; i < results.length; i++) await t.step(i === 0 ? 0 : 1_000);
    expect(t.of('probed')).toHaveLength(6);
    expect(t.of('changed')).toEqual([
      { kind: 'changed', healthy: true, why: 'HTTP 200', at: 0 },
      { kind: 'changed', healthy: false, why: 'connection refused', at: 2_000 },
      { kind: 'changed', healthy: true, why: 'HTTP 200', at: 4_000 },
    ]);
    expect(t.of('kill')).toEqual([]);
  });

  it('asks for a kill after 3 consecutive failures, and then stops probing', async () => {
    const t = setup({ delayMs: 0, intervalMs: 1_000 }, (n) => (n === 0 ? ok : down));
    for (let i = 0; i < 10; i++) await t.step(i === 0 ? 0 : 1_000);
    expect(t.of('changed').map((e) => [e.at, e.healthy])).toEqual([[0, true], [1_000, false]]);
    expect(t.of('kill')).toEqual([{ kind: 'kill', why: 'connection refused', consecutiveFailures: 3, at: 3_000 }]);
    expect(t.probeTimes()).toEqual([0, 1_000, 2_000, 3_000]);
    expect(t.clock.pendingTimers()).toBe(0);
    expect(t.checker.active).toBe(false);
  });

  it('a success in between resets the count of consecutive failures', async () => {
    const results = [down, down, ok, down, down, ok];
    const t = setup({ delayMs: 0, intervalMs: 1_000, gracePeriodMs: 0 }, (n) => results[n] ?? ok);
    for (let i = 0; i < results.length; i++) await t.step(i === 0 ? 0 : 1_000);
    expect(t.of('kill')).toEqual([]);
    expect(t.of('probed').map((e) => e.consecutiveFailures)).toEqual([1, 2, 0, 1, 2, 0]);
  });

  it('with consecutiveFailures 1 the first counted failure reports unhealthy and asks for the kill', async () => {
    const t = setup({ delayMs: 0, gracePeriodMs: 0, consecutiveFailures: 1 }, () => down);
    await t.step(0);
    expect(t.events.filter((e) => e.kind !== 'probed').map((e) => e.kind)).toEqual(['changed', 'kill']);
  });
});

describe('grace period', () => {
  it('ignores failures within the grace period (delay included) while the task was never healthy', async () => {
    // Probes at 1, 2, …, 7 s; grace 5 s: those at 1–4 s do not count, from 5 s on they do.
    const t = setup({ delayMs: 1_000, intervalMs: 1_000, gracePeriodMs: 5_000 }, () => down);
    for (let i = 0; i < 10; i++) await t.step(1_000);
    const probed = t.of('probed').map((e) => [e.at, e.counted]);
    expect(probed).toEqual([
      [1_000, false], [2_000, false], [3_000, false], [4_000, false],
      [5_000, true], [6_000, true], [7_000, true],
    ]);
    expect(t.of('changed')).toEqual([{ kind: 'changed', healthy: false, why: 'connection refused', at: 5_000 }]);
    expect(t.of('kill').map((e) => e.at)).toEqual([7_000]);
  });

  it('ends with the first success: a failure right after counts even inside the grace period', async () => {
    const t = setup({ delayMs: 1_000, intervalMs: 1_000, gracePeriodMs: 60_000 }, (n) => (n === 1 ? ok : down));
    for (let i = 0; i < 5; i++) await t.step(1_000);
    expect(t.of('changed').map((e) => [e.at, e.healthy])).toEqual([[2_000, true], [3_000, false]]);
    expect(t.of('kill').map((e) => e.at)).toEqual([5_000]);
  });

  it('with the Mesos defaults a task that never answers is killed at 95 s: 15 s delay, then 20 s timeouts 10 s apart', async () => {
    // Probe 1 at 15 s times out at 35 s (outside the 10 s grace: counted), probe 2 at 45 s
    // times out at 65 s, probe 3 at 75 s times out at 95 s: the third failure.
    const t = setup({}, () => 'manual');
    await t.step(15_000);
    for (let i = 0; i < 8; i++) await t.step(10_000);
    expect(t.probeTimes()).toEqual([15_000, 45_000, 75_000]);
    expect(t.of('changed').map((e) => e.at)).toEqual([35_000]);
    expect(t.of('kill').map((e) => e.at)).toEqual([95_000]);
  });
});

describe('health checker properties', () => {
  it('changes alternate, and a kill comes exactly after N counted failures in a row', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 10 }),
      async (results, n, graceSteps) => {
        const t = setup({ delayMs: 0, intervalMs: 1_000, consecutiveFailures: n, gracePeriodMs: graceSteps * 1_000 },
          (i) => ((results[i] ?? true) ? ok : down));
        for (let i = 0; i < results.length; i++) await t.step(i === 0 ? 0 : 1_000);
        const changes = t.of('changed').map((e) => e.healthy);
        for (let i = 1; i < changes.length; i++) expect(changes[i]).not.toBe(changes[i - 1]);
        // The model: grace applies until the first success; count runs of counted failures.
        let healthySeen = false;
        let run = 0;
        let killAt: number | undefined;
        for (let i = 0; i < results.length && killAt === undefined; i++) {
          if (results[i]) { healthySeen = true; run = 0; continue; }
          if (!healthySeen && i * 1_000 < graceSteps * 1_000) continue;
          if (++run >= n) killAt = i * 1_000;
        }
        expect(t.of('kill').map((e) => e.at)).toEqual(killAt === undefined ? [] : [killAt]);
      },
    ), { numRuns: 200 });
  });
});

describe('resolving a health check against the task', () => {
  const check = (more: Partial<HealthCheck>): HealthCheck => ({ type: 'HTTP', ...MESOS_DEFAULTS, port: 8080, path: '/', ...more });
  const task = (hc: HealthCheck, docker?: NonNullable<TaskInfo['container']['docker']>): TaskInfo => ({
    taskId: 't1', name: 't1', agentId: '', resources: [], labels: {}, healthCheck: hc,
    command: { value: 'true', argv: [], environment: {}, user: '' },
    container: docker ? { type: 'DOCKER', docker } : { type: 'DEFAULT' },
  });
  const bridge = { image: '', network: 'BRIDGE' as const, forcePullImage: false, portMappings: [
    { hostPort: 31_005, containerPort: 8080, protocol: 'tcp' as const },
    { hostPort: 31_006, containerPort: 53, protocol: 'udp' as const },
  ] };

  it('on a bridge, the check port is the container port: probes go to its mapped host port', () => {
    expect(resolveHealthCheck(task(check({}), bridge), 'docker')).toEqual({ target: { hostPort: 31_005 } });
  });

  it('with HOST networking or as a process, the check port is the host port', () => {
    expect(resolveHealthCheck(task(check({ type: 'TCP', port: 31_007 }), { ...bridge, network: 'HOST' }), 'docker')).toEqual({ target: { hostPort: 31_007 } });
    expect(resolveHealthCheck(task(check({ port: 31_008 })), 'process')).toEqual({ target: { hostPort: 31_008 } });
  });

  it('a bridge port without a TCP mapping is an error naming the ports that are mapped', () => {
    const err = resolveHealthCheck(task(check({ port: 53 }), bridge), 'docker');
    expect(err).toBeInstanceOf(HealthCheckError);
    expect((err as Error).message).toBe("health check of task t1: port 53 is not a container port of the task's TCP port mappings (8080); on a BRIDGE network the check's port is the container port");
  });

  it('refuses what cannot run: no network, no port, a path without /, no command, a zero interval', () => {
    const msg = (r: ReturnType<typeof resolveHealthCheck>) => (r instanceof HealthCheckError ? r.message : 'accepted');
    expect(msg(resolveHealthCheck(task(check({}), { ...bridge, network: 'NONE' }), 'docker'))).toMatch(/NONE.*use a COMMAND check/);
    expect(msg(resolveHealthCheck(task(check({ type: 'TCP', port: 0 })), 'process'))).toMatch(/TCP check needs a port in 1-65535, got 0/);
    expect(msg(resolveHealthCheck(task(check({ path: 'health' })), 'process'))).toMatch(/must start with '\/', got 'health'/);
    expect(msg(resolveHealthCheck(task(check({ type: 'COMMAND', port: 0 })), 'process'))).toMatch(/COMMAND check needs command.value/);
    expect(msg(resolveHealthCheck(task(check({ intervalMs: 0 })), 'process'))).toMatch(/interval must be a number ≥ 1 ms, got 0/);
    expect(msg(resolveHealthCheck(task(check({ consecutiveFailures: -1 })), 'process'))).toMatch(/consecutive failures must be a whole number ≥ 1, got -1/);
  });

  it('a COMMAND check has no network target', () => {
    const cmd = check({ type: 'COMMAND', port: 0, command: { value: 'true', argv: [], environment: {}, user: '' } });
    expect(resolveHealthCheck(task(cmd, bridge), 'docker')).toEqual({ target: undefined });
  });

  it('the checker itself refuses an unusable schedule with a HealthCheckError', () => {
    expect(() => new HealthChecker({ schedule: { ...MESOS_DEFAULTS, timeoutMs: Number.NaN }, clock: new FakeClock(), probe: async () => ok, report: () => undefined }))
      .toThrow(HealthCheckError);
  });
});
