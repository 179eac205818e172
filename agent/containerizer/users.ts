/**
 * Who a process task runs as. `command.user` names an account of the agent's host; the
 * agent looks it up (the passwd file, then `getent` for accounts from other NSS sources)
 * and starts the command with its uid and primary gid.
 */
import { execFile } from 'child_process';
import { readFile } from 'fs/promises';
import { LaunchError } from './containerizer';

export interface UserAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The entry for `name` in passwd-format text, or undefined. */
export function passwdEntry(text: string, name: string): UserAccount | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || f[0] !== name) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    return { name, uid, gid, home: f[5] ?? '/' };
  }
  return undefined;
}

/**
 * Why an agent running as `agentUid` cannot start a command as `target`, or undefined when
 * it can: only root may switch to another user.
 */
export function userSwitchProblem(agentUid: number, target: UserAccount): string | undefined {
  if (agentUid === 0 || agentUid === target.uid) return undefined;
  return `the agent runs as uid ${agentUid} and cannot start a task as '${target.name}' (uid ${target.uid}): only an agent running as root can switch users`;
}

/** Looks up `name` on this host; a LaunchError when no such account exists. */
export async function lookupUser(name: string, passwdFile = '/etc/passwd'): Promise<UserAccount> {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(name)) {
    throw new LaunchError(`command.user '${name}' is not a valid user name`);
  }
  const local = await readFile(passwdFile, 'utf8').then((t) => passwdEntry(t, name), () => undefined);
  if (local) return local;
  const nss = await new Promise<string>((resolve) => {
    execFile('getent', ['passwd', name], { timeout: 5_000 }, (err, stdout) => resolve(err ? '' : stdout));
  });
  const found = passwdEntry(nss, name);
  if (!found) throw new LaunchError(`command.user '${name}' is not a user on this agent (not in ${passwdFile} nor known to getent)`);
  return found;
}
