/**
 * A containerizer runs one task's command in isolation and reports how it ended. The agent
 * sees only this interface; Docker and plain processes are two implementations of it.
 *
 * Life of a container: `launch` (resolves once the command is running, rejects with a
 * LaunchError if it could not be started) → `wait` (resolves once it exited, with how) →
 * `destroy` (removes whatever is left once the agent has taken its status). `kill` asks it
 * to stop: SIGTERM, then SIGKILL after the grace period.
 *
 * After an agent restart, `recover` finds a run again from its checkpoint: still running
 * (then `wait`, `kill` and `destroy` work as after a launch), ended while the agent was down
 * (with how it ended), or gone without a trace. `removeOrphans` then clears away what this
 * agent left running that no checkpoint claims.
 */
import type { TaskInfo } from '../../common/types';
import type { ContainerUsage } from './statistics';

export type ContainerizerKind = 'docker' | 'process';

export interface LaunchSpec {
  /** Unique per run of a task; names the container and the sandbox's run directory. */
  containerId: string;
  agentId: string;
  frameworkId: string;
  taskId: string;
  task: TaskInfo;
  /** The run's sandbox directory; it exists and holds `stdout` and `stderr`. */
  sandboxDir: string;
  /** Environment the agent adds (task id, sandbox, ports); the task's own entries win. */
  env: Record<string, string>;
  /** Where a process run leaves its exit status, so that a restarted agent can read it. */
  exitStatusFile?: string;
}

/** What the agent checkpoints about a launched run so that it can find it again. */
export interface RunIdentity {
  /** Process runs: the process group leader and its start time (clock ticks since boot). */
  pid?: number;
  pidStartTicks?: number;
}

export interface RecoverSpec extends RunIdentity {
  containerId: string;
  sandboxDir: string;
  exitStatusFile?: string;
}

export type Recovered =
  | { state: 'running' }
  | { state: 'exited'; termination: Termination }
  | { state: 'missing'; why: string };

export interface Termination {
  /** The exit code, or undefined when the command died of a signal. */
  exitCode: number | undefined;
  signal?: string;
  /** The kernel killed it for exceeding its memory limit. */
  oomKilled?: boolean;
}

/** How a command run inside a container ended (COMMAND health checks). */
export interface ExecResult {
  /** The exit code, or undefined when it died of a signal or its end could not be learnt. */
  exitCode: number | undefined;
  /** The start of what it wrote to stdout and stderr, for the check's message. */
  output: string;
}

export interface ExecOptions {
  /** Added to the task's environment. */
  env: Record<string, string>;
  /** Aborted when the caller stops waiting (the check timed out). */
  signal: AbortSignal;
}

/** At most this much of an exec's output is kept. */
export const EXEC_OUTPUT_MAX = 4096;

/** The command could not be started: the reason goes to the framework in TASK_FAILED. */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface Containerizer {
  readonly kind: ContainerizerKind;
  /** Resolves with what identifies the run for a later `recover`, once the command runs. */
  launch(spec: LaunchSpec): Promise<RunIdentity>;
  /** Resolves once the container exited and its output is flushed to the sandbox files. */
  wait(containerId: string): Promise<Termination>;
  /** SIGTERM, then SIGKILL after `gracePeriodMs`. Resolves once the signal is delivered, not at exit. */
  kill(containerId: string, gracePeriodMs: number): Promise<void>;
  /** Removes an exited container's remains (Docker container, stray processes). Idempotent. */
  destroy(containerId: string): Promise<void>;
  /**
   * Runs `argv` beside the task: in its container, with its environment and working
   * directory. Rejects when the container is not running or the command cannot start.
   */
  exec(containerId: string, argv: string[], opts: ExecOptions): Promise<ExecResult>;
  /**
   * What the running container uses now (statistics.ts). Rejects with a UsageError when it
   * is not running or its usage cannot be read.
   */
  usage(containerId: string): Promise<ContainerUsage>;
  /** The ids of the containers this containerizer runs for the agent. */
  list(): Promise<string[]>;
  /** Kills and removes every container of this agent: nothing is left behind on stop. */
  destroyAll(gracePeriodMs: number): Promise<void>;
  /** Finds a run of an earlier agent process again (see the top of this file). */
  recover(spec: RecoverSpec): Promise<Recovered>;
  /** Kills and removes this agent's containers that no recovered run claims; their ids. */
  removeOrphans(known: ReadonlySet<string>): Promise<string[]>;
}

/** The shell form runs through `/bin/sh -c`; the exec form runs argv as given. */
export function commandLine(task: TaskInfo): string[] | undefined {
  if (task.command.value !== '') return ['/bin/sh', '-c', task.command.value];
  if (task.command.argv.length > 0) return [...task.command.argv];
  return undefined;
}
