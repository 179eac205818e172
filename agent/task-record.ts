/**
 * A run of a task as the agent keeps it (`TaskRecord`), and what is derived from it alone:
 * its checkpoint and back, the status updates it produces, the environment its command gets.
 * Pure but for the fresh uuid of each status.
 */
import { randomUUID } from 'crypto';
import { ranges, type Resources } from '../common/resources';
import type { TaskInfo, TaskState, TaskStatus } from '../common/types';
import type { ContainerizerKind } from './containerizer/containerizer';
import type { HealthChecker } from './health';
import type { RunCheckpoint } from './runs';
import type { StatusFields } from './terminal-status';

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

/** The record of a run an earlier agent process checkpointed, not yet found again. */
export function recordOf(run: RunCheckpoint): TaskRecord {
  return {
    frameworkId: run.frameworkId, taskId: run.taskId, info: run.info, containerId: run.containerId, sandboxDir: run.sandboxDir,
    containerizer: run.containerizer, state: run.latest?.state ?? 'TASK_STAGING', latest: run.latest, launched: false,
    killRequested: run.killRequested, killGraceMs: run.killGraceMs, killingState: run.killingState, checkpointed: true,
    ...(run.pid !== undefined ? { pid: run.pid } : {}), ...(run.pidStartTicks !== undefined ? { pidStartTicks: run.pidStartTicks } : {}),
    ...(run.ackedUuid !== undefined ? { ackedUuid: run.ackedUuid } : {}),
  };
}

/** What a restarted agent needs of the run, once `containerizer` was chosen for it. */
export function checkpointOf(rec: TaskRecord, containerizer: ContainerizerKind): RunCheckpoint {
  return {
    version: 1, frameworkId: rec.frameworkId, taskId: rec.taskId, containerId: rec.containerId, sandboxDir: rec.sandboxDir,
    containerizer, info: rec.info, killingState: rec.killingState, killRequested: rec.killRequested,
    ...(rec.killGraceMs !== undefined ? { killGraceMs: rec.killGraceMs } : {}),
    ...(rec.latest ? { latest: rec.latest } : {}),
    ...(rec.pid !== undefined ? { pid: rec.pid } : {}), ...(rec.pidStartTicks !== undefined ? { pidStartTicks: rec.pidStartTicks } : {}),
    ...(rec.ackedUuid !== undefined ? { ackedUuid: rec.ackedUuid } : {}),
  };
}

/** A record for statuses about a task the agent does not run (no container, no sandbox). */
export function detachedRecord(frameworkId: string, taskId: string): TaskRecord {
  return {
    frameworkId, taskId, info: emptyTask(taskId), containerId: '', sandboxDir: '', containerizer: undefined,
    state: 'TASK_UNKNOWN', latest: undefined, launched: false, killRequested: false, killGraceMs: undefined, killingState: false,
  };
}

/** A status update of the run, with a fresh uuid: the source and reason default to the agent's and unknown. */
export function statusOf(rec: TaskRecord, state: TaskState, f: StatusFields, agentId: string, nowMs: number): TaskStatus {
  return {
    taskId: rec.taskId, frameworkId: rec.frameworkId, agentId, containerId: rec.containerId,
    state, message: f.message ?? '', source: f.source ?? 'SOURCE_AGENT', reason: f.reason ?? 'REASON_UNKNOWN',
    uuid: randomUUID(), timestampMs: nowMs,
    ...(f.exitCode !== undefined ? { exitCode: f.exitCode } : {}),
    ...(f.healthy !== undefined ? { healthy: f.healthy } : {}),
  };
}

/** What the agent tells every task about itself; the task's own environment wins. */
export function taskEnvironment(rec: TaskRecord, agentId: string, hostname: string): Record<string, string> {
  const ports = portList(rec.info.resources);
  const env: Record<string, string> = {
    AGORA_AGENT_ID: agentId, AGORA_FRAMEWORK_ID: rec.frameworkId, AGORA_TASK_ID: rec.taskId,
    AGORA_CONTAINER_ID: rec.containerId, AGORA_SANDBOX: rec.sandboxDir, HOST: hostname,
  };
  if (ports.length > 0) env.PORTS = ports.join(',');
  ports.forEach((p, i) => { env[`PORT${i}`] = String(p); });
  return env;
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
