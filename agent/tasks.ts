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
 *
 * Every run that gets as far as a containerizer is checkpointed (runs.ts) before launch and
 * on every status, so that a restarted agent can `recover` it: take a running container
 * back, report how one ended while the agent was down, or say that it vanished.
 */
import { randomUUID } from 'crypto';
import type { Clock } from '../common/clock';
import type { Logger } from '../common/log';
import { ranges, type Resources } from '../common/resources';
import { isTerminal, type KillPolicy, type Task, type TaskInfo, type TaskState, type TaskStatus } from '../common/types';
import { LaunchError, type Containerizer, type ContainerizerKind } from './containerizer/containerizer';
import type { RunCheckpoint, RunStore } from './runs';
import { HealthChecker, resolveHealthCheck, type HealthEvent } from './health';
import { probeFor } from './health-probes';
import { terminalStatus, type StatusFields } from './terminal-status';
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
  /** Process runs: what finds the process again after an agent restart. */
  pid?: number;
  pidStartTicks?: number;
  /** The uuid of the newest update the framework acknowledged. */
  ackedUuid?: string;
  /** The run has a checkpoint to keep up to date. */
  checkpointed?: boolean;
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
  /** Where runs are checkpointed for recovery. */
  runs: RunStore;
  /** The updates of a task still waiting for their acknowledgement. */
  pendingOf(frameworkId: string, taskId: string): readonly TaskStatus[];
  /** The containerizer of a kind, if this agent runs it now. */
  containerizerOf(kind: ContainerizerKind): Containerizer | undefined;
  /** Hears every health-check probe (not only changes). */
  onHealthProbe?(report: HealthProbeReport): void;
  /** A run has left the table of live tasks, over for good: its sandbox may be collected. */
  onRunCompleted?(rec: TaskRecord): void;
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
    this.checkpoint(rec);
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
    if (rec.checkpointed) this.deps.runs.remove(rec.containerId);
    this.remember(rec);
  }

  /** The framework acknowledged `uuid`: a restarted agent need not send it again. */
  acknowledged(frameworkId: string, taskId: string, uuid: string): void {
    const rec = this.active.get(keyOf(frameworkId, taskId));
    if (!rec || rec.latest?.uuid !== uuid) return;
    rec.ackedUuid = uuid;
    this.checkpoint(rec);
  }

  /**
   * Takes back a run an earlier agent process started, from its checkpoint. Resolves once the
   * run is in the table again (a running container re-attached, or the truth about one that
   * ended or vanished published), not when it ends.
   */
  async recover(run: RunCheckpoint): Promise<void> {
    const { frameworkId, taskId, containerId } = run;
    const rec: TaskRecord = {
      frameworkId, taskId, info: run.info, containerId, sandboxDir: run.sandboxDir, containerizer: run.containerizer,
      state: run.latest?.state ?? 'TASK_STAGING', latest: run.latest, launched: false, killRequested: run.killRequested,
      killGraceMs: run.killGraceMs, killingState: run.killingState, checkpointed: true,
      ...(run.pid !== undefined ? { pid: run.pid } : {}), ...(run.pidStartTicks !== undefined ? { pidStartTicks: run.pidStartTicks } : {}),
      ...(run.ackedUuid !== undefined ? { ackedUuid: run.ackedUuid } : {}),
    };
    this.active.set(keyOf(frameworkId, taskId), rec);
    // The newest update may have been checkpointed here and not yet in its stream when the
    // agent died: unless it was acknowledged or is pending, it goes out again (same uuid).
    const latest = run.latest;
    if (latest && latest.uuid && latest.uuid !== run.ackedUuid && !this.deps.pendingOf(frameworkId, taskId).some((u) => u.uuid === latest.uuid)) {
      this.deps.publish(latest);
    }
    const c = this.deps.containerizerOf(run.containerizer);
    if (isTerminal(rec.state)) {
      // It ended and said so; only the acknowledgement is outstanding.
      await c?.destroy(containerId).catch(() => undefined);
      if (latest?.uuid === run.ackedUuid) this.streamClosed(frameworkId, taskId);
      return;
    }
    if (!c) {
      this.publish(rec, 'TASK_FAILED', { reason: 'REASON_AGENT_RESTARTED', message: `the agent restarted without its ${run.containerizer} containerizer; container ${containerId} cannot be found` });
      return;
    }
    const found = await c.recover(this.deps.runs.recoverSpec(run));
    switch (found.state) {
      case 'missing':
        this.publish(rec, 'TASK_FAILED', { reason: 'REASON_AGENT_RESTARTED', message: `container ${containerId} was not found after the agent restarted: ${found.why}` });
        return;
      case 'exited': {
        rec.launched = true;
        await c.destroy(containerId).catch((err) => this.deps.log.warn('cannot remove container', { containerId, err }));
        const [state, fields] = terminalStatus(rec, found.termination);
        this.publish(rec, state, { ...fields, message: `${fields.message ?? ''} (while the agent was down)` });
        return;
      }
      case 'running': {
        rec.launched = true;
        this.runtimes.set(containerId, c);
        this.deps.log.info('recovered a running container', { frameworkId, taskId, containerId, containerizer: c.kind });
        if (rec.killRequested) this.signal(rec);
        else {
          if (rec.state !== 'TASK_RUNNING') this.publish(rec, 'TASK_RUNNING', {});
          this.startHealth(rec, c);
        }
        const flow = this.finish(rec, c).catch((err) => this.deps.log.error('recovered run failed unexpectedly', { frameworkId, taskId, err }));
        this.flows.add(flow);
        void flow.finally(() => this.flows.delete(flow));
      }
    }
  }

  /** Live tasks and those whose terminal update is not yet acknowledged. */
  tasks(): Task[] {
    return [...this.active.values()].map((r) => ({
      taskId: r.taskId, name: r.info.name, frameworkId: r.frameworkId, agentId: this.deps.agentId(),
      state: r.state, resources: r.info.resources, status: r.latest, info: r.info,
    }));
  }

  /** Launched runs not yet reported ended, with their containerizer: what usage is measured of. */
  liveRuns(): { record: TaskRecord; containerizer: Containerizer }[] {
    return [...this.active.values()].flatMap((record) => {
      const containerizer = this.runtimes.get(record.containerId);
      return containerizer && record.launched && !isTerminal(record.state) ? [{ record, containerizer }] : [];
    });
  }

  /** Every run the agent knows, newest last, for `/state` and `/files`. */
  records(): readonly TaskRecord[] {
    return [...this.completed, ...this.active.values()];
  }

  /** The runs still in the table: live, or with their terminal update unacknowledged. */
  live(): readonly TaskRecord[] {
    return [...this.active.values()];
  }

  /** The sandbox of a completed run is gone: the run is no longer offered to `/state` and `/files`. */
  forget(sandboxDir: string): void {
    const i = this.completed.findIndex((r) => r.sandboxDir === sandboxDir);
    if (i >= 0) this.completed.splice(i, 1);
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
      // Flushed before anything is launched: no container of this agent is ever without its record.
      rec.checkpointed = true;
      this.checkpoint(rec, true);
    } catch (err) {
      this.publish(rec, 'TASK_FAILED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: `cannot create the sandbox: ${(err as Error).message}` });
      return;
    }
    this.publish(rec, 'TASK_STARTING', {});
    try {
      const identity = await chosen.launch({
        containerId, agentId: this.deps.agentId(), frameworkId, taskId, task, sandboxDir: rec.sandboxDir, env: this.env(rec),
        exitStatusFile: this.deps.runs.exitStatusFile(containerId),
      });
      if (identity.pid !== undefined) rec.pid = identity.pid;
      if (identity.pidStartTicks !== undefined) rec.pidStartTicks = identity.pidStartTicks;
    } catch (err) {
      await chosen.destroy(containerId).catch(() => undefined);
      this.runtimes.delete(containerId);
      const why = err instanceof LaunchError ? err.message : `unexpected error: ${(err as Error).message}`;
      this.publish(rec, 'TASK_FAILED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: `cannot launch the task: ${why}` });
      return;
    }
    rec.launched = true;
    if (rec.killRequested) {
      this.checkpoint(rec);
      this.signal(rec);
    } else {
      this.publish(rec, 'TASK_RUNNING', {});
      this.startHealth(rec, chosen);
    }
    await this.finish(rec, chosen);
  }

  /** Starts probing a running task that has a health check. */
  private startHealth(rec: TaskRecord, c: Containerizer): void {
    const hc = rec.info.healthCheck;
    if (!hc) return;
    const check = resolveHealthCheck(rec.info, c.kind);
    if (check instanceof Error) return;   // refused with TASK_ERROR before launch
    const probe = probeFor(hc, check.target, (argv, opts) => c.exec(rec.containerId, argv, opts));
    rec.health = new HealthChecker({ schedule: hc, clock: this.deps.clock, probe, report: (e) => this.onHealth(rec, e) });
  }

  /** Waits for a launched run to exit, removes its container, and reports how it ended. */
  private async finish(rec: TaskRecord, c: Containerizer): Promise<void> {
    const term = await c.wait(rec.containerId);
    rec.health?.stop();
    await c.destroy(rec.containerId).catch((err) => this.deps.log.warn('cannot remove container', { containerId: rec.containerId, err }));
    this.runtimes.delete(rec.containerId);
    const [state, fields] = terminalStatus(rec, term);
    this.publish(rec, state, fields);
  }

  /** Writes the run's checkpoint; a failure is logged, not fatal (the run goes on). */
  private checkpoint(rec: TaskRecord, durable = false): void {
    if (!rec.checkpointed || !rec.containerizer) return;
    const run: RunCheckpoint = {
      version: 1, frameworkId: rec.frameworkId, taskId: rec.taskId, containerId: rec.containerId, sandboxDir: rec.sandboxDir,
      containerizer: rec.containerizer, info: rec.info, killingState: rec.killingState, killRequested: rec.killRequested,
      ...(rec.killGraceMs !== undefined ? { killGraceMs: rec.killGraceMs } : {}),
      ...(rec.latest ? { latest: rec.latest } : {}),
      ...(rec.pid !== undefined ? { pid: rec.pid } : {}), ...(rec.pidStartTicks !== undefined ? { pidStartTicks: rec.pidStartTicks } : {}),
      ...(rec.ackedUuid !== undefined ? { ackedUuid: rec.ackedUuid } : {}),
    };
    try {
      this.deps.runs.write(run, durable);
    } catch (err) {
      if (durable) throw err;
      this.deps.log.error('cannot checkpoint the run', { containerId: rec.containerId, err });
    }
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
    // The checkpoint first: a restarted agent then knows of every update it may have sent.
    this.checkpoint(rec);
    this.deps.publish(status);
  }

  private remember(rec: TaskRecord): void {
    this.completed.push(rec);
    if (this.completed.length > MAX_COMPLETED) this.completed.shift();
    this.deps.onRunCompleted?.(rec);
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

/** The host ports the task was given, in order: PORT0, PORT1, … */
function portList(rs: Resources): number[] {
  const out: number[] = [];
  for (const [b, e] of ranges(rs, 'ports')) for (let p = b; p <= e && out.length < 100; p++) out.push(p);
  return out;
}

function emptyTask(taskId: string): TaskInfo {
  return { taskId, name: '', agentId: '', resources: [], command: { value: '', argv: [], environment: {}, user: '' }, container: { type: 'DEFAULT' }, labels: {} };
}
