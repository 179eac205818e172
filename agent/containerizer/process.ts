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
 * The command runs under a small supervising shell (`SUPERVISOR`), the group's leader, which
 * writes the command's exit status to a file before ending the same way the command did. An
 * agent that was restarted meanwhile is no longer the parent and cannot wait for the
 * process: it finds the run again by its pid and start time, and reads how it ended from
 * that file.
 */
import { spawn, type ChildProcess } from 'child_process';
import { accessSync, chownSync, closeSync, constants, mkdirSync, openSync, readFileSync, statSync, watch, type FSWatcher } from 'fs';
import { constants as osConstants } from 'os';
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'path';
import { systemClock, type Clock, type Timer } from '../../common/clock';
import { logger, type Logger } from '../../common/log';
import { scalar } from '../../common/resources';
import type { CgroupLimits, Cgroups, ContainerCgroup } from './cgroups';
import { processGroupUsage, readProcStat } from './procfs';
import { UsageError, type ContainerUsage } from './statistics';
import {
  commandLine, EXEC_OUTPUT_MAX, LaunchError, type Containerizer, type ExecOptions, type ExecResult, type LaunchSpec,
  type RecoverSpec, type Recovered, type RunIdentity, type Termination,
} from './containerizer';
import { lookupUser, userSwitchProblem, type UserAccount } from './users';
import { workingDirectory } from './volumes';

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

/** The agent's own environment is not handed down (it may hold secrets); only these are. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];

const MB = 1024 * 1024;

/** Who a process task runs as on an agent running as root, when it names nobody else. */
export { DEFAULT_TASK_USER } from '../../common/security/defaults';
import { DEFAULT_TASK_USER } from '../../common/security/defaults';

/**
 * `perl -e SUPERVISOR <gate> <exit-status-file> <command...>`: the process group's leader.
 * It runs the command as its child and waits for it; a SIGTERM (the agent signals the whole
 * group, so the command has it too) does not stop it from waiting. Then it
 * writes how the command ended (`exit N` or `signal N`) to the exit-status file, ends the same
 * way itself, so that a parent agent sees exactly how the command ended and a restarted one
 * can read it. Perl is part of every Debian system (perl-base is essential); a shell could
 * not tell `exit 137` from death by SIGKILL.
 *
 * With `gate` 1 it first waits for one line on stdin: that is how a command gets into its
 * cgroup before it runs. Node's spawn has no hook between fork and exec, and having the child
 * write its own pid into cgroup.procs would need the task's user to own cgroup files (and, on
 * v2, the agent's own cgroup). So the agent moves the supervisor into the cgroup, then sends
 * the line; the command, started after, is born inside. If the agent dies first, the pipe
 * closes and the command never runs.
 */
const SUPERVISOR = [
  'my ($gate, $file, @cmd) = @ARGV;',
  'if ($gate) { my $line = <STDIN>; exit 127 unless defined $line; }',
  'open(STDIN, \'<\', \'/dev/null\');',
  'my $pid = fork();',
  'exit 127 unless defined $pid;',
  'if ($pid == 0) { exec { $cmd[0] } @cmd; print STDERR "cannot start \'$cmd[0]\': $!\\n"; exit 127; }',
  '$SIG{TERM} = sub {};',
  'while (waitpid($pid, 0) != $pid) {}',
  'my $st = $?;',
  'my $sig = $st & 127;',
  'if ($file ne \'\' && open(my $f, \'>\', "$file.tmp")) { print $f ($sig ? "signal $sig" : \'exit \' . ($st >> 8)), "\\n"; close($f); rename("$file.tmp", $file); }',
  'if ($sig) { $SIG{TERM} = \'DEFAULT\'; kill $sig, $$; }',
  'exit($sig ? 128 + $sig : $st >> 8);',
].join('\n');

/** The supervisor's interpreter: `SUPERVISOR` is written for it. */
export const PERL = '/usr/bin/perl';

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
    const argv = commandLine(spec.task);
    if (!argv) throw new LaunchError('the task has no command: set command.value (shell) or command.argv (exec)');
    if ((spec.task.container.volumes ?? []).length > 0) {
      throw new LaunchError('volumes need the Docker containerizer: a process task runs in the agent\'s own filesystem, with its sandbox as its directory');
    }
    const [file, ...args] = argv as [string, ...string[]];
    const userName = spec.task.command.user || this.defaultUser;
    const user = userName ? await lookupUser(userName) : undefined;
    if (user) {
      const problem = userSwitchProblem(this.uid, user);
      if (problem) throw new LaunchError(problem);
    }
    const cwd = prepareWorkingDirectory(spec, user);
    // The supervisor runs as the task's user and leaves the exit status in the run's directory.
    if (user && user.uid !== this.uid && spec.exitStatusFile) giveRunDir(dirname(spec.exitStatusFile), user);
    const env: Record<string, string> = {};
    for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
    if (user) Object.assign(env, { HOME: user.home, USER: user.name, LOGNAME: user.name });
    Object.assign(env, spec.env, spec.task.command.environment, spec.task.command.secrets);
    const switchTo = user && user.uid !== this.uid ? { uid: user.uid, gid: user.gid } : {};

    // Under the supervisor a missing binary would only show as the shell's exit code 127:
    // look for it first, so it stays a launch failure.
    const missing = executableProblem(file, cwd, env.PATH ?? '');
    if (missing) throw new LaunchError(`cannot start '${file}': ${missing}`);
    let cgroup: ContainerCgroup | undefined;
    if (this.cgroups) {
      try {
        cgroup = this.cgroups.create(spec.containerId, limitsOf(spec));
      } catch (e) {
        throw new LaunchError(`cannot set up the container's cgroup: ${(e as Error).message}`, { cause: e });
      }
    }
    const cmdArgs = ['-e', SUPERVISOR, cgroup ? '1' : '0', spec.exitStatusFile ?? '', file, ...args];

    const out = openSync(join(spec.sandboxDir, 'stdout'), 'a');
    const err = openSync(join(spec.sandboxDir, 'stderr'), 'a');
    let child: ChildProcess;
    try {
      // The child writes straight into the sandbox files: nothing is buffered in the agent,
      // and the output survives an agent restart.
      child = spawn(PERL, cmdArgs, { cwd, env, detached: true, stdio: [cgroup ? 'pipe' : 'ignore', out, err], ...switchTo });
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
    const runAs = user && user.uid !== this.uid ? { uid: user.uid, gid: user.gid } : undefined;
    const entry: Running = { child, pgid: pid, done: false, escalation: undefined, cgroup, env, cwd, runAs, exited: undefined as unknown as Promise<Termination> };
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
    this.running.set(spec.containerId, entry);
    const pidStartTicks = startTicks(pid);
    return pidStartTicks === undefined ? { pid } : { pid, pidStartTicks };
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
      entry.exited = this.watchExit(entry, spec).then((t) => {
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

  /**
   * Resolves once a recovered process has ended: told by its exit-status file appearing (a
   * watch on its directory), with a slow check of the process as a fallback for a supervisor
   * that was killed outright and wrote nothing.
   */
  private watchExit(entry: Running, spec: RecoverSpec): Promise<Termination> {
    return new Promise<Termination>((done) => {
      let watcher: FSWatcher | undefined;
      let poll: NodeJS.Timeout | undefined;
      const check = () => {
        if (isAlive(entry.pgid, spec.pidStartTicks)) return;
        watcher?.close();
        if (poll) clearInterval(poll);
        poll = undefined;
        watcher = undefined;
        const status = spec.exitStatusFile ? readExitStatus(spec.exitStatusFile) : undefined;
        done(status ?? { exitCode: undefined, signal: 'unknown (the process ended without leaving its exit status)' });
      };
      if (spec.exitStatusFile) {
        try {
          const name = basename(spec.exitStatusFile);
          watcher = watch(dirname(spec.exitStatusFile), (_event, file) => {
            // The supervisor writes the file just before it exits: look again until it is gone.
            if (file === name) for (const ms of [0, 10, 50, 200]) setTimeout(check, ms).unref();
          });
        } catch (err) {
          this.log.warn('cannot watch for the exit of a recovered process; checking every second', { pid: entry.pgid, err });
        }
      }
      poll = setInterval(check, 1000);
      poll.unref();
      check();
    });
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

/** When the process started, in clock ticks since boot (/proc/<pid>/stat field 22); undefined if it is gone. */
export function startTicks(pid: number): number | undefined {
  return readProcStat(pid)?.startTicks;
}

/** The process exists, is not a zombie, and is the one that started at `startTicks`. */
function isAlive(pid: number, startTicksWanted: number | undefined): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && (startTicksWanted === undefined || stat.startTicks === startTicksWanted);
}

/** How the command ended, as the supervisor wrote it: `exit N` or `signal N`. */
export function readExitStatus(file: string): Termination | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  const m = /^(exit|signal) (\d+)$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[2]);
  if (m[1] === 'exit') return { exitCode: n };
  const name = Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0];
  return { exitCode: undefined, signal: name ?? `signal ${n}` };
}

/** The user a recovered task's process runs as, when not the agent's (the owner of its /proc entry). */
function ownerOf(pid: number, agentUid: number): { uid: number; gid: number } | undefined {
  try {
    const st = statSync(`/proc/${pid}`);
    return st.uid === agentUid ? undefined : { uid: st.uid, gid: st.gid };
  } catch {
    return undefined;
  }
}

/** The run's own directory (the exit status goes there), given to the task's user. */
function giveRunDir(dir: string, user: UserAccount): void {
  try {
    mkdirSync(dir, { recursive: true });
    chownSync(dir, user.uid, user.gid);
  } catch (e) {
    throw new LaunchError(`cannot give the run's directory ${dir} to user '${user.name}': ${(e as Error).message}`, { cause: e });
  }
}

/** The environment a process was started with (/proc/<pid>/environ); empty if unreadable. */
function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } catch {
    // gone, or not ours to read: commands beside it get no task environment
  }
  return env;
}
