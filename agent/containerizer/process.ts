/**
 * The process containerizer: the task's command as a plain child process, for machines
 * without Docker and for tasks that ask for PROCESS. No resource limits are enforced (like
 * Mesos's POSIX isolation); the command runs in its sandbox directory, in a process group
 * of its own, so a kill or a cleanup reaches every process it started, not just the shell.
 */
import { spawn, type ChildProcess } from 'child_process';
import { closeSync, openSync } from 'fs';
import { join } from 'path';
import { systemClock, type Clock, type Timer } from '../../common/clock';
import { logger, type Logger } from '../../common/log';
import {
  commandLine, EXEC_OUTPUT_MAX, LaunchError, type Containerizer, type ExecOptions, type ExecResult, type LaunchSpec, type Termination,
} from './containerizer';

interface Running {
  child: ChildProcess;
  pgid: number;
  exited: Promise<Termination>;
  done: boolean;
  escalation: Timer | undefined;
  /** The task's environment and directory, for commands run beside it. */
  env: Record<string, string>;
  cwd: string;
}

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

  async launch(spec: LaunchSpec): Promise<void> {
    const argv = commandLine(spec.task);
    if (!argv) throw new LaunchError('the task has no command: set command.value (shell) or command.argv (exec)');
    const [file, ...args] = argv as [string, ...string[]];
    const env: Record<string, string> = {};
    for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
    Object.assign(env, spec.env, spec.task.command.environment);

    const out = openSync(join(spec.sandboxDir, 'stdout'), 'a');
    const err = openSync(join(spec.sandboxDir, 'stderr'), 'a');
    let child: ChildProcess;
    try {
      // The child writes straight into the sandbox files: nothing is buffered in the agent,
      // and the output survives an agent restart.
      child = spawn(file, args, { cwd: spec.sandboxDir, env, detached: true, stdio: ['ignore', out, err] });
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
        entry.escalation?.cancel();
        // What the shell left running in its group goes with it; after this the group id
        // may be reused by the system, so it is never signalled again.
        signalGroup(entry.pgid, 'SIGKILL');
        entry.done = true;
        resolve(code === null ? { exitCode: undefined, signal: signal ?? undefined } : { exitCode: code });
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
