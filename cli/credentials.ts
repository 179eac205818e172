/**
 * `agora credentials`: the cluster's principals, in the security folder (`--dir`, default
 * `~/.agora` or AGORA_HOME), as every door reads it.
 *
 *   init                              the CA, certificates, local principals and client config (as `agora up`)
 *   create operator NAME --role R     an operator (admin or viewer); prints its secret once
 *   create framework NAME             a framework principal; prints its secret once
 *   create agent NAME                 an agent's credential
 *   list [--json]                     who may knock (never a secret)
 *   revoke NAME                       gone at once: running doors re-read the file and cut its live streams
 *   cert --name HOST [--name …] --out DIR
 *                                     a certificate for another host, signed by the cluster's CA
 *
 * A created principal is also added to the client config as a user of its own name, so
 * `AGORA_USER=NAME agora …` speaks as it.
 */
import { copyFileSync, mkdirSync } from 'fs';
import { join } from 'path';
import { UsageError, parseArgs } from '../common/flags';
import { bootstrapSecurity } from '../common/security/bootstrap';
import { agoraHome, readClientConfig, writeClientConfig } from '../common/security/client-config';
import { newSecret, readCredentials, writeCredentials, type OperatorRole, type PrincipalKind } from '../common/security/credentials';
import { CA_CERT, issueCert } from '../common/security/pki';
import { securityPaths } from '../common/security/security-dir';
import { table } from './table';

const KINDS: readonly PrincipalKind[] = ['operator', 'framework', 'agent'];

export function credentials(argv: string[], out: (line: string) => void): number {
  const [verb, ...rest] = argv;
  const { flags: f, positional } = parseArgs(rest, { dir: 'string', role: 'string', json: 'boolean', name: 'string', out: 'string' }, { positional: true });
  const dir = f.dir ?? agoraHome();
  const paths = securityPaths(dir);
  switch (verb) {
    case 'init': {
      const boot = bootstrapSecurity(dir);
      out(`${boot.created ? 'made' : 'kept'} the cluster's CA, certificates and credentials in ${dir}; client config ${boot.configPath}`);
      return 0;
    }
    case 'create': {
      const [kind, name] = positional;
      if (!kind || !KINDS.includes(kind as PrincipalKind) || !name) throw new UsageError('usage: agora credentials create operator|framework|agent NAME [--role admin|viewer]');
      if (kind === 'operator' && f.role !== 'admin' && f.role !== 'viewer') throw new UsageError('an operator needs --role admin or --role viewer');
      if (kind !== 'operator' && f.role !== undefined) throw new UsageError(`--role is for operators; a ${kind}'s rights are in the ACLs (${paths.acls})`);
      const secret = newSecret();
      writeCredentials(paths.credentials, readCredentials(paths.credentials).adding(name, kind as PrincipalKind, secret, f.role as OperatorRole | undefined));
      const config = readClientConfig(paths.config);
      if (config) {
        config.users[name] = { principal: name, secret };
        writeClientConfig(config, paths.config);
      }
      out(`created ${kind} ${name}${f.role ? ` (${f.role})` : ''}; its secret, shown only now:`);
      out(secret);
      return 0;
    }
    case 'list': {
      const list = readCredentials(paths.credentials).list();
      if (f.json) out(JSON.stringify(list.map(({ name, kind, role, created }) => ({ name, kind, ...(role ? { role } : {}), created }))));
      else out(table(['NAME', 'KIND', 'ROLE', 'CREATED'], list.map((r) => [r.name, r.kind, r.role ?? '-', r.created])));
      return 0;
    }
    case 'revoke': {
      const [name] = positional;
      if (!name) throw new UsageError('usage: agora credentials revoke NAME');
      writeCredentials(paths.credentials, readCredentials(paths.credentials).removing(name));
      const config = readClientConfig(paths.config);
      if (config?.users[name]) {
        delete config.users[name];
        writeClientConfig(config, paths.config);
      }
      out(`revoked ${name}: running doors refuse it from now on and cut its open streams`);
      return 0;
    }
    case 'cert': {
      const names = [f.name, ...positional].filter((n): n is string => !!n);
      if (names.length === 0 || !f.out) throw new UsageError('usage: agora credentials cert --name HOST [more names] --out DIR');
      mkdirSync(f.out, { recursive: true, mode: 0o700 });
      issueCert(paths.tls, names, 'host');
      for (const [from, to] of [['host.crt', 'server.crt'], ['host.key', 'server.key'], [CA_CERT, CA_CERT]] as const) copyFileSync(join(paths.tls, from), join(f.out, to));
      out(`a certificate for ${names.join(', ')} in ${f.out} (server.crt, server.key, ca.crt): copy it to that host's ${'<security-dir>'}/tls/`);
      return 0;
    }
    default:
      throw new UsageError('usage: agora credentials init|create|list|revoke|cert');
  }
}
