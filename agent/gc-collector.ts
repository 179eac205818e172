/**
 * Garbage collection of finished sandboxes: the shell around the policy in `gc.ts`. It keeps
 * the sandboxes waiting for removal, reads the disk, removes what falls due and keeps one
 * timer for the next one, all on the agent's clock.
 *
 *   run's terminal update acknowledged ──► schedule(sandbox, now) ─┐
 *   start-up: sandboxes no run claims  ──► schedule(dir, mtime)  ──┼─► sweep: usage → decide → rm
 *   every diskWatchIntervalMs         ──► sweep (+ exited containers no run claims)
 *   the next one falls due            ──► sweep
 *
 * A sweep re-reads the disk, so a disk that fills shortens every wait at the next disk check.
 * Sweeps never overlap: asked for while one runs, another follows it.
 */
import { promises as fsp, rmdirSync, statfs, type Dirent } from 'fs';
import { join, relative, sep } from 'path';
import type { Clock, Timer } from '../common/clock';
import type { Logger } from '../common/log';
import { decide, type GcCandidate, type GcPolicy } from './gc';

/** What one sweep did, for the agent's `gc` event and its log. */
export interface GcSweep {
  /** The agent's clock when the sweep decided. */
  atMs: number;
  /** The fraction of the work directory's filesystem in use (NaN: could not be read). */
  usage: number;
  /** How old a finished sandbox may be at that usage. */
  maxAgeMs: number;
  /** Sandboxes scheduled since the sweep before. */
  scheduled: string[];
  /** Sandboxes removed. */
  removed: string[];
  /** Exited containers removed (their container ids), on the sweeps that look at them. */
  containers: string[];
  /** Sandboxes still waiting. */
  waiting: number;
}

export interface GarbageCollectorDeps {
  policy: GcPolicy;
  clock: Clock;
  diskWatchIntervalMs: number;
  /** `<workDir>/agents`: nothing outside it is ever removed. */
  agentsDir: string;
  /** The fraction (0..1) of the work directory's filesystem in use. */
  diskUsage(): Promise<number>;
  /** The agent's current id ('' before it has one): its own directory is kept even when empty. */
  agentId(): string;
  /** Whether a run the agent still tracks (live, or its terminal update unacknowledged) owns `sandbox`. */
  isLive(sandbox: string): boolean;
  /** The sandbox is gone: the agent stops offering its run. */
  onRemoved(sandbox: string): void;
  /** Removes exited containers of this agent that no run claims; their container ids. */
  removeExitedContainers?(): Promise<string[]>;
  onSweep?(sweep: GcSweep): void;
  log: Logger;
}

/** Layout under `agents/`: `<agent>/frameworks/<f>/tasks/<t>/runs/<container>`. */
const SANDBOX_DEPTH = 7;
/** Empty parents are removed up to the framework's directory (`<agent>/frameworks/<f>`). */
const FRAMEWORK_DEPTH = 3;

export class GarbageCollector {
  private readonly waiting = new Map<string, GcCandidate>();
  private scheduled: string[] = [];
  private watch: Timer | undefined;
  private next: Timer | undefined;
  private running: Promise<void> | undefined;
  private wanted = false;
  private wantContainers = false;
  private stopped = false;

  constructor(private readonly deps: GarbageCollectorDeps) {}

  /** Starts the periodic disk check, with a first sweep (containers included) at once. */
  start(): void {
    this.watch = this.deps.clock.setInterval(() => this.kick(true), this.deps.diskWatchIntervalMs);
    this.kick(true);
  }

  /** Waits for the sweep under way; no more are started. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.cancel();
    this.next?.cancel();
    await this.running;
  }

  /**
   * Schedules `sandbox`, whose run ended at `endedAtMs`, for removal once it is older than
   * the policy allows. A sandbox already waiting keeps its earlier end.
   */
  schedule(sandbox: string, endedAtMs: number): void {
    if (!sandbox || this.stopped) return;
    if (!this.sandboxPath(sandbox)) {
      this.deps.log.error('not a sandbox under the work directory: never removed', { sandbox });
      return;
    }
    if (this.waiting.has(sandbox)) return;
    this.waiting.set(sandbox, { path: sandbox, endedAtMs });
    this.scheduled.push(sandbox);
    this.kick(false);
  }

  /** How many sandboxes wait for removal. */
  get pending(): number {
    return this.waiting.size;
  }

  /**
   * Schedules every sandbox on disk that no run of this agent claims (left by an earlier
   * agent process, or by an earlier agent id), aged from its directory's mtime. Returns how
   * many were found.
   */
  async scan(): Promise<number> {
    let found = 0;
    for (const agent of await subdirs(this.deps.agentsDir)) {
      for (const fw of await subdirs(join(this.deps.agentsDir, agent, 'frameworks'))) {
        const tasks = join(this.deps.agentsDir, agent, 'frameworks', fw, 'tasks');
        for (const task of await subdirs(tasks)) {
          for (const run of await subdirs(join(tasks, task, 'runs'))) {
            const dir = join(tasks, task, 'runs', run);
            if (this.waiting.has(dir) || this.deps.isLive(dir)) continue;
            const st = await fsp.stat(dir).catch(() => undefined);
            if (!st) continue;
            this.waiting.set(dir, { path: dir, endedAtMs: Math.floor(st.mtimeMs) });
            this.scheduled.push(dir);
            found++;
          }
        }
      }
    }
    if (found > 0) this.deps.log.info('sandboxes no run claims: scheduled for removal by their age', { found });
    return found;
  }

  private kick(containers: boolean): void {
    if (this.stopped) return;
    this.wanted = true;
    this.wantContainers ||= containers;
    if (!this.running) this.running = this.loop();
  }

  private async loop(): Promise<void> {
    // Yield first, so that `running` is set before this can end.
    await Promise.resolve();
    while (this.wanted && !this.stopped) {
      const containers = this.wantContainers;
      this.wanted = false;
      this.wantContainers = false;
      try {
        await this.sweep(containers);
      } catch (err) {
        this.deps.log.error('garbage collection failed', { err });
      }
    }
    this.running = undefined;
  }

  private async sweep(containers: boolean): Promise<void> {
    const usage = await this.deps.diskUsage().catch((err: unknown) => {
      this.deps.log.warn('cannot read the disk usage of the work directory; taking it as empty', { err });
      return Number.NaN;
    });
    const atMs = this.deps.clock.now();
    const scheduled = this.scheduled;
    this.scheduled = [];
    const d = decide(this.waiting.values(), this.deps.policy, atMs, usage);
    const removed: string[] = [];
    for (const path of d.remove) {
      this.waiting.delete(path);
      if (await this.remove(path)) removed.push(path);
    }
    const gone = containers && this.deps.removeExitedContainers
      ? await this.deps.removeExitedContainers().catch((err: unknown) => {
        this.deps.log.warn('cannot look for exited containers', { err });
        return [];
      })
      : [];
    this.next?.cancel();
    this.next = undefined;
    if (d.nextDueAtMs !== undefined && !this.stopped) {
      this.next = this.deps.clock.setTimeout(() => this.kick(false), Math.max(0, d.nextDueAtMs - this.deps.clock.now()));
    }
    const sweep: GcSweep = { atMs, usage, maxAgeMs: d.maxAgeMs, scheduled, removed, containers: gone, waiting: this.waiting.size };
    if (removed.length > 0 || gone.length > 0) this.deps.log.info('garbage collected', { usage, maxAgeMs: d.maxAgeMs, removed, containers: gone, waiting: sweep.waiting });
    else this.deps.log.debug('garbage collection: nothing due', { usage, maxAgeMs: d.maxAgeMs, waiting: sweep.waiting });
    this.deps.onSweep?.(sweep);
  }

  /** Removes a sandbox and its parents that are left empty; false if it could not. */
  private async remove(sandbox: string): Promise<boolean> {
    // Only runs the agent has let go of are ever scheduled; this guards against a bug
    // costing a running task its files.
    if (this.deps.isLive(sandbox)) {
      this.deps.log.error('a live run\'s sandbox was due for removal: kept', { sandbox });
      return false;
    }
    try {
      await fsp.rm(sandbox, { recursive: true, force: true });
    } catch (err) {
      // Left as it is (e.g. files a task made as another user); the next start-up scan finds it again.
      this.deps.log.warn('cannot remove a finished sandbox', { sandbox, err });
      return false;
    }
    this.removeEmptyParents(sandbox);
    this.deps.onRemoved(sandbox);
    return true;
  }

  /**
   * rmdir of each parent up to the framework's directory, stopping at the first that is not
   * empty. A directory of an agent id other than ours is removed up to `agents/<id>` itself.
   * Synchronous on purpose: a launch creating a sandbox under the same parents (mkdir -p,
   * also synchronous) cannot interleave with it.
   */
  private removeEmptyParents(sandbox: string): void {
    const parts = this.sandboxPath(sandbox);
    if (!parts) return;
    const ours = parts[0] === this.deps.agentId();
    const stopDepth = ours ? FRAMEWORK_DEPTH : 1;
    for (let depth = SANDBOX_DEPTH - 1; depth >= stopDepth; depth--) {
      try {
        rmdirSync(join(this.deps.agentsDir, ...parts.slice(0, depth)));
      } catch {
        return;   // not empty (or already gone): its ancestors are not empty either
      }
    }
  }

  /** The components of `sandbox` under `agents/` if it has the sandbox layout, else undefined. */
  private sandboxPath(sandbox: string): string[] | undefined {
    const rel = relative(this.deps.agentsDir, sandbox);
    const parts = rel.split(sep);
    if (rel.startsWith('..') || parts.length !== SANDBOX_DEPTH) return undefined;
    if (parts[1] !== 'frameworks' || parts[3] !== 'tasks' || parts[5] !== 'runs' || parts.some((p) => p === '' || p === '..')) return undefined;
    return parts;
  }
}

/** The names of the subdirectories of `dir` ([] if it does not exist). */
async function subdirs(dir: string): Promise<string[]> {
  const entries: Dirent[] = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/**
 * The fraction of the filesystem holding `dir` in use, as Mesos measures it:
 * (blocks − free blocks) / blocks, the blocks reserved for root counted as free.
 */
export function diskUsageOf(dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    statfs(dir, (err, s) => {
      if (err) return reject(err);
      resolve(s.blocks > 0 ? (s.blocks - s.bfree) / s.blocks : 0);
    });
  });
}
