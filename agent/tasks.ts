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
 * (`task-health.ts`, on the schedule of `health.ts`). Each change of its health is a
 * TASK_RUNNING update with `healthy` set and reason REASON_TASK_HEALTH_CHECK_STATUS_UPDATED;
 * after too many failures in a row the task is killed with its kill policy, and its
 * TASK_KILLED says so, with healthy=false.
 *
 * A task stays in the table (`run-table.ts`) until its terminal update is acknowledged: until
 * then it is reported on re-registration, so a new master does not think it lost the task.
 * What a run's record alone yields (its statuses, checkpoint, environment) is in
 * `task-record.ts`.
 *
 * Every run that gets as far as a containerizer is checkpointed (runs.ts) before launch and
 * on every status, so that a restarted agent can `recover` it: take a running container
 * back, report how one ended while the agent was down, or say that it vanished.
 */
import { randomUUID } from 'crypto';
import type { Clock } from '../common/clock';
import type { Logger } from '../common/log';
import { isTerminal, type KillPolicy, type TaskInfo, type TaskState, type TaskStatus } from '../common/types';
import { LaunchError, type Containerizer, type ContainerizerKind } from './containerizer/containerizer';
import type { RunCheckpoint, RunCheckpoints } from './runs';
import { resolveHealthCheck } from './health';
import { startHealth, type HealthProbeReport, type TaskHealthDeps } from './task-health';
import { terminalStatus, type StatusFields } from './terminal-status';
import { createSandbox, sandboxPath, unsafeIdReason } from './sandbox';
import type { RunTable } from './run-table';
import { checkpointOf, detachedRecord, recordOf, statusOf, taskEnvironment, type TaskRecord } from './task-record';

export interface TaskRunnerDeps {
  agentId(): string;
  workDir: string;
  hostname: string;
  clock: Clock;
  killGracePeriodMs: number;
  /** The containerizer for a task, or why this agent cannot run it. */
  containerizerFor(task: TaskInfo): Containerizer | { error: string };
  /** Why the agent takes no launches now (its container engine is wedged), or undefined. */
  degradedReason?(): string | undefined;
  /** Hands a status update to the reliable stream of its task. */
  publish(status: TaskStatus): void;
  /** Where runs are checkpointed for recovery. */
  runs: RunCheckpoints;
  /** Makes a run's sandbox directory (default: on disk, `sandbox.ts`); a simulated agent makes none. */
  makeSandbox?(dir: string): void;
  /** The updates of a task still waiting for their acknowledgement. */
  pendingOf(frameworkId: string, taskId: string): readonly TaskStatus[];
  /** The containerizer of a kind, if this agent runs it now. */
  containerizerOf(kind: ContainerizerKind): Containerizer | undefined;
  /** Hears every health-check probe (not only changes). */
  onHealthProbe?(report: HealthProbeReport): void;
  /** The runs, live and completed, that the runner moves through. */
  table: RunTable;
  log: Logger;
}

export class TaskRunner {
  private readonly table: RunTable;
  private readonly flows = new Set<Promise<void>>();
  private stopping = false;
  /** What a run's health check reports through. */
  private readonly health: TaskHealthDeps;

  constructor(private readonly deps: TaskRunnerDeps) {
    this.table = deps.table;
    this.health = {
      clock: deps.clock, log: deps.log, ...(deps.onHealthProbe ? { onHealthProbe: deps.onHealthProbe } : {}),
      publish: (rec, state, fields) => this.publish(rec, state, fields),
      kill: (rec) => this.beginKill(rec, undefined),
    };
  }

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
    const rec = this.table.get(frameworkId, taskId);
    if (!rec) {
      // The master believes the task is here and it is not (its run was lost, or this agent
      // restarted): say so, so the master can stop waiting for it.
      this.deps.log.warn('kill for an unknown task', { frameworkId, taskId });
      if (!unsafeIdReason('task', taskId) && frameworkId) {
        this.publish(detachedRecord(frameworkId, taskId), 'TASK_DROPPED', { reason: 'REASON_TASK_UNKNOWN', message: 'no such task on this agent' });
      }
      return;
    }
    this.beginKill(rec, policy);
  }

  /**
   * The master asks about tasks it launched here and has heard nothing of. A task this agent
   * never took (its run message was lost on the way) ends TASK_DROPPED, so the master stops
   * waiting and the framework may launch it again; it never ran, so nothing runs twice. A task
   * the agent has is left alone: its updates are already on their way, resent until
   * acknowledged. The question comes after the run on the same connection, so a run that
   * arrived at all was taken first.
   */
  reconcile(tasks: readonly { frameworkId: string; taskId: string }[]): void {
    for (const { frameworkId, taskId } of tasks) {
      if (this.table.get(frameworkId, taskId) || unsafeIdReason('task', taskId) || !frameworkId) continue;
      this.deps.log.warn('the master asks about a task this agent never received; dropped', { frameworkId, taskId });
      this.publish(detachedRecord(frameworkId, taskId), 'TASK_DROPPED', {
        reason: 'REASON_TASK_UNKNOWN', message: `task ${taskId} never reached this agent (its run message was lost); it did not run`,
      });
    }
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
    const rec = this.table.get(frameworkId, taskId);
    if (!rec || !isTerminal(rec.state)) return;
    if (rec.checkpointed) this.deps.runs.remove(rec.containerId);
    this.table.close(rec);
  }

  /** The framework acknowledged `uuid`: a restarted agent need not send it again. */
  acknowledged(frameworkId: string, taskId: string, uuid: string): void {
    const rec = this.table.get(frameworkId, taskId);
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
    const rec = recordOf(run);
    this.table.set(rec);
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
        this.table.setRuntime(containerId, c);
        this.deps.log.info('recovered a running container', { frameworkId, taskId, containerId, containerizer: c.kind });
        if (rec.killRequested) this.signal(rec);
        else {
          if (rec.state !== 'TASK_RUNNING') this.publish(rec, 'TASK_RUNNING', {});
          startHealth(rec, c, this.health);
        }
        const flow = this.finish(rec, c).catch((err) => this.deps.log.error('recovered run failed unexpectedly', { frameworkId, taskId, err }));
        this.flows.add(flow);
        void flow.finally(() => this.flows.delete(flow));
      }
    }
  }

  /** Kills every task and waits until each has ended and reported. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const rec of this.table.live()) this.kill(rec.frameworkId, rec.taskId, undefined);
    await Promise.all([...this.flows]);
  }

  private async runFlow(frameworkId: string, task: TaskInfo, killingState: boolean): Promise<void> {
    if (this.refused(frameworkId, task.taskId)) return;
    const rec = this.admit(frameworkId, task, killingState);
    const chosen = this.prepare(rec);
    if (!chosen || !(await this.launch(rec, chosen))) return;
    rec.launched = true;
    if (rec.killRequested) {
      this.checkpoint(rec);
      this.signal(rec);
    } else {
      this.publish(rec, 'TASK_RUNNING', {});
      startHealth(rec, chosen, this.health);
    }
    await this.finish(rec, chosen);
  }

  /** A run that cannot be taken (bad ids, the task already live, the agent stopping): said, and true. */
  private refused(frameworkId: string, taskId: string): boolean {
    const idProblem = unsafeIdReason('task', taskId) ?? unsafeIdReason('framework', frameworkId);
    if (idProblem) {
      if (!taskId || !frameworkId) {
        this.deps.log.error('run message without task or framework id: dropped', { frameworkId, taskId });
        return true;
      }
      this.publish(detachedRecord(frameworkId, taskId), 'TASK_ERROR', { reason: 'REASON_TASK_INVALID', message: idProblem });
      return true;
    }
    const existing = this.table.get(frameworkId, taskId);
    if (existing && !isTerminal(existing.state)) {
      // Report the truth, the task still runs, rather than a terminal state the master
      // would take as freeing the task's resources while its container keeps them.
      this.publish(existing, existing.state, {
        reason: 'REASON_TASK_INVALID',
        message: `duplicate run refused: task ${taskId} is already ${existing.state} in container ${existing.containerId}`,
      });
      return true;
    }
    if (this.stopping) {
      this.publish(detachedRecord(frameworkId, taskId), 'TASK_DROPPED', { reason: 'REASON_AGENT_DRAINING', message: 'the agent is stopping' });
      return true;
    }
    // Mesos's TASK_DROPPED: it never started, and launching it again (elsewhere, or here
    // later) may well work. Any task, not only Docker ones: the master offers none of this
    // agent now, so a run that arrives anyway was sent before it heard.
    const degraded = this.deps.degradedReason?.();
    if (degraded) {
      this.publish(detachedRecord(frameworkId, taskId), 'TASK_DROPPED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: `not launched: the agent is degraded: ${degraded}` });
      return true;
    }
    return false;
  }

  /** A new run in the table, with a fresh container id; the task's ended run it replaces is remembered. */
  private admit(frameworkId: string, task: TaskInfo, killingState: boolean): TaskRecord {
    const { taskId } = task;
    const containerId = randomUUID();
    const rec: TaskRecord = {
      frameworkId, taskId, info: task, containerId,
      sandboxDir: sandboxPath(this.deps.workDir, this.deps.agentId(), frameworkId, taskId, containerId),
      containerizer: undefined, state: 'TASK_STAGING', latest: undefined, launched: false, killRequested: false, killGraceMs: undefined, killingState,
    };
    const existing = this.table.get(frameworkId, taskId);
    if (existing) this.table.remember(existing);
    this.table.set(rec);
    return rec;
  }

  /**
   * Chooses the run's containerizer, checks its health check, makes its sandbox and its
   * first checkpoint, and says TASK_STARTING. Undefined when the run failed here (said).
   */
  private prepare(rec: TaskRecord): Containerizer | undefined {
    const chosen = this.deps.containerizerFor(rec.info);
    if ('error' in chosen) {
      this.publish(rec, 'TASK_FAILED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: chosen.error });
      return undefined;
    }
    rec.containerizer = chosen.kind;
    const check = resolveHealthCheck(rec.info, chosen.kind);
    if (check instanceof Error) {
      this.publish(rec, 'TASK_ERROR', { reason: 'REASON_TASK_INVALID', message: check.message });
      return undefined;
    }
    this.table.setRuntime(rec.containerId, chosen);
    try {
      (this.deps.makeSandbox ?? createSandbox)(rec.sandboxDir);
      // Flushed before anything is launched: no container of this agent is ever without its record.
      rec.checkpointed = true;
      this.checkpoint(rec, true);
    } catch (err) {
      this.publish(rec, 'TASK_FAILED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: `cannot create the sandbox: ${(err as Error).message}` });
      return undefined;
    }
    this.publish(rec, 'TASK_STARTING', {});
    return chosen;
  }

  /** Launches the run's container; false when that failed (its leftovers removed, TASK_FAILED said). */
  private async launch(rec: TaskRecord, chosen: Containerizer): Promise<boolean> {
    const { frameworkId, taskId, containerId } = rec;
    try {
      const identity = await chosen.launch({
        containerId, agentId: this.deps.agentId(), frameworkId, taskId, task: rec.info, sandboxDir: rec.sandboxDir,
        env: taskEnvironment(rec, this.deps.agentId(), this.deps.hostname), exitStatusFile: this.deps.runs.exitStatusFile(containerId),
      });
      if (identity.pid !== undefined) rec.pid = identity.pid;
      if (identity.pidStartTicks !== undefined) rec.pidStartTicks = identity.pidStartTicks;
      return true;
    } catch (err) {
      await chosen.destroy(containerId).catch(() => undefined);
      this.table.dropRuntime(containerId);
      const why = err instanceof LaunchError ? err.message : `unexpected error: ${(err as Error).message}`;
      this.publish(rec, 'TASK_FAILED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: `cannot launch the task: ${why}` });
      return false;
    }
  }

  /** Waits for a launched run to exit, removes its container, and reports how it ended. */
  private async finish(rec: TaskRecord, c: Containerizer): Promise<void> {
    const term = await c.wait(rec.containerId);
    rec.health?.stop();
    await c.destroy(rec.containerId).catch((err) => this.deps.log.warn('cannot remove container', { containerId: rec.containerId, err }));
    this.table.dropRuntime(rec.containerId);
    const [state, fields] = terminalStatus(rec, term);
    this.publish(rec, state, fields);
  }

  /** Writes the run's checkpoint; a failure is logged, not fatal (the run goes on). */
  private checkpoint(rec: TaskRecord, durable = false): void {
    if (!rec.checkpointed || !rec.containerizer) return;
    try {
      this.deps.runs.write(checkpointOf(rec, rec.containerizer), durable);
    } catch (err) {
      if (durable) throw err;
      this.deps.log.error('cannot checkpoint the run', { containerId: rec.containerId, err });
    }
  }

  private signal(rec: TaskRecord): void {
    const c = this.table.runtimeOf(rec.containerId);
    if (!c) return;
    c.kill(rec.containerId, rec.killGraceMs ?? this.deps.killGracePeriodMs).catch((err) => {
      this.deps.log.error('cannot kill container', { containerId: rec.containerId, err });
    });
  }

  private publish(rec: TaskRecord, state: TaskState, f: StatusFields): void {
    const status = statusOf(rec, state, f, this.deps.agentId(), this.deps.clock.now());
    rec.state = state;
    rec.latest = status;
    // The checkpoint first: a restarted agent then knows of every update it may have sent.
    this.checkpoint(rec);
    this.deps.publish(status);
  }
}
