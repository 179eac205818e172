/**
 * Health checking of one task run: when to probe, what a result means, and when to give up.
 * A pure core: it owns no sockets and no processes. The agent hands it the check, its clock
 * and a `probe` (HTTP, TCP or a command: `health-probes.ts`), and hears back through
 * `report` what the framework must learn.
 *
 *   task RUNNING ─ delay ─► probe ─ interval ─► probe ─ interval ─► …
 *
 * - The next probe is scheduled `interval` after the previous one *ended*, so a slow probe
 *   never overlaps the next one (as in Mesos, whose default timeout, 20 s, is longer than
 *   its default interval, 10 s).
 * - A probe that has not answered within `timeout` is a failure; it is aborted and a late
 *   answer is ignored.
 * - Failures within `gracePeriod` of the start (the delay included) do not count while the
 *   task has never been healthy: a service may take a while to come up. The first success
 *   ends the grace period for good.
 * - Only *changes* are reported: the first counted result, healthy → unhealthy and back.
 *   Every result in between would be a status update the framework must acknowledge.
 * - After `consecutiveFailures` counted failures in a row the task is to be killed, and
 *   probing stops.
 */
import type { Clock, Timer } from '../common/clock';
import type { HealthCheck, NetworkMode, TaskInfo } from '../common/types';

/** What one probe found. `why` explains the result in words a framework can show. */
export interface ProbeResult {
  healthy: boolean;
  why: string;
}

/** One probe of the task. It must stop work when `signal` aborts (the probe timed out). */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

export type HealthEvent =
  /** Every probe, for logs and tests; `counted` is false for failures inside the grace period. */
  | { kind: 'probed'; healthy: boolean; why: string; counted: boolean; consecutiveFailures: number }
  /** The task's health changed (or is known for the first time). */
  | { kind: 'changed'; healthy: boolean; why: string }
  /** Too many failures in a row: kill the task. Probing has stopped. */
  | { kind: 'kill'; why: string; consecutiveFailures: number };

/** The timing part of a check, in milliseconds. */
export type HealthSchedule = Pick<HealthCheck, 'delayMs' | 'intervalMs' | 'timeoutMs' | 'consecutiveFailures' | 'gracePeriodMs'>;

export interface HealthCheckerOptions {
  schedule: HealthSchedule;
  clock: Clock;
  probe: Probe;
  report(event: HealthEvent): void;
}

export class HealthChecker {
  private readonly startedAt: number;
  private timer: Timer | undefined;
  private inFlight: AbortController | undefined;
  private stopped = false;
  /** Until the first success, failures inside the grace period are not counted. */
  private everHealthy = false;
  private failures = 0;
  private reported: boolean | undefined;

  /** Starts checking at once: the first probe runs after `delayMs`. */
  constructor(private readonly opts: HealthCheckerOptions) {
    assertSchedule(opts.schedule);
    this.startedAt = opts.clock.now();
    this.timer = opts.clock.setTimeout(() => this.probeOnce(), opts.schedule.delayMs);
  }

  /** Whether the checker still probes (not stopped, no kill asked for). */
  get active(): boolean {
    return !this.stopped;
  }

  /** Stops probing: no more probes, the one under way is aborted, nothing more is reported. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  private probeOnce(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const { clock, schedule } = this.opts;
    const abort = new AbortController();
    this.inFlight = abort;
    let settled = false;
    const settle = (r: ProbeResult) => {
      if (settled || this.stopped || this.inFlight !== abort) return;
      settled = true;
      deadline.cancel();
      this.inFlight = undefined;
      this.onResult(r);
    };
    const deadline = clock.setTimeout(() => {
      settle({ healthy: false, why: `no answer within ${schedule.timeoutMs} ms` });
      abort.abort();
    }, schedule.timeoutMs);
    let pending: Promise<ProbeResult>;
    try {
      pending = this.opts.probe(abort.signal);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(settle, (err: unknown) => settle({ healthy: false, why: `probe failed: ${(err as Error)?.message ?? String(err)}` }));
  }

  private onResult(r: ProbeResult): void {
    const { schedule, report } = this.opts;
    if (r.healthy) {
      this.everHealthy = true;
      this.failures = 0;
      report({ kind: 'probed', healthy: true, why: r.why, counted: true, consecutiveFailures: 0 });
      this.change(true, r.why);
    } else if (!this.everHealthy && this.opts.clock.now() - this.startedAt < schedule.gracePeriodMs) {
      report({ kind: 'probed', healthy: false, why: r.why, counted: false, consecutiveFailures: 0 });
    } else {
      this.failures++;
      report({ kind: 'probed', healthy: false, why: r.why, counted: true, consecutiveFailures: this.failures });
      this.change(false, r.why);
      if (this.stopped) return;
      if (this.failures >= schedule.consecutiveFailures) {
        this.stop();
        report({ kind: 'kill', why: r.why, consecutiveFailures: this.failures });
        return;
      }
    }
    // A report may have stopped the checker (the task ended meanwhile).
    if (!this.stopped) this.timer = this.opts.clock.setTimeout(() => this.probeOnce(), schedule.intervalMs);
  }

  private change(healthy: boolean, why: string): void {
    if (this.reported === healthy) return;
    this.reported = healthy;
    this.opts.report({ kind: 'changed', healthy, why });
  }
}

/** A health check the agent cannot run as given. Its message says what to change. */
export class HealthCheckError extends Error {
  override readonly name = 'HealthCheckError';
}

/** Where a task's HTTP and TCP checks connect: always 127.0.0.1, on this host port. */
export interface CheckTarget {
  hostPort: number;
}

/**
 * Checks that `task`'s health check can run on this agent with `containerizer`, and works
 * out the host port its HTTP or TCP probes connect to. Returns the target (undefined for
 * COMMAND checks) or a HealthCheckError; throws nothing.
 */
export function resolveHealthCheck(task: TaskInfo, containerizer: 'docker' | 'process'): { target: CheckTarget | undefined } | HealthCheckError {
  const check = task.healthCheck;
  if (!check) return { target: undefined };
  const bad = (what: string) => new HealthCheckError(`health check of task ${task.taskId}: ${what}`);
  const timing = scheduleProblem(check);
  if (timing) return bad(timing);
  if (check.type === 'COMMAND') {
    if (!check.command || (check.command.value === '' && check.command.argv.length === 0)) {
      return bad('a COMMAND check needs command.value (shell) or command.argv');
    }
    return { target: undefined };
  }
  if (!Number.isInteger(check.port) || check.port < 1 || check.port > 65_535) {
    return bad(`a ${check.type} check needs a port in 1-65535, got ${check.port}`);
  }
  if (check.type === 'HTTP' && !check.path.startsWith('/')) {
    return bad(`the HTTP path must start with '/', got '${check.path}'`);
  }
  const network: NetworkMode = task.container.docker?.network ?? 'BRIDGE';
  if (containerizer === 'process' || network === 'HOST') return { target: { hostPort: check.port } };
  if (network === 'NONE') {
    return bad(`a container without a network (NONE) cannot be reached on port ${check.port}: use a COMMAND check`);
  }
  // On a bridge the check names the port the service listens on inside the container; the
  // agent reaches it through the host port that mapping publishes.
  const mapping = task.container.docker?.portMappings.find((m) => m.containerPort === check.port && m.protocol === 'tcp');
  if (!mapping) {
    const known = task.container.docker?.portMappings.filter((m) => m.protocol === 'tcp').map((m) => m.containerPort) ?? [];
    return bad(`port ${check.port} is not a container port of the task's TCP port mappings (${known.length ? known.join(', ') : 'none'}); on a BRIDGE network the check's port is the container port`);
  }
  return { target: { hostPort: mapping.hostPort } };
}

function scheduleProblem(s: HealthSchedule): string | undefined {
  const ms = (name: string, v: number, min: number) =>
    (Number.isFinite(v) && v >= min ? undefined : `${name} must be a number ≥ ${min} ms, got ${v}`);
  return ms('delay', s.delayMs, 0) ?? ms('interval', s.intervalMs, 1) ?? ms('timeout', s.timeoutMs, 1) ?? ms('grace period', s.gracePeriodMs, 0)
    ?? (Number.isInteger(s.consecutiveFailures) && s.consecutiveFailures >= 1 ? undefined : `consecutive failures must be a whole number ≥ 1, got ${s.consecutiveFailures}`);
}

function assertSchedule(s: HealthSchedule): void {
  const problem = scheduleProblem(s);
  if (problem) throw new HealthCheckError(problem);
}
