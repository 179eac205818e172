/**
 * A running task's health check, as its run sees it: the probes start at TASK_RUNNING, each
 * change of health is a TASK_RUNNING update with `healthy` set (reason
 * REASON_TASK_HEALTH_CHECK_STATUS_UPDATED), and too many failures in a row kill the task,
 * saying why. The schedule itself is the pure core in health.ts.
 */
import type { Clock } from '../common/clock';
import type { Logger } from '../common/log';
import { isTerminal, type TaskState } from '../common/types';
import type { Containerizer } from './containerizer/containerizer';
import { HealthChecker, resolveHealthCheck, type HealthEvent } from './health';
import { probeFor } from './health-probes';
import type { TaskRecord } from './task-record';
import type { StatusFields } from './terminal-status';

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

export interface TaskHealthDeps {
  clock: Clock;
  log: Logger;
  /** Hears every probe (not only changes). */
  onHealthProbe?(report: HealthProbeReport): void;
  /** A status update of the run. */
  publish(rec: TaskRecord, state: TaskState, fields: StatusFields): void;
  /** Kills the run with its kill policy (`rec.healthKill` says why). */
  kill(rec: TaskRecord): void;
}

/** Starts probing a running task that has a health check (`rec.health`, stopped by its run). */
export function startHealth(rec: TaskRecord, c: Containerizer, deps: TaskHealthDeps): void {
  const hc = rec.info.healthCheck;
  if (!hc) return;
  const check = resolveHealthCheck(rec.info, c.kind);
  if (check instanceof Error) return;   // refused with TASK_ERROR before launch
  const probe = probeFor(hc, check.target, (argv, opts) => c.exec(rec.containerId, argv, opts));
  rec.health = new HealthChecker({ schedule: hc, clock: deps.clock, probe, report: (e) => onHealth(rec, e, deps) });
}

function onHealth(rec: TaskRecord, e: HealthEvent, deps: TaskHealthDeps): void {
  const { frameworkId, taskId, containerId } = rec;
  switch (e.kind) {
    case 'probed':
      deps.log.debug('health check', { taskId, healthy: e.healthy, why: e.why, counted: e.counted });
      deps.onHealthProbe?.({ frameworkId, taskId, containerId, healthy: e.healthy, why: e.why, counted: e.counted, consecutiveFailures: e.consecutiveFailures });
      return;
    case 'changed':
      // Health is news only about a task still running; a kill under way says more.
      if (rec.state !== 'TASK_RUNNING' || rec.killRequested) return;
      deps.log.info(e.healthy ? 'task is healthy' : 'task is unhealthy', { taskId, why: e.why });
      deps.publish(rec, 'TASK_RUNNING', { healthy: e.healthy, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', source: 'SOURCE_EXECUTOR', message: e.why });
      return;
    case 'kill':
      if (isTerminal(rec.state) || rec.killRequested) return;
      rec.healthKill = `health check failed ${e.consecutiveFailures} time${e.consecutiveFailures === 1 ? '' : 's'} in a row, the last: ${e.why}`;
      deps.log.warn('killing an unhealthy task', { taskId, why: rec.healthKill });
      deps.kill(rec);
      return;
  }
}
