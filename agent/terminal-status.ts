/**
 * What a run that exited is reported as: the terminal state, reason and message from how it
 * ended (exit code, signal, memory limit) and why it was stopped (a kill asked for, a
 * failing health check).
 */
import type { StatusReason, StatusSource, TaskState } from '../common/types';
import type { Termination } from './containerizer/containerizer';
import type { TaskRecord } from './task-record';

export interface StatusFields {
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
