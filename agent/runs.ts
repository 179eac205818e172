/**
 * Run checkpoints: what a restarted agent needs to find each run it had started and tell the
 * master the truth about it. One directory per run under the meta directory,
 *
 *   meta/runs/<containerId>/run.json      the task, its containerizer, its latest status
 *   meta/runs/<containerId>/exit-status   the command's exit status (process runs; see process-supervisor.ts)
 *
 * `run.json` is written before the container is launched, so no container of this agent can
 * exist without its record, and rewritten on every status the run produces (before the
 * status enters its reliable stream), so it always holds the run's newest state. The
 * directory goes when the run's terminal update has been acknowledged.
 *
 * Writes are atomic (temporary file, rename). Only the first one of a run is flushed to disk:
 * the later ones protect against the agent dying, which leaves the page cache intact; the
 * status-update checkpoint, which is flushed, covers the rest.
 */
import { readdirSync, rmSync } from 'fs';
import { join } from 'path';
import type { TaskInfo, TaskStatus } from '../common/types';
import { metaDir, readJson, writeJsonAtomic } from './checkpoint';
import type { ContainerizerKind, RecoverSpec } from './containerizer/containerizer';

export interface RunCheckpoint {
  version: 1;
  frameworkId: string;
  taskId: string;
  containerId: string;
  sandboxDir: string;
  containerizer: ContainerizerKind;
  info: TaskInfo;
  /** The framework understands TASK_KILLING. */
  killingState: boolean;
  /** A kill was asked for before the agent stopped: a recovered run is still to be killed. */
  killRequested: boolean;
  killGraceMs?: number;
  /** The newest status of the run, as it was published, and the newest one acknowledged. */
  latest?: TaskStatus;
  ackedUuid?: string;
  /** Process runs: the process group leader, and its start time in clock ticks since boot. */
  pid?: number;
  pidStartTicks?: number;
}

/**
 * What the task runner needs of run checkpoints: the files of `RunStore` for the agent, or a
 * store in memory for a simulated agent (bench/hollow), which never recovers from a restart.
 */
export type RunCheckpoints = Pick<RunStore, 'write' | 'remove' | 'exitStatusFile' | 'recoverSpec'>;

export class RunStore {
  readonly dir: string;

  constructor(workDir: string) {
    this.dir = join(metaDir(workDir), 'runs');
  }

  runDir(containerId: string): string {
    return join(this.dir, containerId);
  }

  /** Where a process run's wrapper leaves the command's exit status. */
  exitStatusFile(containerId: string): string {
    return join(this.runDir(containerId), 'exit-status');
  }

  /** What a containerizer needs to find the run again. */
  recoverSpec(run: RunCheckpoint): RecoverSpec {
    return {
      containerId: run.containerId, sandboxDir: run.sandboxDir, exitStatusFile: this.exitStatusFile(run.containerId),
      ...(run.pid !== undefined ? { pid: run.pid } : {}), ...(run.pidStartTicks !== undefined ? { pidStartTicks: run.pidStartTicks } : {}),
    };
  }

  write(run: RunCheckpoint, durable = false): void {
    writeJsonAtomic(join(this.runDir(run.containerId), 'run.json'), run, { sync: durable });
  }

  remove(containerId: string): void {
    rmSync(this.runDir(containerId), { recursive: true, force: true });
  }

  /**
   * Every run checkpoint left by an earlier agent. A directory whose record cannot be read
   * is reported in `unreadable` rather than failing the whole recovery.
   */
  list(): { runs: RunCheckpoint[]; unreadable: { containerId: string; error: string }[] } {
    const runs: RunCheckpoint[] = [];
    const unreadable: { containerId: string; error: string }[] = [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { runs, unreadable };
      throw err;
    }
    for (const containerId of names.sort()) {
      try {
        const run = readJson(join(this.runDir(containerId), 'run.json')) as RunCheckpoint | undefined;
        if (run === undefined) unreadable.push({ containerId, error: 'no run.json (the agent stopped before it was written)' });
        else if (run.version !== 1 || run.containerId !== containerId) unreadable.push({ containerId, error: `unknown run checkpoint version ${String(run.version)}` });
        else runs.push(run);
      } catch (err) {
        unreadable.push({ containerId, error: (err as Error).message });
      }
    }
    return { runs, unreadable };
  }
}
