/**
 * The security flags every long-running `agora` process takes (master, agent, services, jobs):
 *
 *   --security-dir DIR   the credentials, ACLs and certificates (default ~/.agora, or AGORA_HOME)
 *   --insecure           open doors: no TLS, no credentials (a lab, never a network)
 *   --principal NAME     who this process is to the master, a user of the client config
 *
 * A process started without `--insecure` and without a security folder refuses to start:
 * it never opens its doors by accident.
 */
import { existsSync } from 'fs';
import type { Logger } from '../log';
import { agoraHome, clientIdentity, type ClientIdentity } from './client-config';
import { openServerSecurity, securityPaths, type ServerSecurity } from './security-dir';

export const SECURITY_FLAGS = { 'security-dir': 'string', insecure: 'boolean', principal: 'string' } as const;

export const SECURITY_USAGE = `  --security-dir DIR      credentials, ACLs and certificates (default $AGORA_HOME, else ~/.agora,
                          as agora up makes them)
  --insecure              no TLS and no credentials on this process's doors (never on a network)
  --principal NAME        who this process is to the master: a user of the client config
`;

export interface SecurityChoice {
  securityDir?: string;
  insecure?: boolean;
  principal?: string;
}

export class SecuritySetupError extends Error {
  override readonly name = 'SecuritySetupError';
}

export function securityChoice(f: { 'security-dir'?: string; insecure?: boolean; principal?: string }): SecurityChoice {
  if (f.insecure && f['security-dir'] !== undefined) throw new SecuritySetupError('--insecure and --security-dir contradict each other: choose one');
  return {
    ...(f['security-dir'] !== undefined ? { securityDir: f['security-dir'] } : {}),
    ...(f.insecure ? { insecure: true } : {}),
    ...(f.principal !== undefined ? { principal: f.principal } : {}),
  };
}

/** The doors' keys for this process, or undefined with `--insecure`. */
export function openDoors(choice: SecurityChoice, log: Logger): ServerSecurity | undefined {
  if (choice.insecure) {
    log.warn('running with --insecure: anyone who reaches this process may use it');
    return undefined;
  }
  const dir = choice.securityDir ?? agoraHome();
  if (!existsSync(securityPaths(dir).credentials)) {
    throw new SecuritySetupError(`no credentials in ${dir}: run \`agora up\` once (or copy a cluster's security folder here and pass --security-dir), or pass --insecure for open doors`);
  }
  return openServerSecurity(dir, log);
}

/**
 * The identity this process uses towards the master (and NATS): `--principal`'s user, else
 * `fallback`'s, else the config's current one; from `<security-dir>/config` when it exists.
 */
export function processIdentity(choice: SecurityChoice, fallback?: string): ClientIdentity | undefined {
  if (choice.insecure) return undefined;
  // The security folder's own config when it has one (a host set up by hand), else the usual one.
  const own = choice.securityDir !== undefined ? securityPaths(choice.securityDir).config : undefined;
  const path = own !== undefined && existsSync(own) ? own : undefined;
  const from = (user?: string) => clientIdentity({ ...(user !== undefined ? { user } : {}), ...(path ? { path } : {}) });
  if (choice.principal) {
    const id = from(choice.principal);
    if (!id) throw new SecuritySetupError(`the client config${path ? ` ${path}` : ''} has no user '${choice.principal}' (--principal)`);
    return id;
  }
  return (fallback !== undefined ? from(fallback) : undefined) ?? from();
}
