/**
 * The agent's table of runs: the live one of each task, kept until its terminal update is
 * acknowledged (so it is reported on re-registration), the last MAX_COMPLETED finished ones
 * (for `/state` and sandbox reads), and the containerizer of each launched run. The task
 * runner moves runs through it; registration, usage, garbage collection and the HTTP
 * endpoints only read it.
 */
import { isTerminal, type Task } from '../common/types';
import type { Containerizer } from './containerizer/containerizer';
import type { TaskRecord } from './task-record';

/** Finished runs kept for `/state` and sandbox reads after their stream closed. */
const MAX_COMPLETED = 200;

const keyOf = (frameworkId: string, taskId: string) => `${frameworkId}\u0000${taskId}`;

export class RunTable {
  private readonly active = new Map<string, TaskRecord>();
  private readonly completed: TaskRecord[] = [];
  /** The containerizer of each launched run, by container id. */
  private readonly runtimes = new Map<string, Containerizer>();

  /** `onRunCompleted`: a run has left the table of live tasks, over for good (its sandbox may be collected). */
  constructor(private readonly onRunCompleted?: (rec: TaskRecord) => void) {}

  /** The task's run in the table: live, or with its terminal update unacknowledged. */
  get(frameworkId: string, taskId: string): TaskRecord | undefined {
    return this.active.get(keyOf(frameworkId, taskId));
  }

  /** Puts a run in the table, in place of any run of its task. */
  set(rec: TaskRecord): void {
    this.active.set(keyOf(rec.frameworkId, rec.taskId), rec);
  }

  /** A run leaves the table of live tasks for the completed ones. */
  close(rec: TaskRecord): void {
    this.active.delete(keyOf(rec.frameworkId, rec.taskId));
    this.remember(rec);
  }

  /** A run is over for good: kept among the completed ones, the oldest of which goes. */
  remember(rec: TaskRecord): void {
    this.completed.push(rec);
    if (this.completed.length > MAX_COMPLETED) this.completed.shift();
    this.onRunCompleted?.(rec);
  }

  runtimeOf(containerId: string): Containerizer | undefined {
    return this.runtimes.get(containerId);
  }

  setRuntime(containerId: string, c: Containerizer): void {
    this.runtimes.set(containerId, c);
  }

  dropRuntime(containerId: string): void {
    this.runtimes.delete(containerId);
  }

  /** Live tasks and those whose terminal update is not yet acknowledged, as the master knows tasks. */
  tasks(agentId: string): Task[] {
    return [...this.active.values()].map((r) => ({
      taskId: r.taskId, name: r.info.name, frameworkId: r.frameworkId, agentId,
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
}
