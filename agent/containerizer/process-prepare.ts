/**
 * What a process task needs before its command starts, each a launch failure that names the
 * problem when it cannot be had: a command, the user it runs as (and the right to switch to
 * it), a working directory it may write in, its environment, the binary itself, its limits.
 */
import { accessSync, chownSync, constants, mkdirSync, statSync } from 'fs';
import { delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'path';
import { scalar } from '../../common/resources';
import type { CgroupLimits } from './cgroups';
import { commandLine, LaunchError, type LaunchSpec } from './containerizer';
import { lookupUser, userSwitchProblem, type UserAccount } from './users';
import { workingDirectory } from './volumes';

/** The agent's own environment is not handed down (it may hold secrets); only these are. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];

const MB = 1024 * 1024;

export interface PreparedLaunch {
  file: string;
  args: string[];
  user: UserAccount | undefined;
  cwd: string;
  env: Record<string, string>;
  /** Who the command runs as, when not the agent: commands beside it (health checks) run as the same. */
  runAs: { uid: number; gid: number } | undefined;
}

/**
 * Checks the task and readies what its command needs, in this order: command, volumes, user,
 * working directory, the run's directory for the exit status, environment, executable.
 * `agentUid`: the agent's own user; `defaultUser`: who a task naming none runs as.
 */
export async function prepareLaunch(spec: LaunchSpec, agentUid: number, defaultUser: string): Promise<PreparedLaunch> {
  const argv = commandLine(spec.task);
  if (!argv) throw new LaunchError('the task has no command: set command.value (shell) or command.argv (exec)');
  if ((spec.task.container.volumes ?? []).length > 0) {
    throw new LaunchError('volumes need the Docker containerizer: a process task runs in the agent\'s own filesystem, with its sandbox as its directory');
  }
  const [file, ...args] = argv as [string, ...string[]];
  const userName = spec.task.command.user || defaultUser;
  const user = userName ? await lookupUser(userName) : undefined;
  if (user) {
    const problem = userSwitchProblem(agentUid, user);
    if (problem) throw new LaunchError(problem);
  }
  const cwd = prepareWorkingDirectory(spec, user);
  // The supervisor runs as the task's user and leaves the exit status in the run's directory.
  if (user && user.uid !== agentUid && spec.exitStatusFile) giveRunDir(dirname(spec.exitStatusFile), user);
  const env = taskEnvironment(spec, user);
  // Under the supervisor a missing binary would only show as the shell's exit code 127:
  // look for it first, so it stays a launch failure.
  const missing = executableProblem(file, cwd, env.PATH ?? '');
  if (missing) throw new LaunchError(`cannot start '${file}': ${missing}`);
  const runAs = user && user.uid !== agentUid ? { uid: user.uid, gid: user.gid } : undefined;
  return { file, args, user, cwd, env, runAs };
}

/** A few of the agent's variables, the user's own, then the agent's and the task's (the task's win). */
function taskEnvironment(spec: LaunchSpec, user: UserAccount | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
  if (user) Object.assign(env, { HOME: user.home, USER: user.name, LOGNAME: user.name });
  Object.assign(env, spec.env, spec.task.command.environment, spec.task.command.secrets);
  return env;
}

/** The task's cpus and mem as cgroup limits; what it does not ask for is not limited. */
export function limitsOf(spec: LaunchSpec): CgroupLimits {
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

/** The run's own directory (the exit status goes there), given to the task's user. */
function giveRunDir(dir: string, user: UserAccount): void {
  try {
    mkdirSync(dir, { recursive: true });
    chownSync(dir, user.uid, user.gid);
  } catch (e) {
    throw new LaunchError(`cannot give the run's directory ${dir} to user '${user.name}': ${(e as Error).message}`, { cause: e });
  }
}
