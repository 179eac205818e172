/**
 * Everything a secure cluster needs, made on first start so the two-command start needs no
 * setup: the CA and this host's certificate, the principals of a local cluster (an admin
 * operator, the master's own identity towards agents, the services and jobs frameworks, the
 * local agent), and the client config that the `agora` command and the SDK read. Run again,
 * it keeps what is there and only fills in what is missing, so secrets survive restarts.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { CONFIG_FILE, securityPaths } from './security-dir';
import { readClientConfig, writeClientConfig, type ClientConfig, type ContextEntry, type UserEntry } from './client-config';
import { emptyCredentials, newSecret, readCredentials, writeAtomic, writeCredentials, type OperatorRole, type PrincipalKind } from './credentials';
import { defaultAcls, type AclsJson } from './acl';
import { DEFAULT_TASK_USER } from './defaults';
import { defaultServerNames, ensureCa, issueCert, SERVER_CERT } from './pki';
import { ensureNatsKeys, issueNatsUser, revokeNatsUsers, type NatsRole } from './nats-auth';

export interface WantedPrincipal {
  name: string;
  kind: PrincipalKind;
  role?: OperatorRole;
  /** Its NATS user's rights; agents always have one. */
  nats?: NatsRole;
}

/** The NATS role a principal gets: agents and frameworks (for `--ha`'s lease) always, others when asked (the master). */
export const natsRoleOf = (want: Pick<WantedPrincipal, 'kind' | 'nats'>): NatsRole | undefined =>
  want.nats ?? (want.kind === 'agent' ? 'agent' : want.kind === 'framework' ? 'framework' : undefined);

/** The principals `agora up` runs with. */
export const LOCAL_PRINCIPALS: readonly WantedPrincipal[] = [
  { name: 'admin', kind: 'operator', role: 'admin' },
  // The master relays sandbox reads to agents under its own name, never the caller's secret.
  { name: 'master', kind: 'operator', role: 'viewer', nats: 'master' },
  { name: 'services', kind: 'framework' },
  { name: 'jobs', kind: 'framework' },
  { name: 'local-agent', kind: 'agent' },
];

/** Each framework principal of a local cluster and the roles it may register with. */
export const LOCAL_FRAMEWORK_ROLES: readonly { principal: string; roles: string[] }[] = [
  { principal: 'services', roles: ['services'] },
  { principal: 'jobs', roles: ['jobs'] },
];

/**
 * The ACLs a new cluster starts with (Mesos's format, default deny): admins may do
 * everything, viewers may look, each framework registers with its own roles, runs tasks as
 * the unprivileged default user, and kills and tears down only itself. Frameworks may also
 * view the cluster: the SDK's `agents()` (GetAgents, where the services and jobs frameworks
 * learn the agents' addresses) needs it, and so does finding the master's gRPC port from its
 * state when a framework is given only the HTTP address. A framework reads its own tasks'
 * sandboxes without `access_sandboxes`.
 */
export function localAcls(frameworks: readonly { principal: string; roles: string[] }[]): AclsJson {
  const acls = defaultAcls({ frameworks: frameworks.map((f) => ({ principal: f.principal, roles: [...f.roles] })), defaultUser: DEFAULT_TASK_USER });
  acls.view = [{ principals: { groups: ['frameworks'] }, framework_principals: { type: 'ANY' } }, ...(acls.view ?? [])];
  return acls;
}

export interface Bootstrapped {
  /** True when this call made the CA (a first start). */
  created: boolean;
  configPath: string;
  /** Each principal's user entry in the client config, by principal name. */
  users: Record<string, UserEntry>;
}

export async function bootstrapSecurity(dir: string, o: {
  context?: ContextEntry; principals?: readonly WantedPrincipal[]; certNames?: string[];
  /** The ACLs written when there are none yet; default: `localAcls(LOCAL_FRAMEWORK_ROLES)`. */
  acls?: AclsJson;
} = {}): Promise<Bootstrapped> {
  const paths = securityPaths(dir);
  const created = ensureCa(paths.tls);
  if (created || !existsSync(join(paths.tls, SERVER_CERT))) issueCert(paths.tls, o.certNames ?? defaultServerNames());
  await ensureNatsKeys(dir);
  let creds = existsSync(paths.credentials) ? readCredentials(paths.credentials) : emptyCredentials();
  const configPath = join(dir, CONFIG_FILE);
  const config: ClientConfig = readClientConfig(configPath) ?? { contexts: {}, users: {} };
  let changed = !existsSync(paths.credentials);
  const revoked: string[] = [];
  for (const want of o.principals ?? LOCAL_PRINCIPALS) {
    let user = config.users[want.name];
    if (!user || !creds.verify(user.principal, user.secret)) {
      // A principal whose secret this machine no longer has is issued a new one: nobody could use the old.
      const old = creds.has(want.name) ? creds.natsUser(want.name) : undefined;
      if (old) revoked.push(old.user);
      if (creds.has(want.name)) creds = creds.removing(want.name);
      user = { principal: want.name, secret: newSecret() };
      creds = creds.adding(want.name, want.kind, user.secret, want.role);
      config.users[want.name] = user;
      changed = true;
    }
    const role = natsRoleOf(want);
    if (role && creds.natsUser(want.name)?.role !== role) {
      creds = creds.withNats(want.name, await issueNatsUser(dir, want.name, role, user.secret));
      changed = true;
    }
  }
  await revokeNatsUsers(dir, revoked);
  if (changed) writeCredentials(paths.credentials, creds);
  // Never over an operator's edits: only a folder without ACLs gets the defaults.
  if (!existsSync(paths.acls)) writeAtomic(paths.acls, `${JSON.stringify(o.acls ?? localAcls(LOCAL_FRAMEWORK_ROLES), null, 2)}\n`);
  config.contexts.local = { user: 'admin', ...config.contexts.local, ...o.context, ca: 'tls/ca.crt' };
  config.current ??= 'local';
  writeClientConfig(config, configPath);
  return { created, configPath, users: config.users };
}
