/**
 * The process containerizer: the task's command as a plain child process, for machines
 * without Docker and for tasks that ask for PROCESS. No resource limits are enforced (like
 * Mesos's POSIX isolation); the command runs in its sandbox directory, in a process group
 * of its own, so a kill or a cleanup reaches every process it started, not just the shell.
 *
 * The command runs under a small supervising shell (`SUPERVISOR`), the group's leader, which
 * writes the command's exit status to a file before ending the same way the command did. An
 * agent that was restarted meanwhile is no longer the parent and cannot wait for the
 * process: it finds the run again by its pid and start time, and reads how it ended from
 * that file.
 */
import { spawn, type ChildProcess } from 'child_process';
import { accessSync, closeSync, constants as fsConstants, openSync, readFileSync, watch, type FSWatcher } from 'fs';
import { constants as osConstants } from 'os';
import { dirname, basename, isAbsolute, join, resolve } from 'path';
import { systemClock, type Clock, type Timer } from '../../common/clock';
import { logger, type Logger } from '../../common/log';
import {
  commandLine, EXEC_OUTPUT_MAX, LaunchError, type Containerizer, type ExecOptions, type ExecResult, type LaunchSpec,
  type RecoverSpec, type Recovered, type RunIdentity, type Termination,
} from './containerizer';

interface Running {
  /** Undefined for a run recovered after an agent restart: the agent is not its parent. */
  child: ChildProcess | undefined;
  pgid: number;
  exited: Promise<Termination>;
  done: boolean;
  escalation: Timer | undefined;
  /** The task's environment and directory, for commands run beside it. */
  env: Record<string, string>;
  cwd: string;
}

/**
 * `sh -c SUPERVISOR agora-run <exit-status-file> <command...>`: runs the command as a child,
 * waits for it (again after a TERM it forwards, which interrupts `wait`), writes its status
 * atomically, then exits with the same code, or kills itself with the same signal, so that a
 * parent agent sees exactly how the command ended.
 */
const SUPERVISOR = [
  'status_file=$1; shift',
  "trap 'kill -TERM \"$child\" 2>/dev/null' TERM",
  '"$@" &',
  'child=$!',
  'while :; do wait "$child"; s=$?; kill -0 "$child" 2>/dev/null || break; done',
  'if [ -n "$status_file" ]; then echo "$s" > "$status_file.tmp" && mv -f "$status_file.tmp" "$status_file"; fi',
  'trap - TERM',
  'if [ "$s" -gt 128 ]; then kill -$((s - 128)) $$; fi',
  'exit "$s"',
].join('\n');

/** The agent's own environment is not handed down (it may hold secrets); only these are. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];

export class ProcessContainerizer implements Containerizer {
  readonly kind = 'process' as const;
  private readonly running = new Map<string, Running>();
  private readonly log: Logger;
  // Kill escalation waits on a real process, so it runs on real time unless told otherwise.
  private readonly clock: Clock;

  constructor(opts: { clock?: Clock; log?: Logger } = {}) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? logger('agent/process');
  }

  async launch(spec: LaunchSpec): Promise<RunIdentity> {
    const argv = commandLine(spec.task);
    if (!argv) throw new LaunchError('the task has no command: set command.value (shell) or command.argv (exec)');
    const [file] = argv as [string, ...string[]];
    const env: Record<string, string> = {};
    for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
    Object.assign(env, spec.env, spec.task.command.environment);
    // Under the supervisor a missing program would be an exit 127; say it plainly instead.
    const missing = notExecutable(file, env.PATH ?? '', spec.sandboxDir);
    if (missing) throw new LaunchError(missing);

    const out = openSync(join(spec.sandboxDir, 'stdout'), 'a');
    const err = openSync(join(spec.sandboxDir, 'stderr'), 'a');
    let child: ChildProcess;
    try {
      // The child writes straight into the sandbox files: nothing is buffered in the agent,
      // and the output survives an agent restart.
      child = spawn('/bin/sh', ['-c', SUPERVISOR, 'agora-run', spec.exitStatusFile ?? '', ...argv],
        { cwd: spec.sandboxDir, env, detached: true, stdio: ['ignore', out, err] });
    } catch (e) {
      throw new LaunchError(`cannot start '${file}': ${(e as Error).message}`, { cause: e });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    await new Promise<void>((resolve, reject) => {
      let spawned = false;
      child.once('spawn', () => { spawned = true; resolve(); });
      // Kept for the child's whole life: an 'error' event without a listener would crash the agent.
      child.on('error', (e) => {
        if (!spawned) reject(new LaunchError(`cannot start '${file}': ${e.message}`, { cause: e }));
        else this.log.warn('process container error', { containerId: spec.containerId, err: e });
      });
    });
    const pid = child.pid;
    if (pid === undefined) throw new LaunchError(`cannot start '${file}': no process id`);
    const entry: Running = { child, pgid: pid, done: false, escalation: undefined, env, cwd: spec.sandboxDir, exited: undefined as unknown as Promise<Termination> };
    entry.exited = new Promise<Termination>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        this.ended(entry);
        resolve(code === null ? { exitCode: undefined, signal: signal ?? undefined } : { exitCode: code });
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
      return Promise.resolve({ state: 'exited', termination: status });
    }
    if (alive) {
      // Its environment, for health-check commands, is the one it was started with.
      const entry: Running = {
        child: undefined, pgid: pid, done: false, escalation: undefined, env: environOf(pid), cwd: spec.sandboxDir,
        exited: undefined as unknown as Promise<Termination>,
      };
      entry.exited = this.watchExit(entry, spec).then((t) => { this.ended(entry); return t; });
      this.running.set(spec.containerId, entry);
      return Promise.resolve({ state: 'running' });
    }
    return Promise.resolve({
      state: 'missing',
      why: pid === undefined ? 'no process was recorded for it' : `process ${pid} is gone and left no exit status (it was killed outright, or the machine restarted)`,
    });
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
    this.running.delete(containerId);
  }

  /** A command beside the task: in its sandbox, with its environment plus `opts.env`. */
  exec(containerId: string, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    const r = this.running.get(containerId);
    if (!r || r.done) return Promise.reject(new Error(`process container ${containerId} is not running`));
    const [file, ...args] = argv as [string, ...string[]];
    return new Promise<ExecResult>((resolve, reject) => {
      // A group of its own, so a timed-out check is killed with whatever it started.
      const child = spawn(file, args, { cwd: r.cwd, env: { ...r.env, ...opts.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Why `file` cannot be run (looked up in `path` when it has no slash), or undefined when it can. */
function notExecutable(file: string, path: string, cwd: string): string | undefined {
  const runnable = (p: string): boolean => {
    try {
      accessSync(p, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (file.includes('/')) {
    return runnable(isAbsolute(file) ? file : resolve(cwd, file)) ? undefined : `cannot start '${file}': no such executable file`;
  }
  for (const dir of path.split(':').filter(Boolean)) if (runnable(join(dir, file))) return undefined;
  return `cannot start '${file}': not found in PATH (${path || 'empty'})`;
}

/** When the process started, in clock ticks since boot (/proc/<pid>/stat field 22); undefined if it is gone. */
export function startTicks(pid: number): number | undefined {
  const stat = procStat(pid);
  return stat?.startTicks;
}

function procStat(pid: number): { state: string; startTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name, field 2, is in parentheses and may hold spaces: count from after it.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(rest[19]);
  return Number.isFinite(startTicks) ? { state: rest[0] ?? '', startTicks } : undefined;
}

/** The process exists, is not a zombie, and is the one that started at `startTicks`. */
function isAlive(pid: number, startTicksWanted: number | undefined): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && (startTicksWanted === undefined || stat.startTicks === startTicksWanted);
}

/** The status the supervisor wrote: an exit code, or 128 + n for death by signal n. */
export function readExitStatus(file: string): Termination | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  const s = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(s)) return undefined;
  if (s > 128) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === s - 128)?.[0];
    return { exitCode: undefined, signal: name ?? `signal ${s - 128}` };
  }
  return { exitCode: s };
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
