/**
 * The security folder a door reads (`--security-dir`, by default `~/.agora`, as `agora up`
 * makes it):
 *
 *   credentials.json   principals and their secrets' digests (credentials.ts)
 *   acls.json          who may do what (acl.ts)
 *   tls/ca.crt         the cluster's CA, which clients trust
 *   tls/server.crt     this host's certificate and key (server.key), signed by the CA
 *   config             the client config of this machine's operator (client-config.ts)
 *
 * To run a door on another host, copy everything but `tls/ca.key` and `config`, and issue
 * that host a certificate (`agora credentials cert --name HOST`).
 */
import { join } from 'path';
import type { Logger } from '../log';
import { existsSync, readFileSync } from 'fs';
import { LiveFile } from './live-file';
import type { Acls } from './acl';
import { parseAcls } from './acl-parse';
import { LiveCredentials } from './credentials';
import { readTls, type TlsFiles } from './pki';

export const CREDENTIALS_FILE = 'credentials.json';
export const ACLS_FILE = 'acls.json';
export const TLS_DIR = 'tls';
export const CONFIG_FILE = 'config';

export const securityPaths = (dir: string) => ({
  credentials: join(dir, CREDENTIALS_FILE),
  acls: join(dir, ACLS_FILE),
  tls: join(dir, TLS_DIR),
  config: join(dir, CONFIG_FILE),
});

/** What a running door holds: live credentials and its TLS files. */
export interface ServerSecurity {
  readonly dir: string;
  readonly credentials: LiveCredentials;
  readonly tls: TlsFiles;
  /** The ACLs as last read; undefined where the folder has none (only the master needs them). */
  acls(): Acls | undefined;
  close(): void;
}

export class AclFileError extends Error {
  override readonly name = 'AclFileError';
}

export function readAcls(path: string): Acls {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AclFileError(`cannot read the ACLs in ${path}: ${(err as Error).message}`);
  }
  try {
    return parseAcls(json);
  } catch (err) {
    throw new AclFileError(`${path}: ${(err as Error).message}`);
  }
}

/** Opens `dir` for a door; a missing or broken file is an error naming it, so a door never starts open by accident. */
export function openServerSecurity(dir: string, log: Logger): ServerSecurity {
  const paths = securityPaths(dir);
  const tls = readTls(paths.tls);
  const credentials = new LiveCredentials(paths.credentials, (err) => log.error('the credentials file changed but cannot be read; keeping the last good one', { error: err.message }));
  // Only the master needs ACLs: a folder without them (an agent's, a framework's) has none to watch.
  const acls = existsSync(paths.acls)
    ? new LiveFile(paths.acls, readAcls, (err) => log.error('the ACL file changed but is not valid; keeping the last good one', { error: err.message }))
    : undefined;
  return { dir, credentials, tls, acls: () => acls?.get(), close: () => { credentials.close(); acls?.close(); } };
}
