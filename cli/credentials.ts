/**
 * `agora credentials`: the cluster's principals, in the security folder (`--dir`, default
 * `~/.agora` or AGORA_HOME), as every door reads it.
 *
 *   init                              the CA, certificates, local principals and client config (as `agora up`)
 *   create operator NAME --role R     an operator (admin or viewer); prints its secret once
 *   create framework NAME             a framework principal; prints its secret once
 *   create agent NAME                 an agent's credential, with its NATS user (a JWT allowed only its own subjects)
 *   list [--json]                     who may knock (never a secret)
 *   revoke NAME                       gone at once: running doors re-read the file and cut its live streams;
 *                                     an agent's NATS user is revoked in the re-signed account, which the master sends to NATS
 *   nats-conf [--listen H:P] [--store DIR]
 *                                     a nats-server config for this cluster, for operators who run their own NATS
 *   cert --name HOST [--name …] --out DIR
 *                                     a certificate for another host, signed by the cluster's CA
 *
 * A created principal is also added to the client config as a user of its own name, so
 * `AGORA_USER=NAME agora …` speaks as it.
 */
import { copyFileSync, mkdirSync } from 'fs';
import { join } from 'path';
import { UsageError, parseArgs, type Parsed } from '../common/flags';
import { bootstrapSecurity } from '../common/security/bootstrap';
import { agoraHome, readClientConfig, writeClientConfig } from '../common/security/client-config';
import { newSecret, readCredentials, writeCredentials, type OperatorRole, type PrincipalKind } from '../common/security/credentials';
import { CA_CERT, issueCert } from '../common/security/pki';
import { securityPaths } from '../common/security/security-dir';
import { checkNatsName, issueNatsUser, natsServerConfig, revokeNatsUsers } from '../common/security/nats-auth';
import { table } from './table';

const KINDS: readonly PrincipalKind[] = ['operator', 'framework', 'agent'];

const FLAGS = { dir: 'string', role: 'string', json: 'boolean', name: 'string', out: 'string', listen: 'string', store: 'string' } as const;

/** One verb's view of the command line: the security folder, its paths, the flags and the positional arguments. */
interface Call {
  dir: string;
  paths: ReturnType<typeof securityPaths>;
  f: Parsed<typeof FLAGS>['flags'];
  positional: string[];
  out: (line: string) => void;
}

export async function credentials(argv: string[], out: (line: string) => void): Promise<number> {
  const [verb, ...rest] = argv;
  const { flags: f, positional } = parseArgs(rest, FLAGS, { positional: true });
  const dir = f.dir ?? agoraHome();
  const call: Call = { dir, paths: securityPaths(dir), f, positional, out };
  switch (verb) {
    case 'init': {
      const boot = await bootstrapSecurity(dir);
      out(`${boot.created ? 'made' : 'kept'} the cluster's CA, certificates and credentials in ${dir}; client config ${boot.configPath}`);
      return 0;
    }
    case 'create': return create(call);
    case 'list': return list(call);
    case 'revoke': return revoke(call);
    case 'nats-conf': return natsConf(call);
    case 'cert': return cert(call);
    default:
      throw new UsageError('usage: agora credentials init|create|list|revoke|cert|nats-conf');
  }
}

/** `create operator|framework|agent NAME`: a principal, its secret printed once and kept in the client config. */
async function create({ dir, paths, f, positional, out }: Call): Promise<number> {
  const [kind, name] = positional;
  if (!kind || !KINDS.includes(kind as PrincipalKind) || !name) throw new UsageError('usage: agora credentials create operator|framework|agent NAME [--role admin|viewer]');
  if (kind === 'operator' && f.role !== 'admin' && f.role !== 'viewer') throw new UsageError('an operator needs --role admin or --role viewer');
  if (kind !== 'operator' && f.role !== undefined) throw new UsageError(`--role is for operators; a ${kind}'s rights are in the ACLs (${paths.acls})`);
  if (kind === 'agent' || kind === 'framework') checkNatsName(name);
  const secret = newSecret();
  let creds = readCredentials(paths.credentials).adding(name, kind as PrincipalKind, secret, f.role as OperatorRole | undefined);
  // An agent's or a framework's NATS user: its key from the secret, its JWT signed here with the account's key.
  if (kind === 'agent' || kind === 'framework') creds = creds.withNats(name, await issueNatsUser(dir, name, kind, secret));
  writeCredentials(paths.credentials, creds);
  const config = readClientConfig(paths.config);
  if (config) {
    config.users[name] = { principal: name, secret };
    writeClientConfig(config, paths.config);
  }
  out(`created ${kind} ${name}${f.role ? ` (${f.role})` : ''}; its secret, shown only now:`);
  out(secret);
  return 0;
}

function list({ paths, f, out }: Call): number {
  const principals = readCredentials(paths.credentials).list();
  if (f.json) out(JSON.stringify(principals.map(({ name, kind, role, created }) => ({ name, kind, ...(role ? { role } : {}), created }))));
  else out(table(['NAME', 'KIND', 'ROLE', 'CREATED'], principals.map((r) => [r.name, r.kind, r.role ?? '-', r.created])));
  return 0;
}

/** `revoke NAME`: out of the NATS account first, then the credentials file and the client config. */
async function revoke({ dir, paths, positional, out }: Call): Promise<number> {
  const [name] = positional;
  if (!name) throw new UsageError('usage: agora credentials revoke NAME');
  const creds = readCredentials(paths.credentials);
  const next = creds.removing(name);
  // First the NATS account (it needs the operator's key, so a host without it changes nothing).
  const nats = creds.natsUser(name);
  if (nats) await revokeNatsUsers(dir, [nats.user]);
  writeCredentials(paths.credentials, next);
  const config = readClientConfig(paths.config);
  if (config?.users[name]) {
    delete config.users[name];
    writeClientConfig(config, paths.config);
  }
  out(`revoked ${name}: running doors refuse it from now on and cut its open streams${nats ? '; the master sends NATS the re-signed account, which closes its connections' : ''}`);
  return 0;
}

/** For operators who run their own nats-server: the lines that make it this cluster's. */
function natsConf({ dir, f, out }: Call): number {
  const listen = f.listen ?? '0.0.0.0:4222';
  const colon = listen.lastIndexOf(':');
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`--listen must be HOST:PORT, got '${listen}'`);
  const store = f.store ?? '/var/lib/agora-nats';
  out(natsServerConfig({ securityDir: dir, host: listen.slice(0, colon), port, resolverDir: join(store, 'accounts'), storeDir: join(store, 'jetstream') }).trimEnd());
  return 0;
}

/** `cert --name HOST … --out DIR`: a certificate for another host, signed by the cluster's CA. */
function cert({ paths, f, positional, out }: Call): number {
  const names = [f.name, ...positional].filter((n): n is string => !!n);
  if (names.length === 0 || !f.out) throw new UsageError('usage: agora credentials cert --name HOST [more names] --out DIR');
  mkdirSync(f.out, { recursive: true, mode: 0o700 });
  issueCert(paths.tls, names, 'host');
  for (const [from, to] of [['host.crt', 'server.crt'], ['host.key', 'server.key'], [CA_CERT, CA_CERT]] as const) copyFileSync(join(paths.tls, from), join(f.out, to));
  out(`a certificate for ${names.join(', ')} in ${f.out} (server.crt, server.key, ca.crt): copy it to that host's ${'<security-dir>'}/tls/`);
  return 0;
}
