/**
 * What a task's launch asks of its agent's host, and whether the framework's principal may
 * ask it. Pure: a task in, its needs and the first refusal out.
 *
 * Secure defaults, as Nomad's: anything that reaches past the container needs a grant.
 *   - `privileged`: a privileged container, or a mount of the Docker socket. Whoever can talk
 *     to dockerd is root on the host, so mounting the socket (or a directory holding it, such
 *     as /run or /) is as privileged as a privileged container.
 *   - `host_network`: a Docker container in the host's network namespace (network HOST).
 *   - `host_volumes`: every absolute host path a volume mounts, each checked on its own. A
 *     relative host path is a directory in the task's sandbox (see Volume in common/types.ts)
 *     and needs nothing; one that climbs out of the sandbox with `..` is refused outright.
 *   - `run_tasks`: the effective user (the task's, else the default user) always, root
 *     included: uid 0 written as `root`, `0` or `0:<group>` is asked about as `root`, so a
 *     grant cannot be dodged by spelling.
 *
 * Not seen here: symbolic links on the host. A granted prefix that holds a link to elsewhere
 * grants elsewhere; grant host paths the operator controls.
 */
import { AssertionError } from 'node:assert';
import { posix } from 'node:path';
import type { CommandInfo, ContainerInfo } from '../types';
import { authorize, cleanAbsolutePath, isWithin, PermissionDenied, type Acls, type Action, type Principal } from './acl';

/** What the policy reads of a TaskInfo. */
export interface LaunchRequest {
  readonly command: Pick<CommandInfo, 'user'>;
  readonly container: Pick<ContainerInfo, 'volumes' | 'docker'>;
}

export interface Needs {
  /**
   * ContainerInfo has no `privileged` flag yet, so today only a Docker-socket mount sets
   * this; the field is here so that the flag is one line to wire.
   */
  privileged: boolean;
  hostNetwork: boolean;
  /** Clean absolute host paths, in volume order, without duplicates. */
  hostPaths: string[];
  /** The run_tasks object: the effective user, with every uid-0 spelling made `root`. */
  user: string;
}

/** A volume whose host path no ACL should be asked about. */
export class HostPathError extends Error {
  override readonly name = 'HostPathError';
  constructor(readonly volumeIndex: number, readonly hostPath: string, problem: string) {
    super(`volume ${volumeIndex} (hostPath ${JSON.stringify(hostPath)}): ${problem}`);
  }
}

const DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];

/** Every permission launching `task` needs. Throws HostPathError for a path it cannot judge. */
export function containerNeeds(task: LaunchRequest, defaultUser: string): Needs {
  const hostPaths: string[] = [];
  (task.container.volumes ?? []).forEach((v, i) => {
    // An empty hostPath is not a mount of anything; the agent refuses it when it validates volumes.
    if (v.hostPath === '') return;
    if (v.hostPath.includes('\0')) throw new HostPathError(i, v.hostPath, 'a path may not contain NUL');
    if (!v.hostPath.startsWith('/')) {
      if (climbsOut(v.hostPath)) {
        throw new HostPathError(i, v.hostPath, `this relative path leads out of the sandbox; use a path inside it (e.g. data) or an absolute host path`);
      }
      return; // in the sandbox
    }
    const clean = cleanAbsolutePath(v.hostPath) as string; // absolute and NUL-free, checked above
    if (!hostPaths.includes(clean)) hostPaths.push(clean);
  });
  const socket = hostPaths.some((p) => DOCKER_SOCKETS.some((s) => isWithin(p, s) || isWithin(s, p)));
  return {
    privileged: socket,
    hostNetwork: task.container.docker?.network === 'HOST',
    hostPaths,
    user: userObject(task.command.user || defaultUser),
  };
}

export type LaunchRefusal = PermissionDenied | HostPathError;

/**
 * The first thing `principal` may not do to launch `task`, or undefined when it may do all.
 * Order: the user, privileged, host network, then each host path; so the refusal a framework
 * sees is the same on every attempt.
 */
export function launchRefusal(acls: Acls, principal: Principal, task: LaunchRequest, defaultUser: string): LaunchRefusal | undefined {
  let needs: Needs;
  try {
    needs = containerNeeds(task, defaultUser);
  } catch (err) {
    if (err instanceof HostPathError) return err;
    throw err;
  }
  const asks: [Action, string | undefined][] = [['run_tasks', needs.user]];
  if (needs.privileged) asks.push(['privileged', undefined]);
  if (needs.hostNetwork) asks.push(['host_network', undefined]);
  for (const p of needs.hostPaths) asks.push(['host_volumes', p]);
  for (const [action, object] of asks) {
    const d = authorize(acls, action, principal, object);
    if (!d.allowed) return new PermissionDenied(principal, action, object, d.rule, d.why);
  }
  return undefined;
}

/** Throws the LaunchRefusal, if there is one. */
export function checkLaunch(acls: Acls, principal: Principal, task: LaunchRequest, defaultUser: string): void {
  const refusal = launchRefusal(acls, principal, task, defaultUser);
  if (refusal) throw refusal;
}

/** `0`, `0:0`, `root:wheel` → `root`; any other user as written (a group included). */
function userObject(user: string): string {
  // '' would leave the choice to the containerizer (Docker: the image's user, often root).
  if (user === '') throw new AssertionError({ message: 'the default user must not be empty' });
  const name = user.split(':', 1)[0] as string;
  return name === 'root' || /^0+$/.test(name) ? 'root' : user;
}

/** Whether a relative path ends above where it starts (`../x`, `a/../../x`). */
function climbsOut(rel: string): boolean {
  const n = posix.normalize(rel);
  return n === '..' || n.startsWith('../');
}
