/**
 * Resource usage reports: every `usageIntervalMs` on the agent's clock, while the agent is
 * registered, the statistics of each live run are measured through its containerizer and
 * sent to the master in one AgentUsage. The newest statistics of each run are kept for the
 * agent's own `/state`.
 *
 * Limits are filled in from what the task was allocated where the containerizer measured
 * none, as Mesos's containerizer does: `cpus_limit` is the allocation (also without a
 * quota), `mem_limit_bytes` the hard limit, else the allocation.
 *
 * One round at a time: a tick that finds the previous round still measuring (a slow Docker
 * engine) is skipped rather than piled up. A run whose usage cannot be read (it just ended,
 * the engine is away) is left out of the report and logged at debug level.
 */
import type { AgentUsage } from '../common/agent-messages';
import type { Clock, Timer } from '../common/clock';
import type { Logger } from '../common/log';
import { scalar, type Resources } from '../common/resources';
import type { ResourceStatistics, TaskUsage } from '../common/types';
import type { Containerizer } from './containerizer/containerizer';
import type { ContainerUsage } from './containerizer/statistics';

const MB = 1024 * 1024;

/** A run whose usage is measured. */
export interface LiveRun {
  frameworkId: string;
  taskId: string;
  containerId: string;
  resources: Resources;
  containerizer: Pick<Containerizer, 'usage'>;
}

export interface UsageReporterDeps {
  clock: Clock;
  intervalMs: number;
  agentId(): string;
  /** Only a registered agent reports: a master that does not know it would drop the report. */
  registered(): boolean;
  liveRuns(): LiveRun[];
  send(usage: AgentUsage): void;
  log: Logger;
}

/** A measurement made complete: zeros for what was not measured, limits from the allocation. */
export function statisticsOf(measured: ContainerUsage, timestampMs: number, allocated: Resources): ResourceStatistics {
  const cpus = scalar(allocated, 'cpus');
  const mem = scalar(allocated, 'mem');
  const cpusLimit = measured.cpusLimit ?? (cpus > 0 ? cpus : undefined);
  const memLimitBytes = measured.memLimitBytes ?? (mem > 0 ? Math.round(mem * MB) : undefined);
  return {
    timestampMs,
    cpusUserTimeSecs: measured.cpusUserTimeSecs ?? 0,
    cpusSystemTimeSecs: measured.cpusSystemTimeSecs ?? 0,
    ...(cpusLimit !== undefined ? { cpusLimit } : {}),
    memRssBytes: measured.memRssBytes ?? 0,
    memTotalBytes: measured.memTotalBytes ?? measured.memRssBytes ?? 0,
    ...(memLimitBytes !== undefined ? { memLimitBytes } : {}),
    cpusNrPeriods: measured.cpusNrPeriods ?? 0,
    cpusNrThrottled: measured.cpusNrThrottled ?? 0,
    cpusThrottledTimeSecs: measured.cpusThrottledTimeSecs ?? 0,
    processes: measured.processes ?? 0,
  };
}

export class UsageReporter {
  private timer: Timer | undefined;
  private measuring = false;
  private latest = new Map<string, ResourceStatistics>();

  constructor(private readonly deps: UsageReporterDeps) {}

  start(): void {
    this.timer ??= this.deps.clock.setInterval(() => this.tick(), this.deps.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** The newest statistics of a run, for `/state`; none before its first report or once it ended. */
  latestOf(containerId: string): ResourceStatistics | undefined {
    return this.latest.get(containerId);
  }

  private tick(): void {
    if (this.measuring || !this.deps.registered()) return;
    this.measuring = true;
    this.measure().then((usage) => {
      // The round is over before its report goes out: whoever hears the report may start the next.
      this.measuring = false;
      try {
        if (usage) this.deps.send(usage);
      } catch (err) {
        this.deps.log.warn('cannot send the usage report', { err });
      }
    }, (err) => {
      this.measuring = false;
      this.deps.log.warn('usage round failed', { err });
    });
  }

  /** Measures every live run; the report to send, if there is anything to tell a master. */
  private async measure(): Promise<AgentUsage | undefined> {
    const d = this.deps;
    const runs = d.liveRuns();
    const measured = await Promise.all(runs.map(async (run): Promise<TaskUsage | undefined> => {
      try {
        const usage = await run.containerizer.usage(run.containerId);
        const statistics = statisticsOf(usage, d.clock.now(), run.resources);
        return { frameworkId: run.frameworkId, taskId: run.taskId, containerId: run.containerId, statistics };
      } catch (err) {
        d.log.debug('usage not measured', { taskId: run.taskId, containerId: run.containerId, err });
        return undefined;
      }
    }));
    const tasks = measured.filter((t): t is TaskUsage => t !== undefined);
    // Runs that ended since are forgotten with this round.
    this.latest = new Map(tasks.map((t) => [t.containerId, t.statistics]));
    const agentId = d.agentId();
    if (tasks.length === 0 || !agentId || !d.registered()) return undefined;
    return { agentId, timestampMs: d.clock.now(), tasks };
  }
}
