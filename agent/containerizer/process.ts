/**
 * The process containerizer: the task's command as a plain child process, for machines
 * without Docker and for tasks that ask for PROCESS. The command runs in its sandbox
 * directory (or its working directory), in a process group of its own, so a kill or a
 * cleanup reaches every process it started, not just the shell; as `command.user` when one
 * is given (the agent must be root to switch).
 *
 * Limits: when the host's cgroups are usable (see cgroups.ts) each container gets a cgroup
 * with its memory limit and cpu quota, and an OOM kill is reported as such; otherwise the
 * command runs without limits, like Mesos's POSIX isolation.
 *
 * The command runs under a small supervising program (process-supervisor.ts), the group's
 * leader, which writes the command's exit status to a file before ending the same way the
 * command did. An agent that was restarted meanwhile is no longer the parent and cannot wait
 * for the process: it finds the run again by its pid and start time (procfs.ts), and reads
 * how it ended from that file. What a launch checks and readies first is in
 * process-prepare.ts.
 */
import { spawn, type ChildProcess } from 'child_process';
import { closeSync, openSync } from 'fs';
import { join } from 'path';
import { systemClock, type Clock, type Timer } from '../../common/clock';
import { logger, type Logger } from '../../common/log';
import type { Cgroups, ContainerCgroup } from './cgroups';
import { environOf, isAlive, ownerOf, processGroupUsage, startTicks } from './procfs';
import { UsageError, type ContainerUsage } from './statistics';
import {
  EXEC_OUTPUT_MAX, LaunchError, type Containerizer, type ExecOptions, type ExecResult, type LaunchSpec,
  type RecoverSpec, type Recovered, type RunIdentity, type Termination,
} from './containerizer';
import { limitsOf, prepareLaunch, type PreparedLaunch } from './process-prepare';
import { PERL, readExitStatus, signalGroup, supervisorArgs, watchExit } from './process-supervisor';

interface Running {
  /** Undefined for a run recovered after an agent restart: the agent is not its parent. */
  child: ChildProcess | undefined;
  pgid: number;
  exited: Promise<Termination>;
  done: boolean;
  escalation: Timer | undefined;
  cgroup: ContainerCgroup | undefined;
  /** The task's environment and directory, for commands run beside it. */
  env: Record<string, string>;
  cwd: string;
  /** Who the task runs as, when not the agent: commands beside it (health checks) run as the same. */
  runAs: { uid: number; gid: number } | undefined;
}

export interface ProcessContainerizerOptions {
  clock?: Clock;
  log?: Logger;
  /** Limits through cgroups; none: the commands run without limits. */
  cgroups?: Cgroups;
  /** The agent's own uid (tests may pretend another). */
  uid?: number;
  /**
   * Who a task that names no `command.user` runs as. Default: `nobody` for an agent running
   * as root, so no task is root by accident (the master's ACLs decide who may name root);
   * '' keeps the agent's own user.
   */
  defaultUser?: string;
}

/** Who a process task runs as on an agent running as root, when it names nobody else. */
export { DEFAULT_TASK_USER } from '../../common/security/defaults';
import { DEFAULT_TASK_USER } from '../../common/security/defaults';

export class ProcessContainerizer implements Containerizer {
  readonly kind = 'process' as const;
  private readonly running = new Map<string, Running>();
  private readonly log: Logger;
  // Kill escalation waits on a real process, so it runs on real time unless told otherwise.
  private readonly clock: Clock;
  private readonly cgroups: Cgroups | undefined;
  private readonly uid: number;
  private readonly defaultUser: string;

  constructor(opts: ProcessContainerizerOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? logger('agent/process');
    this.cgroups = opts.cgroups;
    this.uid = opts.uid ?? process.getuid?.() ?? 0;
    this.defaultUser = opts.defaultUser ?? (this.uid === 0 ? DEFAULT_TASK_USER : '');
  }

  async launch(spec: LaunchSpec): Promise<RunIdentity> {
    const prepared = await prepareLaunch(spec, this.uid, this.defaultUser);
    const cgroup = this.createCgroup(spec);
    const child = await this.start(spec, prepared, cgroup);
    this.track(spec.containerId, child, prepared, cgroup);
    const pid = child.pid!;
    const pidStartTicks = startTicks(pid);
    return pidStartTicks === undefined ? { pid } : { pid, pidStartTicks };
  }

  /** The container's cgroup with its limits, when this agent limits process tasks. */
  private createCgroup(spec: LaunchSpec): ContainerCgroup | undefined {
    if (!this.cgroups) return undefined;
    try {
      return this.cgroups.create(spec.containerId, limitsOf(spec));
    } catch (e) {
      throw new LaunchError(`cannot set up the container's cgroup: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Spawns the supervisor with the command, its output straight into the sandbox files. With
   * a cgroup, the supervisor is moved into it before it lets the command start.
   */
  private async start(spec: LaunchSpec, p: PreparedLaunch, cgroup: ContainerCgroup | undefined): Promise<ChildProcess> {
    const { file, user, cwd } = p;
    const out = openSync(join(spec.sandboxDir, 'stdout'), 'a');
    const err = openSync(join(spec.sandboxDir, 'stderr'), 'a');
    let child: ChildProcess;
    try {
      // The child writes straight into the sandbox files: nothing is buffered in the agent,
      // and the output survives an agent restart.
      child = spawn(PERL, supervisorArgs(cgroup !== undefined, spec.exitStatusFile, file, p.args), {
        cwd, env: p.env, detached: true, stdio: [cgroup ? 'pipe' : 'ignore', out, err], ...(p.runAs ?? {}),
      });
    } catch (e) {
      await cgroup?.destroy().catch(() => undefined);
      throw new LaunchError(`cannot start '${file}': ${(e as Error).message}`, { cause: e });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    try {
      // As another user, the failure may be the user's (e.g. it may not execute the file).
      const what = user ? `${file}' as user '${user.name}' in '${cwd}` : file;
      await spawned(child, what, (e) => this.log.warn('process container error', { containerId: spec.containerId, err: e }));
      if (cgroup) {
        child.stdin?.on('error', () => undefined); // the gate may be gone already; its exit says why
        cgroup.addProcess(child.pid!);
        child.stdin?.end('go\n');
      }
    } catch (e) {
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      await cgroup?.destroy().catch(() => undefined);
      if (e instanceof LaunchError) throw e;
      throw new LaunchError(`cannot move '${file}' into its cgroup: ${(e as Error).message}`, { cause: e });
    }
    return child;
  }

  /** A started run in the table, its end told by its child's exit. */
  private track(containerId: string, child: ChildProcess, p: PreparedLaunch, cgroup: ContainerCgroup | undefined): void {
    const entry: Running = {
      child, pgid: child.pid!, done: false, escalation: undefined, cgroup, env: p.env, cwd: p.cwd, runAs: p.runAs,
      exited: undefined as unknown as Promise<Termination>,
    };
    entry.exited = new Promise<Termination>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        this.ended(entry);
        const oomKilled = entry.cgroup?.oomKilled() ?? false;
        const how = code === null ? { exitCode: undefined, signal: signal ?? undefined } : { exitCode: code };
        resolve(oomKilled ? { ...how, oomKilled } : how);
      };
      if (child.exitCode !== null || child.signalCode !== null) finish(child.exitCode, child.signalCode);
      else child.once('exit', finish);
    });
    this.running.set(containerId, entry);
  }

  async recover(spec: RecoverSpec): Promise<Recovered> {
    const { pid } = spec;
    const alive = pid !== undefined && spec.pidStartTicks !== undefined && isAlive(pid, spec.pidStartTicks);
    // The status is written as the command ends: the supervisor may still be on its way out.
    const status = spec.exitStatusFile ? readExitStatus(spec.exitStatusFile) : undefined;
    if (status) {
      if (alive) signalGroup(pid, 'SIGKILL');
      const cgroup = this.cgroups?.open(spec.containerId);
      const oomKilled = cgroup?.oomKilled() ?? false;
      await cgroup?.destroy().catch(() => undefined);
      return { state: 'exited', termination: oomKilled ? { ...status, oomKilled } : status };
    }
    if (alive) {
      // Its environment, for health-check commands, is the one it was started with.
      const cgroup = this.cgroups?.open(spec.containerId);
      const entry: Running = {
        child: undefined, pgid: pid, done: false, escalation: undefined, cgroup, env: environOf(pid), cwd: spec.sandboxDir, runAs: ownerOf(pid, this.uid),
        exited: undefined as unknown as Promise<Termination>,
      };
      entry.exited = watchExit(pid, spec.pidStartTicks, spec.exitStatusFile, this.log).then((t) => {
        this.ended(entry);
        return entry.cgroup?.oomKilled() ? { ...t, oomKilled: true } : t;
      });
      this.running.set(spec.containerId, entry);
      return { state: 'running' };
    }
    await this.cgroups?.open(spec.containerId)?.destroy().catch(() => undefined);
    return {
      state: 'missing',
      why: pid === undefined ? 'no process was recorded for it' : `process ${pid} is gone and left no exit status (it was killed outright, or the machine restarted)`,
    };
  }

  /** Processes carry no label to find them by: a run without a checkpoint cannot be found. */
  removeOrphans(): Promise<string[]> {
    return Promise.resolve([]);
  }

  /** What the command left running in its group goes with it; the group is never signalled again. */
  private ended(entry: Running): void {
    entry.escalation?.cancel();
    signalGroup(entry.pgid, 'SIGKILL');
    entry.done = true;
  }

  wait(containerId: string): Promise<Termination> {
    const r = this.running.get(containerId);
    if (!r) return Promise.reject(new Error(`unknown process container ${containerId}`));
    return r.exited;
  }

  kill(containerId: string, gracePeriodMs: number): Promise<void> {
    const r = this.running.get(containerId);
    if (!r || r.done) return Promise.resolve();
    if (gracePeriodMs <= 0) {
      signalGroup(r.pgid, 'SIGKILL');
      return Promise.resolve();
    }
    signalGroup(r.pgid, 'SIGTERM');
    r.escalation?.cancel();
    r.escalation = this.clock.setTimeout(() => {
      if (r.done) return;
      this.log.info('grace period over; sending SIGKILL', { containerId, gracePeriodMs });
      signalGroup(r.pgid, 'SIGKILL');
    }, gracePeriodMs);
    return Promise.resolve();
  }

  async destroy(containerId: string): Promise<void> {
    const r = this.running.get(containerId);
    if (!r) return;
    if (!r.done) {
      signalGroup(r.pgid, 'SIGKILL');
      await r.exited;
    }
    // The cgroup also holds what left the process group (setsid, double forks): it goes too.
    await r.cgroup?.destroy().catch((err) => this.log.warn('cannot remove the container\'s cgroup', { containerId, err }));
    this.running.delete(containerId);
  }

  /**
   * Its cgroup's accounting where it has one (it sees what left the process group too);
   * what the cgroup does not account for (no cpuacct, no cgroups at all) from /proc.
   */
  usage(containerId: string): Promise<ContainerUsage> {
    const r = this.running.get(containerId);
    if (!r || r.done) return Promise.reject(new UsageError(`process container ${containerId} is not running`));
    const measured: ContainerUsage = r.cgroup?.usage() ?? {};
    const complete = measured.cpusUserTimeSecs !== undefined && measured.memRssBytes !== undefined && measured.processes !== undefined;
    return Promise.resolve(complete ? measured : { ...processGroupUsage(r.pgid), ...measured });
  }

  /** A command beside the task: in its sandbox, with its environment plus `opts.env`. */
  exec(containerId: string, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    const r = this.running.get(containerId);
    if (!r || r.done) return Promise.reject(new Error(`process container ${containerId} is not running`));
    const [file, ...args] = argv as [string, ...string[]];
    return new Promise<ExecResult>((resolve, reject) => {
      // A group of its own, so a timed-out check is killed with whatever it started.
      const child = spawn(file, args, { cwd: r.cwd, env: { ...r.env, ...opts.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...r.runAs });
      let output = '';
      const keep = (chunk: Buffer) => { if (output.length < EXEC_OUTPUT_MAX) output = (output + chunk.toString()).slice(0, EXEC_OUTPUT_MAX); };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const abort = () => { if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL'); };
      opts.signal.addEventListener('abort', abort, { once: true });
      child.once('error', (e) => { opts.signal.removeEventListener('abort', abort); reject(e); });
      child.once('close', (code) => {
        opts.signal.removeEventListener('abort', abort);
        if (opts.signal.aborted) reject(new Error('aborted'));
        else resolve({ exitCode: code ?? undefined, output });
      });
    });
  }

  list(): Promise<string[]> {
    return Promise.resolve([...this.running.keys()]);
  }

  async destroyAll(gracePeriodMs: number): Promise<void> {
    const ids = [...this.running.keys()];
    await Promise.all(ids.map((id) => this.kill(id, gracePeriodMs)));
    await Promise.all(ids.map(async (id) => {
      await this.running.get(id)?.exited;
      await this.destroy(id);
    }));
  }
}

/** Resolves once the child runs; a LaunchError when it could not be started. */
function spawned(child: ChildProcess, file: string, later: (e: Error) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let started = false;
    child.once('spawn', () => { started = true; resolve(); });
    // Kept for the child's whole life: an 'error' event without a listener would crash the agent.
    child.on('error', (e) => {
      if (!started) reject(new LaunchError(`cannot start '${file}': ${e.message}`, { cause: e }));
      else later(e);
    });
  });
}
