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
  close(): void;
}

/** Opens `dir` for a door; a missing or broken file is an error naming it, so a door never starts open by accident. */
export function openServerSecurity(dir: string, log: Logger): ServerSecurity {
  const paths = securityPaths(dir);
  const tls = readTls(paths.tls);
  const credentials = new LiveCredentials(paths.credentials, (err) => log.error('the credentials file changed but cannot be read; keeping the last good one', { error: err.message }));
  return { dir, credentials, tls, close: () => credentials.close() };
}
