/**
 * The agent's tasks: runs them in containers and turns what happens to them into status
 * updates. One run of a task goes
 *
 *   run message → sandbox → TASK_STARTING → launch → TASK_RUNNING → exit → remove → terminal
 *
 * where the terminal update is TASK_FINISHED (exit 0), TASK_FAILED (non-zero exit, signal,
 * memory limit, or a launch that failed) or TASK_KILLED (a kill was asked for). The
 * container is removed before the terminal update goes out, so a framework that sees a
 * task end never finds its container still there.
 *
 * A task with a health check is probed from TASK_RUNNING until it ends or a kill begins
 * (`health.ts`). Each change of its health is a TASK_RUNNING update with `healthy` set and
 * reason REASON_TASK_HEALTH_CHECK_STATUS_UPDATED; after too many failures in a row the task
 * is killed with its kill policy, and its TASK_KILLED says so, with healthy=false.
 *
 * A task stays in the table until its terminal update is acknowledged: until then it is
 * reported on re-registration, so a new master does not think it lost the task.
 */
import { randomUUID } from 'crypto';
import type { Clock } from '../common/clock';
import type { Logger } from '../common/log';
import { ranges, type Resources } from '../common/resources';
import { isTerminal, type KillPolicy, type StatusReason, type StatusSource, type Task, type TaskInfo, type TaskState, type TaskStatus } from '../common/types';
import { LaunchError, type Containerizer, type ContainerizerKind, type Termination } from './containerizer/containerizer';
import { HealthChecker, resolveHealthCheck, type HealthEvent } from './health';
import { probeFor } from './health-probes';
import { createSandbox, sandboxPath, unsafeIdReason } from './sandbox';

export interface TaskRecord {
  readonly frameworkId: string;
  readonly taskId: string;
  readonly info: TaskInfo;
  readonly containerId: string;
  readonly sandboxDir: string;
  containerizer: ContainerizerKind | undefined;
  state: TaskState;
  latest: TaskStatus | undefined;
  launched: boolean;
  killRequested: boolean;
  killGraceMs: number | undefined;
  /** The framework understands TASK_KILLING (capability TASK_KILLING_STATE). */
  killingState: boolean;
  /** Probes the task while it runs, if it has a health check. */
  health?: HealthChecker;
  /** Why the agent killed the task for failing its health check. */
  healthKill?: string;
}

/** One probe of a task's health check, for logs and observers. */
export interface HealthProbeReport {
  frameworkId: string;
  taskId: string;
  containerId: string;
  healthy: boolean;
  why: string;
  /** False for a failure inside the grace period. */
  counted: boolean;
  consecutiveFailures: number;
}

export interface TaskRunnerDeps {
  agentId(): string;
  workDir: string;
  hostname: string;
  clock: Clock;
  killGracePeriodMs: number;
  /** The containerizer for a task, or why this agent cannot run it. */
  containerizerFor(task: TaskInfo): Containerizer | { error: string };
  /** Hands a status update to the reliable stream of its task. */
  publish(status: TaskStatus): void;
  /** Hears every health-check probe (not only changes). */
  onHealthProbe?(report: HealthProbeReport): void;
  log: Logger;
}

/** Finished runs kept for `/state` and sandbox reads after their stream closed. */
const MAX_COMPLETED = 200;

const keyOf = (frameworkId: string, taskId: string) => `${frameworkId}\u0000${taskId}`;

export class TaskRunner {
  private readonly active = new Map<string, TaskRecord>();
  private readonly completed: TaskRecord[] = [];
  private readonly flows = new Set<Promise<void>>();
  /** The containerizer of each launched run, by container id. */
  private readonly runtimes = new Map<string, Containerizer>();
  private stopping = false;

  constructor(private readonly deps: TaskRunnerDeps) {}

  /**
   * Starts a run of `task`; returns once it has ended (the agent does not await it).
   * `killingState`: the framework has the TASK_KILLING_STATE capability.
   */
  run(frameworkId: string, task: TaskInfo, killingState = false): Promise<void> {
    const flow = this.runFlow(frameworkId, task, killingState).catch((err) => {
      // Every expected failure becomes a status inside runFlow; this is a bug.
      this.deps.log.error('task run failed unexpectedly', { frameworkId, taskId: task.taskId, err });
    });
    this.flows.add(flow);
    void flow.finally(() => this.flows.delete(flow));
    return flow;
  }

  kill(frameworkId: string, taskId: string, policy: KillPolicy | undefined): void {
    const rec = this.active.get(keyOf(frameworkId, taskId));
    if (!rec) {
      // The master believes the task is here and it is not (its run was lost, or this agent
      // restarted): say so, so the master can stop waiting for it.
      this.deps.log.warn('kill for an unknown task', { frameworkId, taskId });
      if (!unsafeIdReason('task', taskId) && frameworkId) {
        this.publish(this.detached(frameworkId, taskId), 'TASK_DROPPED', { reason: 'REASON_TASK_UNKNOWN', message: 'no such task on this agent' });
      }
      return;
    }
    this.beginKill(rec, policy);
  }

  /** Kills a task of this agent's (on request, or for its failing health check). */
  private beginKill(rec: TaskRecord, policy: KillPolicy | undefined): void {
    if (isTerminal(rec.state) || rec.killRequested) return;
    rec.killRequested = true;
    rec.killGraceMs = policy?.gracePeriodMs ?? rec.info.killPolicy?.gracePeriodMs ?? this.deps.killGracePeriodMs;
    // A task being killed is not checked any more: its failures are expected now.
    rec.health?.stop();
    // Before launch completes there is nothing to signal: runFlow kills it right after.
    if (!rec.launched) return;
    // The grace period can be long (a service draining connections): a framework that
    // understands it hears at once that the kill has begun, as with Mesos's executors.
    if (rec.killingState && rec.state === 'TASK_RUNNING') {
      const why = rec.healthKill ? `killing: ${rec.healthKill}` : 'kill requested';
      this.publish(rec, 'TASK_KILLING', {
        message: `${why}; SIGTERM now, SIGKILL after ${rec.killGraceMs} ms`,
        ...(rec.healthKill ? { healthy: false, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED' as const } : {}),
      });
    }
    this.signal(rec);
  }

  /** A task's terminal update was acknowledged: it leaves the table of live tasks. */
  streamClosed(frameworkId: string, taskId: string): void {
    const key = keyOf(frameworkId, taskId);
    const rec = this.active.get(key);
    if (!rec || !isTerminal(rec.state)) return;
    this.active.delete(key);
    this.remember(rec);
  }

  /** Live tasks and those whose terminal update is not yet acknowledged. */
  tasks(): Task[] {
    return [...this.active.values()].map((r) => ({
      taskId: r.taskId, name: r.info.name, frameworkId: r.frameworkId, agentId: this.deps.agentId(),
      state: r.state, resources: r.info.resources, status: r.latest, info: r.info,
    }));
  }

  /** Every run the agent knows, newest last, for `/state` and `/files`. */
  records(): readonly TaskRecord[] {
    return [...this.completed, ...this.active.values()];
  }

  /** The newest run of a task (or the one with `containerId`). */
  find(frameworkId: string, taskId: string, containerId?: string): TaskRecord | undefined {
    const all = this.records().filter((r) => r.frameworkId === frameworkId && r.taskId === taskId);
    return containerId ? all.find((r) => r.containerId === containerId) : all[all.length - 1];
  }

  /** Kills every task and waits until each has ended and reported. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const rec of this.active.values()) this.kill(rec.frameworkId, rec.taskId, undefined);
    await Promise.all([...this.flows]);
  }

  private async runFlow(frameworkId: string, task: TaskInfo, killingState: boolean): Promise<void> {
    const { taskId } = task;
    const idProblem = unsafeIdReason('task', taskId) ?? unsafeIdReason('framework', frameworkId);
    if (idProblem) {
      if (!taskId || !frameworkId) {
        this.deps.log.error('run message without task or framework id: dropped', { frameworkId, taskId });
        return;
      }
      this.publish(this.detached(frameworkId, taskId), 'TASK_ERROR', { reason: 'REASON_TASK_INVALID', message: idProblem });
      return;
    }
    const existing = this.active.get(keyOf(frameworkId, taskId));
    if (existing && !isTerminal(existing.state)) {
      // Report the truth, the task still runs, rather than a terminal state the master
      // would take as freeing the task's resources while its container keeps them.
      this.publish(existing, existing.state, {
        reason: 'REASON_TASK_INVALID',
        message: `duplicate run refused: task ${taskId} is already ${existing.state} in container ${existing.containerId}`,
      });
      return;
    }
    if (this.stopping) {
      this.publish(this.detached(frameworkId, taskId), 'TASK_DROPPED', { reason: 'REASON_AGENT_DRAINING', message: 'the agent is stopping' });
      return;
    }
    const containerId = randomUUID();
    const rec: TaskRecord = {
      frameworkId, taskId, info: task, containerId,
      sandboxDir: sandboxPath(this.deps.workDir, this.deps.agentId(), frameworkId, taskId, containerId),
      containerizer: undefined, state: 'TASK_STAGING', latest: undefined, launched: false, killRequested: false, killGraceMs: undefined, killingState,
    };
    if (existing) this.remember(existing);
    this.active.set(keyOf(frameworkId, taskId), rec);

    const chosen = this.deps.containerizerFor(task);
    if ('error' in chosen) {
      this.publish(rec, 'TASK_FAILED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: chosen.error });
      return;
    }
    rec.containerizer = chosen.kind;
    const check = resolveHealthCheck(task, chosen.kind);
    if (check instanceof Error) {
      this.publish(rec, 'TASK_ERROR', { reason: 'REASON_TASK_INVALID', message: check.message });
      return;
    }
    this.runtimes.set(containerId, chosen);
    try {
      createSandbox(rec.sandboxDir);
    } catch (err) {
      this.publish(rec, 'TASK_FAILED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: `cannot create the sandbox: ${(err as Error).message}` });
      return;
    }
    this.publish(rec, 'TASK_STARTING', {});
    try {
      await chosen.launch({ containerId, agentId: this.deps.agentId(), frameworkId, taskId, task, sandboxDir: rec.sandboxDir, env: this.env(rec) });
    } catch (err) {
      await chosen.destroy(containerId).catch(() => undefined);
      this.runtimes.delete(containerId);
      const why = err instanceof LaunchError ? err.message : `unexpected error: ${(err as Error).message}`;
      this.publish(rec, 'TASK_FAILED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: `cannot launch the task: ${why}` });
      return;
    }
    rec.launched = true;
    if (rec.killRequested) this.signal(rec);
    else {
      this.publish(rec, 'TASK_RUNNING', {});
      if (task.healthCheck) {
        const probe = probeFor(task.healthCheck, check.target, (argv, opts) => chosen.exec(containerId, argv, opts));
        rec.health = new HealthChecker({ schedule: task.healthCheck, clock: this.deps.clock, probe, report: (e) => this.onHealth(rec, e) });
      }
    }

    const term = await chosen.wait(containerId);
    rec.health?.stop();
    await chosen.destroy(containerId).catch((err) => this.deps.log.warn('cannot remove container', { containerId, err }));
    this.runtimes.delete(containerId);
    const [state, fields] = terminalStatus(rec, term);
    this.publish(rec, state, fields);
  }

  private onHealth(rec: TaskRecord, e: HealthEvent): void {
    const { frameworkId, taskId, containerId } = rec;
    switch (e.kind) {
      case 'probed':
        this.deps.log.debug('health check', { taskId, healthy: e.healthy, why: e.why, counted: e.counted });
        this.deps.onHealthProbe?.({ frameworkId, taskId, containerId, healthy: e.healthy, why: e.why, counted: e.counted, consecutiveFailures: e.consecutiveFailures });
        return;
      case 'changed':
        // Health is news only about a task still running; a kill under way says more.
        if (rec.state !== 'TASK_RUNNING' || rec.killRequested) return;
        this.deps.log.info(e.healthy ? 'task is healthy' : 'task is unhealthy', { taskId, why: e.why });
        this.publish(rec, 'TASK_RUNNING', { healthy: e.healthy, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', source: 'SOURCE_EXECUTOR', message: e.why });
        return;
      case 'kill':
        if (isTerminal(rec.state) || rec.killRequested) return;
        rec.healthKill = `health check failed ${e.consecutiveFailures} time${e.consecutiveFailures === 1 ? '' : 's'} in a row, the last: ${e.why}`;
        this.deps.log.warn('killing an unhealthy task', { taskId, why: rec.healthKill });
        this.beginKill(rec, undefined);
        return;
    }
  }

  private signal(rec: TaskRecord): void {
    const c = this.runtimes.get(rec.containerId);
    if (!c) return;
    c.kill(rec.containerId, rec.killGraceMs ?? this.deps.killGracePeriodMs).catch((err) => {
      this.deps.log.error('cannot kill container', { containerId: rec.containerId, err });
    });
  }

  /** A record for statuses about a task the agent does not run (no container, no sandbox). */
  private detached(frameworkId: string, taskId: string): TaskRecord {
    return {
      frameworkId, taskId, info: emptyTask(taskId), containerId: '', sandboxDir: '', containerizer: undefined,
      state: 'TASK_UNKNOWN', latest: undefined, launched: false, killRequested: false, killGraceMs: undefined, killingState: false,
    };
  }

  private publish(rec: TaskRecord, state: TaskState, f: StatusFields): void {
    const status: TaskStatus = {
      taskId: rec.taskId, frameworkId: rec.frameworkId, agentId: this.deps.agentId(), containerId: rec.containerId,
      state, message: f.message ?? '', source: f.source ?? 'SOURCE_AGENT', reason: f.reason ?? 'REASON_UNKNOWN',
      uuid: randomUUID(), timestampMs: this.deps.clock.now(),
      ...(f.exitCode !== undefined ? { exitCode: f.exitCode } : {}),
      ...(f.healthy !== undefined ? { healthy: f.healthy } : {}),
    };
    rec.state = state;
    rec.latest = status;
    this.deps.publish(status);
  }

  private remember(rec: TaskRecord): void {
    this.completed.push(rec);
    if (this.completed.length > MAX_COMPLETED) this.completed.shift();
  }

  /** What the agent tells every task about itself; the task's own environment wins. */
  private env(rec: TaskRecord): Record<string, string> {
    const ports = portList(rec.info.resources);
    const env: Record<string, string> = {
      AGORA_AGENT_ID: this.deps.agentId(), AGORA_FRAMEWORK_ID: rec.frameworkId, AGORA_TASK_ID: rec.taskId,
      AGORA_CONTAINER_ID: rec.containerId, AGORA_SANDBOX: rec.sandboxDir, HOST: this.deps.hostname,
    };
    if (ports.length > 0) env.PORTS = ports.join(',');
    ports.forEach((p, i) => { env[`PORT${i}`] = String(p); });
    return env;
  }
}

interface StatusFields {
  message?: string;
  reason?: StatusReason;
  source?: StatusSource;
  exitCode?: number;
  /** Set on health updates and on the kill of an unhealthy task, as with Mesos executors. */
  healthy?: boolean;
}

/** How a run that exited is reported. A requested kill wins over however it happened to end. */
export function terminalStatus(rec: Pick<TaskRecord, 'killRequested' | 'launched' | 'info' | 'latest' | 'healthKill'>, t: Termination): [TaskState, StatusFields] {
  const how = t.exitCode !== undefined ? `exited with code ${t.exitCode}` : `terminated by signal ${t.signal ?? 'unknown'}`;
  const exit = t.exitCode !== undefined ? { exitCode: t.exitCode } : {};
  if (rec.healthKill) {
    // Mesos leaves the reason unset here (a TODO in its command executor); saying it is
    // the health check spares the framework from parsing the message.
    return ['TASK_KILLED', { ...exit, healthy: false, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', message: `killed as unhealthy: ${rec.healthKill}; command ${how}` }];
  }
  if (rec.killRequested) {
    const duringLaunch = rec.latest?.state !== 'TASK_RUNNING';
    return ['TASK_KILLED', { ...exit, message: `killed on request; command ${how}`, reason: duringLaunch ? 'REASON_TASK_KILLED_DURING_LAUNCH' : 'REASON_UNKNOWN' }];
  }
  if (t.oomKilled) {
    return ['TASK_FAILED', { ...exit, reason: 'REASON_CONTAINER_LIMITATION_MEMORY', message: `memory limit exceeded; command ${how}` }];
  }
  if (t.exitCode === 0) return ['TASK_FINISHED', { ...exit, source: 'SOURCE_EXECUTOR', message: 'command exited with code 0' }];
  return ['TASK_FAILED', { ...exit, source: 'SOURCE_EXECUTOR', message: `command ${how}` }];
}

/** The host ports the task was given, in order: PORT0, PORT1, … */
function portList(rs: Resources): number[] {
  const out: number[] = [];
  for (const [b, e] of ranges(rs, 'ports')) for (let p = b; p <= e && out.length < 100; p++) out.push(p);
  return out;
}

function emptyTask(taskId: string): TaskInfo {
  return { taskId, name: '', agentId: '', resources: [], command: { value: '', argv: [], environment: {}, user: '' }, container: { type: 'DEFAULT' }, labels: {} };
}
