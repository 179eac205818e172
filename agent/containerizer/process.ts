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
 */
import { spawn, type ChildProcess } from 'child_process';
import { accessSync, chownSync, closeSync, constants, mkdirSync, openSync, statSync } from 'fs';
import { delimiter, isAbsolute, join, relative, resolve, sep } from 'path';
import { systemClock, type Clock, type Timer } from '../../common/clock';
import { logger, type Logger } from '../../common/log';
import { scalar } from '../../common/resources';
import type { CgroupLimits, Cgroups, ContainerCgroup } from './cgroups';
import { commandLine, LaunchError, type Containerizer, type LaunchSpec, type Termination } from './containerizer';
import { lookupUser, userSwitchProblem, type UserAccount } from './users';
import { workingDirectory } from './volumes';

interface Running {
  child: ChildProcess;
  pgid: number;
  exited: Promise<Termination>;
  done: boolean;
  escalation: Timer | undefined;
  cgroup: ContainerCgroup | undefined;
}

export interface ProcessContainerizerOptions {
  clock?: Clock;
  log?: Logger;
  /** Limits through cgroups; none: the commands run without limits. */
  cgroups?: Cgroups;
  /** The agent's own uid (tests may pretend another). */
  uid?: number;
}

/** The agent's own environment is not handed down (it may hold secrets); only these are. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];

const MB = 1024 * 1024;

/**
 * Gets a command into its cgroup before it runs. Node's spawn has no hook between fork and
 * exec, and having the child write its own pid into cgroup.procs would need the task's user
 * to own cgroup files (and, on v2, the agent's own cgroup). So the child is a shell that
 * waits for one line on stdin: the agent moves its pid into the cgroup, then sends the line,
 * and the shell execs the command with stdin back on /dev/null. If the agent dies first,
 * the pipe closes and the command never runs.
 */
const CGROUP_GATE = 'read -r _ || exit 127; exec "$@" </dev/null';

export class ProcessContainerizer implements Containerizer {
  readonly kind = 'process' as const;
  private readonly running = new Map<string, Running>();
  private readonly log: Logger;
  // Kill escalation waits on a real process, so it runs on real time unless told otherwise.
  private readonly clock: Clock;
  private readonly cgroups: Cgroups | undefined;
  private readonly uid: number;

  constructor(opts: ProcessContainerizerOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? logger('agent/process');
    this.cgroups = opts.cgroups;
    this.uid = opts.uid ?? process.getuid?.() ?? 0;
  }

  async launch(spec: LaunchSpec): Promise<void> {
    const argv = commandLine(spec.task);
    if (!argv) throw new LaunchError('the task has no command: set command.value (shell) or command.argv (exec)');
    if ((spec.task.container.volumes ?? []).length > 0) {
      throw new LaunchError('volumes need the Docker containerizer: a process task runs in the agent\'s own filesystem, with its sandbox as its directory');
    }
    const [file, ...args] = argv as [string, ...string[]];
    const user = spec.task.command.user ? await lookupUser(spec.task.command.user) : undefined;
    if (user) {
      const problem = userSwitchProblem(this.uid, user);
      if (problem) throw new LaunchError(problem);
    }
    const cwd = prepareWorkingDirectory(spec, user);
    const env: Record<string, string> = {};
    for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
    if (user) Object.assign(env, { HOME: user.home, USER: user.name, LOGNAME: user.name });
    Object.assign(env, spec.env, spec.task.command.environment);
    const switchTo = user && user.uid !== this.uid ? { uid: user.uid, gid: user.gid } : {};

    let cgroup: ContainerCgroup | undefined;
    if (this.cgroups) {
      // Behind the gate a missing binary would only show as the shell's exit code 127:
      // look for it first, so it stays a launch failure.
      const missing = executableProblem(file, cwd, env.PATH ?? '');
      if (missing) throw new LaunchError(`cannot start '${file}': ${missing}`);
      try {
        cgroup = this.cgroups.create(spec.containerId, limitsOf(spec));
      } catch (e) {
        throw new LaunchError(`cannot set up the container's cgroup: ${(e as Error).message}`, { cause: e });
      }
    }
    const [cmd, cmdArgs] = cgroup ? ['/bin/sh', ['-c', CGROUP_GATE, 'agora-cgroup-gate', file, ...args]] : [file, args];

    const out = openSync(join(spec.sandboxDir, 'stdout'), 'a');
    const err = openSync(join(spec.sandboxDir, 'stderr'), 'a');
    let child: ChildProcess;
    try {
      // The child writes straight into the sandbox files: nothing is buffered in the agent,
      // and the output survives an agent restart.
      child = spawn(cmd, cmdArgs, { cwd, env, detached: true, stdio: [cgroup ? 'pipe' : 'ignore', out, err], ...switchTo });
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
    const pid = child.pid!;
    const entry: Running = { child, pgid: pid, done: false, escalation: undefined, cgroup, exited: undefined as unknown as Promise<Termination> };
    entry.exited = new Promise<Termination>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        entry.escalation?.cancel();
        // What the shell left running in its group goes with it; after this the group id
        // may be reused by the system, so it is never signalled again.
        signalGroup(entry.pgid, 'SIGKILL');
        entry.done = true;
        const oomKilled = entry.cgroup?.oomKilled() ?? false;
        const how = code === null ? { exitCode: undefined, signal: signal ?? undefined } : { exitCode: code };
        resolve(oomKilled ? { ...how, oomKilled } : how);
      };
      if (child.exitCode !== null || child.signalCode !== null) finish(child.exitCode, child.signalCode);
      else child.once('exit', finish);
    });
    this.running.set(spec.containerId, entry);
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

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
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

function limitsOf(spec: LaunchSpec): CgroupLimits {
  const cpus = scalar(spec.task.resources, 'cpus');
  const mem = scalar(spec.task.resources, 'mem');
  return { ...(cpus > 0 ? { cpus } : {}), ...(mem > 0 ? { memBytes: Math.round(mem * MB) } : {}) };
}

/**
 * The directory the command starts in, made when it is a missing one inside the sandbox and
 * owned by the task's user, who must be able to write there as in the sandbox itself.
 */
function prepareWorkingDirectory(spec: LaunchSpec, user: UserAccount | undefined): string {
  const given = spec.task.command.workingDirectory;
  const cwd = workingDirectory(spec.sandboxDir, given);
  if (cwd === undefined) throw new LaunchError(`command.workingDirectory '${given}' leads out of the sandbox; use a path inside it or an absolute one`);
  const inSandbox = cwd === spec.sandboxDir || cwd.startsWith(spec.sandboxDir + sep);
  if (inSandbox) {
    try {
      mkdirSync(cwd, { recursive: true });
      if (user) chownPath(spec.sandboxDir, cwd, user);
    } catch (e) {
      throw new LaunchError(`cannot prepare the sandbox for user '${user?.name ?? ''}' in ${cwd}: ${(e as Error).message}`, { cause: e });
    }
  } else {
    let isDir = false;
    try {
      isDir = statSync(cwd).isDirectory();
    } catch {
      // Reported below.
    }
    if (!isDir) throw new LaunchError(`command.workingDirectory '${cwd}' is not a directory on this agent`);
  }
  return cwd;
}

/** Gives the sandbox (its output files, and every directory down to `cwd`) to the task's user. */
function chownPath(sandbox: string, cwd: string, user: UserAccount): void {
  for (const f of [sandbox, join(sandbox, 'stdout'), join(sandbox, 'stderr')]) chownSync(f, user.uid, user.gid);
  let dir = sandbox;
  for (const part of relative(sandbox, cwd).split(sep).filter(Boolean)) {
    dir = join(dir, part);
    chownSync(dir, user.uid, user.gid);
  }
}

/** Why `file` cannot be executed (as a path, or found on PATH), or undefined. */
function executableProblem(file: string, cwd: string, path: string): string | undefined {
  const candidates = file.includes('/') ? [isAbsolute(file) ? file : resolve(cwd, file)] : path.split(delimiter).filter(Boolean).map((d) => join(d, file));
  let seen = false;
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      seen = true;
      accessSync(c, constants.X_OK);
      return undefined;
    } catch {
      // Try the next one.
    }
  }
  if (seen) return 'EACCES: not executable';
  return file.includes('/') ? 'ENOENT: no such file' : `ENOENT: not found on PATH (${path})`;
}
