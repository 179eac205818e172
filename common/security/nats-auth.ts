/**
 * The NATS door: NATS's decentralized JWT accounts, made and signed here, so per-agent
 * identities scale to any number of agents and are added or revoked without restarting
 * nats-server (Debian's 2.9 has no auth callout).
 *
 *   operator     signs the accounts; nats-server trusts only it (`operator:` in its config)
 *   system       the account nats-server reports and takes account updates on
 *   agora        the cluster's account: the master and every agent are its users
 *
 * Each NATS user belongs to a principal of the credentials file. Its nkey is derived from
 * the principal's secret (HKDF-SHA256), so a principal keeps one secret for every door; its
 * JWT (public: it names the key and the subjects the key may use, signed by the account) is
 * kept in the credentials file beside the secret's digest. The master's user may do anything
 * in the account (JetStream included); an agent's may only publish on
 * `<prefix>.master.<name>.>` and receive `<prefix>.agent.<name>.>` and its own replies
 * (`<prefix>.reply.<name>.>`), so NATS itself enforces who an agent is. A framework's may only
 * use the frameworks' lease bucket (`frameworkPermissions`), for `--ha`. Operators get no NATS
 * user at all.
 *
 * Revoking a principal adds its NATS user to the account's revocations and re-signs the
 * account; the master pushes the new account JWT to nats-server (`$SYS.REQ.CLAIMS.UPDATE`),
 * which refuses the user from then on and closes its live connections.
 *
 * The folder `nats/` in the security folder:
 *
 *   operator.jwt, account.jwt, system.jwt   public: what nats-server's config names
 *   operator.nk, account.nk                 the signing seeds: only where credentials are issued
 *   system.creds                            the system user, for the master to push updates
 *   cluster.json                            the subject prefix the agents' permissions name
 *   routes.json                             the user and password clustered nats-servers present
 *                                           to each other on their routes (0600)
 */
import { createHash, hkdfSync, randomBytes } from 'crypto';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { createAccount, createOperator, createUser, fromSeed, Prefix, type KeyPair } from '@nats-io/nkeys';
// The seed codec is not re-exported by the package's index; it is the format every nkey seed has.
import { Codec } from '@nats-io/nkeys/lib/codec';
import { decode, encodeAccount, encodeOperator, encodeUser, fmtCreds, type Account, type User } from '@nats-io/jwt';
import { frameworksBucket } from '../leadership/config';
import { writeAtomic } from './credentials';

export const NATS_DIR = 'nats';

/** What a NATS user may do: the master everything, an agent only its own subjects, a framework only its lease bucket. */
export type NatsRole = 'master' | 'agent' | 'framework';
export const NATS_ROLES: readonly NatsRole[] = ['master', 'agent', 'framework'];

/** A principal's NATS user as the credentials file keeps it. */
export interface NatsUser {
  role: NatsRole;
  /** The user's public nkey (U…). */
  user: string;
  jwt: string;
}

export class NatsAuthError extends Error {
  override readonly name = 'NatsAuthError';
}

export const natsPaths = (securityDir: string) => {
  const dir = join(securityDir, NATS_DIR);
  return {
    dir,
    operatorJwt: join(dir, 'operator.jwt'),
    operatorSeed: join(dir, 'operator.nk'),
    accountJwt: join(dir, 'account.jwt'),
    accountSeed: join(dir, 'account.nk'),
    systemJwt: join(dir, 'system.jwt'),
    systemCreds: join(dir, 'system.creds'),
    cluster: join(dir, 'cluster.json'),
    routes: join(dir, 'routes.json'),
  };
};

/** A name that can be one token of a subject: what an agent's principal name must be. */
const SUBJECT_TOKEN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export function checkNatsName(name: string): void {
  if (!SUBJECT_TOKEN.test(name)) {
    throw new NatsAuthError(`'${name}' cannot name a NATS user: it becomes a subject token, so use letters, digits, '_' and '-' (no '.')`);
  }
}

const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
const JETSTREAM = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };

const seedText = (kp: KeyPair) => new TextDecoder().decode(kp.getSeed());
const readSeed = (path: string): KeyPair => {
  try {
    return fromSeed(new TextEncoder().encode(readFileSync(path, 'utf8').trim()));
  } catch (err) {
    throw new NatsAuthError(`cannot read the NATS signing key ${path}: ${(err as Error).message} (credentials are issued where \`agora up\` or \`agora credentials init\` ran)`);
  }
};

export interface NatsCluster {
  subjectPrefix: string;
}

export function readNatsCluster(securityDir: string): NatsCluster | undefined {
  const path = natsPaths(securityDir).cluster;
  if (!existsSync(path)) return undefined;
  const json = JSON.parse(readFileSync(path, 'utf8')) as Partial<NatsCluster>;
  if (typeof json.subjectPrefix !== 'string') throw new NatsAuthError(`${path}: subjectPrefix must be a string`);
  return { subjectPrefix: json.subjectPrefix };
}

/**
 * Makes the operator, the system account with its user, and the cluster's account, unless
 * they exist. Returns true when it made them.
 */
export async function ensureNatsKeys(securityDir: string, subjectPrefix = 'agora'): Promise<boolean> {
  const p = natsPaths(securityDir);
  const needed = [p.operatorJwt, p.accountJwt, p.systemJwt, p.systemCreds, p.cluster];
  const missing = needed.filter((f) => !existsSync(f));
  if (missing.length === 0) return false;
  // New keys would orphan every agent's JWT: never make them over a part of a setup.
  if (missing.length < needed.length) {
    throw new NatsAuthError(`${p.dir} holds part of the cluster's NATS keys; ${missing.join(', ')} missing: restore them (or remove ${p.dir} to start over, after which every agent needs its credential again)`);
  }
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const sysUser = createUser();
  writeAtomic(p.operatorSeed, `${seedText(operator)}\n`);
  writeAtomic(p.accountSeed, `${seedText(account)}\n`);
  writeAtomic(p.operatorJwt, await encodeOperator('agora', operator, { system_account: system.getPublicKey() }), 0o644);
  writeAtomic(p.systemJwt, await encodeAccount('SYS', system, { limits: UNLIMITED }, { signer: operator }), 0o644);
  writeAtomic(p.accountJwt, await encodeAccount('agora', account, { limits: { ...UNLIMITED, ...JETSTREAM } }, { signer: operator }), 0o644);
  const sysJwt = await encodeUser('agora-system', sysUser, system);
  writeAtomic(p.systemCreds, new TextDecoder().decode(fmtCreds(sysJwt, sysUser)));
  writeAtomic(p.cluster, `${JSON.stringify({ subjectPrefix }, null, 2)}\n`, 0o644);
  return true;
}

/**
 * A principal's NATS key, derived from its secret: HKDF-SHA256 with the principal's name,
 * independent of the SHA-256 digest the credentials file shows.
 */
export function natsUserKey(name: string, secret: string): KeyPair {
  const raw = new Uint8Array(hkdfSync('sha256', secret, 'agora nats user', name, 32));
  return fromSeed(Codec.encodeSeed(Prefix.User, raw));
}

/** The subjects an agent's user may use: its own, under the cluster's prefix. */
export function agentPermissions(subjectPrefix: string, name: string): Pick<User, 'pub' | 'sub'> {
  return {
    pub: { allow: [`${subjectPrefix}.master.${name}.>`] },
    sub: { allow: [`${subjectPrefix}.agent.${name}.>`, `${subjectPrefix}.reply.${name}.>`, `${subjectPrefix}.leader`] },
  };
}

/**
 * The subjects a framework's user may use (the services and jobs frameworks run with `--ha`):
 * the JetStream KV API of the frameworks' lease bucket only — set it up, read, compare-and-set
 * and delete its keys, watch them — and replies under its own inbox. Nothing of the master's
 * (its lease bucket, the offer log) or the agents' subjects: a framework talks to the master
 * over gRPC, never over NATS. Any framework user may write any framework's key of that bucket;
 * the data each lease guards is fenced by its own epoch in its own Redis store.
 */
export function frameworkPermissions(subjectPrefix: string, name: string): Pick<User, 'pub' | 'sub'> {
  const bucket = frameworksBucket(subjectPrefix);
  const stream = `KV_${bucket}`;
  return {
    pub: {
      allow: [
        '$JS.API.INFO', `$JS.API.STREAM.INFO.${stream}`, `$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.MSG.GET.${stream}`,
        `$JS.API.CONSUMER.CREATE.${stream}`, `$JS.API.CONSUMER.CREATE.${stream}.>`, `$JS.API.CONSUMER.DELETE.${stream}.>`, `$JS.API.CONSUMER.INFO.${stream}.>`,
        `$KV.${bucket}.>`, `$JS.FC.${stream}.>`,
      ],
    },
    sub: { allow: [`${subjectPrefix}.reply.${name}.>`] },
  };
}

const permissionsOf = (role: NatsRole, subjectPrefix: string, name: string): Pick<User, 'pub' | 'sub'> | Record<string, never> =>
  (role === 'agent' ? agentPermissions(subjectPrefix, name) : role === 'framework' ? frameworkPermissions(subjectPrefix, name) : {});

/** Signs the JWT of `name`'s NATS user with the account's key (here, where credentials are issued). */
export async function issueNatsUser(securityDir: string, name: string, role: NatsRole, secret: string): Promise<NatsUser> {
  checkNatsName(name);
  const p = natsPaths(securityDir);
  const cluster = readNatsCluster(securityDir);
  if (!cluster) throw new NatsAuthError(`${securityDir} has no NATS keys: run \`agora credentials init\` there first`);
  const key = natsUserKey(name, secret);
  const claims = permissionsOf(role, cluster.subjectPrefix, name);
  const jwt = await encodeUser(name, key, readSeed(p.accountSeed), claims);
  return { role, user: key.getPublicKey(), jwt };
}

/**
 * Re-signs the account with these users revoked (as of now), keeping earlier revocations.
 * nats-server takes it from the master (`pushAccount`); until then the old account stands.
 */
export async function revokeNatsUsers(securityDir: string, users: readonly string[], now = new Date()): Promise<void> {
  if (users.length === 0) return;
  const p = natsPaths(securityDir);
  const current = decode<Account>(readFileSync(p.accountJwt, 'utf8').trim());
  const at = Math.ceil(now.getTime() / 1000);
  const revocations = { ...(current.nats.revocations ?? {}), ...Object.fromEntries(users.map((u) => [u, at])) };
  // The account is named by its public key: the operator signs its claims.
  const jwt = await encodeAccount(current.name, current.sub, { ...current.nats, revocations }, { signer: readSeed(p.operatorSeed) });
  writeAtomic(p.accountJwt, jwt, 0o644);
}

export interface NatsServerConfigOptions {
  securityDir: string;
  host: string;
  port: number;
  /** JetStream's store; absent: no JetStream. */
  storeDir?: string;
  /** Where nats-server keeps the account JWTs it is sent. */
  resolverDir: string;
}

/**
 * A nats-server config for the cluster: the operator, the system account, a full resolver
 * preloaded with both accounts (updates arrive at runtime), TLS with the host's certificate
 * and nothing but authenticated users. SECURITY.md explains each line for operators who
 * write their own.
 */
export function natsServerConfig(o: NatsServerConfigOptions): string {
  const p = natsPaths(o.securityDir);
  const tls = join(o.securityDir, 'tls');
  const quote = (s: string) => JSON.stringify(s);
  const read = (path: string) => readFileSync(path, 'utf8').trim();
  const [account, system] = [read(p.accountJwt), read(p.systemJwt)];
  return [
    `listen: ${quote(`${o.host}:${o.port}`)}`,
    `operator: ${quote(p.operatorJwt)}`,
    `system_account: ${decode(system).sub}`,
    `resolver { type: full, dir: ${quote(o.resolverDir)}, allow_delete: false, interval: "2m", timeout: "2s" }`,
    `resolver_preload { ${decode(account).sub}: ${quote(account)}, ${decode(system).sub}: ${quote(system)} }`,
    `tls { cert_file: ${quote(join(tls, 'server.crt'))}, key_file: ${quote(join(tls, 'server.key'))}, timeout: 2 }`,
    ...(o.storeDir ? [`jetstream { store_dir: ${quote(o.storeDir)} }`] : []),
    '',
  ].join('\n');
}

/** What one nats-server of a cluster presents to another on a route, and what it asks of one. */
export interface RouteCredentials {
  user: string;
  password: string;
}

/**
 * The route credentials of the cluster's nats-servers, made on first use. Routes carry every
 * account's traffic and bypass the operator's JWTs, so an unauthenticated route port would let
 * anyone on the host join the cluster and read everything.
 */
export function routeCredentials(securityDir: string): RouteCredentials {
  const path = natsPaths(securityDir).routes;
  if (!existsSync(path)) {
    writeAtomic(path, `${JSON.stringify({ user: 'route', password: randomBytes(24).toString('base64url') }, null, 2)}\n`);
  }
  const json = JSON.parse(readFileSync(path, 'utf8')) as Partial<RouteCredentials>;
  if (typeof json.user !== 'string' || typeof json.password !== 'string' || !/^[\w-]+$/.test(`${json.user}${json.password}`)) {
    throw new NatsAuthError(`${path}: user and password must be strings of letters, digits, '_' and '-' (they are written into route URLs)`);
  }
  return { user: json.user, password: json.password };
}

/** A digest of a JWT for logs: which version was pushed, without the whole token. */
export const jwtDigest = (jwt: string): string => createHash('sha256').update(jwt).digest('hex').slice(0, 12);
