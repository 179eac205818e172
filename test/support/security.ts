/**
 * A secure cluster's keys for one test file: a CA, a server certificate for 127.0.0.1,
 * credentials and a client config in a temp folder, made by the same bootstrap as `agora up`.
 * It points `AGORA_CONFIG` at that config, so the SDK, the CLI's clients and every spawned
 * `agora` read it as a user's would (jest gives each test file its own environment).
 */
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { bootstrapSecurity, localAcls, type WantedPrincipal } from '../../common/security/bootstrap';
import type { AclsJson } from '../../common/security/acl';
import { authorizationHeader, type ClientIdentity } from '../../common/security/client-config';
import { logger } from '../../common/log';
import { openServerSecurity, securityPaths, type ServerSecurity } from '../../common/security/security-dir';

/** The principals every secure test cluster has. */
export const TEST_PRINCIPALS: readonly WantedPrincipal[] = [
  { name: 'admin', kind: 'operator', role: 'admin' },
  { name: 'viewer', kind: 'operator', role: 'viewer' },
  { name: 'master', kind: 'operator', role: 'viewer', nats: 'master' },
  { name: 'services', kind: 'framework' },
  { name: 'jobs', kind: 'framework' },
  { name: 'team-a', kind: 'framework' },
  { name: 'team-b', kind: 'framework' },
  { name: 'local-agent', kind: 'agent' },
  { name: 'other-agent', kind: 'agent' },
];

/**
 * The roles each test framework principal may use: the services and jobs frameworks keep
 * their default role `*` in tests; team-a and team-b have one role each, to be refused another.
 * (SDK frameworks in tests speak as the admin, who may use any role.)
 */
export const TEST_FRAMEWORK_ROLES = [
  { principal: 'services', roles: ['*', 'services'] },
  { principal: 'jobs', roles: ['*', 'jobs'] },
  { principal: 'team-a', roles: ['team-a'] },
  { principal: 'team-b', roles: ['team-b'] },
];

export interface TestSecurity {
  dir: string;
  configPath: string;
  /** A principal's identity (its secret and the CA), by name. */
  identity(name: string): ClientIdentity;
  /** `Authorization: Basic …` for a principal. */
  header(name: string): string;
  /** Opens the folder as a door does; the caller closes it. */
  open(): ServerSecurity;
  remove(): void;
}

/** `acls`: the ACLs the cluster starts with (default: `localAcls(TEST_FRAMEWORK_ROLES)`, as `agora up` writes them). */
export async function testSecurity(o: { setEnv?: boolean; acls?: AclsJson } = {}): Promise<TestSecurity> {
  const dir = mkdtempSync(join(tmpdir(), 'agora-sec-'));
  const boot = await bootstrapSecurity(dir, { principals: TEST_PRINCIPALS, certNames: ['localhost', '127.0.0.1', '::1'], acls: o.acls ?? localAcls(TEST_FRAMEWORK_ROLES) });
  const ca = readFileSync(join(securityPaths(dir).tls, 'ca.crt'));
  if (o.setEnv ?? true) {
    process.env.AGORA_CONFIG = boot.configPath;
    process.env.AGORA_HOME = dir;
  }
  const identity = (name: string): ClientIdentity => {
    const user = boot.users[name];
    if (!user) throw new Error(`no test principal ${name}`);
    return { principal: user.principal, secret: user.secret, ca };
  };
  return {
    dir, configPath: boot.configPath, identity,
    header: (name) => authorizationHeader(identity(name)),
    open: () => openServerSecurity(dir, logger('test-security')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
