/**
 * The containerizer of a hollow agent: the agent's `Containerizer` interface with nothing
 * behind it. A launch "runs" the task for its duration on the clock, then it exits 0; a kill
 * ends it at once, as a command that obeys SIGTERM. The real task runner (agent/tasks.ts)
 * drives it, so STARTING, RUNNING and the terminal update, kills, duplicates and reconciles
 * behave as on a real agent; only the container is missing.
 *
 * Per task, labels may change the simulated command:
 *   hollow.duration_ms   how long it runs (default: the agent's task duration)
 *   hollow.exit_code     how it exits when its time is up (default 0: TASK_FINISHED)
 *
 * It reports itself as the process kind: the agent's checkpoints and health checks know only
 * docker and process, and a hollow run is closer to a process (no image, no network).
 */
import type { Clock, Timer } from '../../common/clock';
import { scalar } from '../../common/resources';
import type {
  Containerizer, ExecResult, LaunchSpec, Recovered, RunIdentity, Termination,
} from '../../agent/containerizer/containerizer';
import { UsageError, type ContainerUsage } from '../../agent/containerizer/statistics';

export const DURATION_LABEL = 'hollow.duration_ms';
export const EXIT_CODE_LABEL = 'hollow.exit_code';

const MB = 1024 * 1024;

interface HollowRun {
  readonly startedMs: number;
  readonly cpus: number;
  readonly memBytes: number;
  timer: Timer | undefined;
  ended: Termination | undefined;
  readonly exited: Promise<Termination>;
  end(t: Termination): void;
}

/** A label as a non-negative integer, or `fallback` when absent or not one. */
function labelNumber(labels: Record<string, string>, key: string, fallback: number): number {
  const raw = labels[key];
  if (raw === undefined || !/^\d+$/.test(raw)) return fallback;
  return Number(raw);
}

export class HollowContainerizer implements Containerizer {
  readonly kind = 'process' as const;
  private readonly runs = new Map<string, HollowRun>();

  constructor(private readonly clock: Clock, private readonly taskDurationMs: number) {}

  /** Runs now in this agent. */
  get running(): number {
    let n = 0;
    for (const r of this.runs.values()) if (!r.ended) n++;
    return n;
  }

  launch(spec: LaunchSpec): Promise<RunIdentity> {
    let end!: (t: Termination) => void;
    const exited = new Promise<Termination>((resolve) => { end = resolve; });
    const run: HollowRun = {
      startedMs: this.clock.now(), cpus: scalar(spec.task.resources, 'cpus'), memBytes: scalar(spec.task.resources, 'mem') * MB,
      timer: undefined, ended: undefined, exited,
      end: (t) => {
        if (run.ended) return;
        run.ended = t;
        run.timer?.cancel();
        run.timer = undefined;
        end(t);
      },
    };
    const labels = spec.task.labels;
    const exitCode = labelNumber(labels, EXIT_CODE_LABEL, 0);
    run.timer = this.clock.setTimeout(() => run.end({ exitCode }), labelNumber(labels, DURATION_LABEL, this.taskDurationMs));
    this.runs.set(spec.containerId, run);
    return Promise.resolve({});
  }

  wait(containerId: string): Promise<Termination> {
    return this.runs.get(containerId)?.exited ?? Promise.resolve({ exitCode: undefined, signal: 'SIGKILL' });
  }

  kill(containerId: string): Promise<void> {
    this.runs.get(containerId)?.end({ exitCode: undefined, signal: 'SIGTERM' });
    return Promise.resolve();
  }

  destroy(containerId: string): Promise<void> {
    this.runs.get(containerId)?.end({ exitCode: undefined, signal: 'SIGKILL' });
    this.runs.delete(containerId);
    return Promise.resolve();
  }

  exec(): Promise<ExecResult> {
    // A command health check passes: there is nothing to be unhealthy.
    return Promise.resolve({ exitCode: 0, output: '' });
  }

  /** As if the task kept a quarter of its cpus busy and used half of its memory. */
  usage(containerId: string): Promise<ContainerUsage> {
    const run = this.runs.get(containerId);
    if (!run || run.ended) return Promise.reject(new UsageError(`hollow container ${containerId} is not running`));
    const secs = (this.clock.now() - run.startedMs) / 1000;
    return Promise.resolve({
      cpusUserTimeSecs: secs * run.cpus * 0.2, cpusSystemTimeSecs: secs * run.cpus * 0.05,
      memRssBytes: Math.round(run.memBytes / 2), processes: 1,
    });
  }

  list(): Promise<string[]> {
    return Promise.resolve([...this.runs.keys()]);
  }

  async destroyAll(): Promise<void> {
    for (const id of [...this.runs.keys()]) await this.destroy(id);
  }

  /** A hollow agent never restarts with runs to take back: whatever it is asked about is gone. */
  recover(): Promise<Recovered> {
    return Promise.resolve({ state: 'missing', why: 'a hollow agent keeps no runs across restarts' });
  }

  removeOrphans(): Promise<string[]> {
    return Promise.resolve([]);
  }
}
