/**
 * Credentials: who may knock, and how a door tells. A **principal** is a name with a kind
 * (operator, framework, agent); its **secret** is 256 random bits that `agora credentials`
 * prints once and never stores. The **credentials file** (as Mesos's `--credentials`) keeps
 * only each secret's SHA-256, so it can be copied to every host that runs a door.
 *
 * Why SHA-256 and not a slow password hash: every secret is generated, never chosen by a
 * person, so there is nothing to guess; a fast hash lets each door check every call (an
 * Accept, an HTTP request) with one digest and one map lookup.
 *
 * The file is read at start and again whenever it changes, so `agora credentials revoke`
 * takes effect on running processes without a restart; `onChange` lets a door cut the live
 * streams of a principal that is gone.
 */
import { createHash, randomBytes, timingSafeEqual } from 'crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { dirname } from 'path';
import { LiveFile } from './live-file';
import { NATS_ROLES, type NatsRole, type NatsUser } from './nats-auth';

export type PrincipalKind = 'operator' | 'framework' | 'agent';
export type OperatorRole = 'admin' | 'viewer';

/** Who is calling, once a door has checked it. */
export interface Principal {
  readonly name: string;
  readonly kind: PrincipalKind;
  /** Operators only: viewers read, admins also write. */
  readonly operatorRole?: OperatorRole;
}

/** One line of the credentials file. */
export interface CredentialRecord {
  name: string;
  kind: PrincipalKind;
  role?: OperatorRole;
  /** Hex SHA-256 of the secret. */
  secretSha256: string;
  created: string;
  /** The principal's NATS user (the master's and agents'), signed where credentials are issued. */
  nats?: NatsUser;
}

export interface CredentialsFile {
  version: 1;
  principals: CredentialRecord[];
}

export class CredentialError extends Error {
  override readonly name = 'CredentialError';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const KINDS: readonly PrincipalKind[] = ['operator', 'framework', 'agent'];

export const sha256 = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** A fresh secret: 256 random bits, prefixed so it is recognisable when it leaks into a log or a paste. */
export function newSecret(): string {
  return `agora_${randomBytes(32).toString('base64url')}`;
}

export function validName(name: string): void {
  if (!NAME.test(name)) {
    throw new CredentialError(`principal name '${name}' is not valid: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

/** Parses the file's JSON; a bad shape is a CredentialError saying where. */
export function parseCredentials(json: unknown, source = 'credentials'): CredentialsFile {
  const bad = (why: string): never => { throw new CredentialError(`${source}: ${why}`); };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('expected a JSON object {"version":1,"principals":[…]}');
  const o = json as Record<string, unknown>;
  if (o.version !== 1) bad(`version must be 1, not ${JSON.stringify(o.version)}`);
  if (!Array.isArray(o.principals)) bad('principals must be an array');
  const seen = new Set<string>();
  const principals = (o.principals as unknown[]).map((p, i): CredentialRecord => {
    const r = p as Partial<CredentialRecord> | null;
    if (typeof r !== 'object' || r === null) return bad(`principals[${i}] must be an object`);
    if (typeof r.name !== 'string' || !NAME.test(r.name)) bad(`principals[${i}].name is not a valid principal name`);
    if (!KINDS.includes(r.kind as PrincipalKind)) bad(`principals[${i}].kind must be one of ${KINDS.join(', ')}`);
    if (r.kind === 'operator' && r.role !== 'admin' && r.role !== 'viewer') bad(`principals[${i}].role must be admin or viewer for an operator`);
    if (typeof r.secretSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.secretSha256)) bad(`principals[${i}].secretSha256 must be 64 hex digits`);
    if (seen.has(r.name!)) bad(`principal '${r.name}' is listed twice`);
    seen.add(r.name!);
    const nats = r.nats as Partial<NatsUser> | undefined;
    if (nats !== undefined && (typeof nats !== 'object' || nats === null || !NATS_ROLES.includes(nats.role as NatsRole)
      || typeof nats.user !== 'string' || !/^U[A-Z2-7]{55}$/.test(nats.user) || typeof nats.jwt !== 'string')) {
      bad(`principals[${i}].nats must be {"role":"master"|"agent"|"framework","user":"U…","jwt":"…"}`);
    }
    return {
      name: r.name!, kind: r.kind!, ...(r.kind === 'operator' ? { role: r.role } : {}), secretSha256: r.secretSha256!, created: String(r.created ?? ''),
      ...(nats ? { nats: { role: nats.role!, user: nats.user!, jwt: nats.jwt! } } : {}),
    };
  });
  return { version: 1, principals };
}

export function principalOf(r: CredentialRecord): Principal {
  return r.kind === 'operator' ? { name: r.name, kind: r.kind, operatorRole: r.role ?? 'viewer' } : { name: r.name, kind: r.kind };
}

/**
 * What a door checks against: principals by name and by secret digest. Immutable; a reload
 * makes a new one.
 */
export class Credentials {
  private readonly byName = new Map<string, CredentialRecord>();
  private readonly byDigest = new Map<string, CredentialRecord>();

  constructor(readonly file: CredentialsFile) {
    for (const r of file.principals) {
      this.byName.set(r.name, r);
      this.byDigest.set(r.secretSha256, r);
    }
  }

  /** A bearer secret alone names its principal. */
  bySecret(secret: string): Principal | undefined {
    const r = this.byDigest.get(sha256(secret));
    return r && principalOf(r);
  }

  /** Basic auth and gRPC: a name and its secret. Constant time in the secret. */
  verify(name: string, secret: string): Principal | undefined {
    const r = this.byName.get(name);
    if (!r) return undefined;
    const want = Buffer.from(r.secretSha256, 'hex');
    const got = Buffer.from(sha256(secret), 'hex');
    return timingSafeEqual(want, got) ? principalOf(r) : undefined;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The principal of that name, if it still has credentials (a session's owner, say). */
  principal(name: string): Principal | undefined {
    const r = this.byName.get(name);
    return r && principalOf(r);
  }

  /**
   * What an `Authorization` header proves, as every door reads it: `Basic` principal:secret
   * (what Marathon's and Chronos's clients send) or `Bearer` secret; or why it proves nothing.
   */
  fromAuthorization(header: string): { principal: Principal } | { why: string } {
    const [scheme = '', value = ''] = header.split(/\s+/, 2);
    if (scheme.toLowerCase() === 'bearer') {
      const p = this.bySecret(value);
      return p ? { principal: p } : { why: 'the bearer secret is not one of this cluster\'s credentials' };
    }
    if (scheme.toLowerCase() !== 'basic') return { why: `unsupported authorization scheme '${scheme}': use Basic or Bearer` };
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const p = colon < 0 ? undefined : this.verify(decoded.slice(0, colon), decoded.slice(colon + 1));
    return p ? { principal: p } : { why: `wrong principal or secret${colon < 0 ? '' : ` for '${decoded.slice(0, colon)}'`}` };
  }

  list(): readonly CredentialRecord[] {
    return this.file.principals;
  }

  /** A new file with `name` added (its secret's digest only); a name taken is a CredentialError. */
  adding(name: string, kind: PrincipalKind, secret: string, role?: OperatorRole, now = new Date()): Credentials {
    validName(name);
    if (this.byName.has(name)) throw new CredentialError(`principal '${name}' exists already: revoke it first to issue a new secret`);
    if (kind === 'operator' && role !== 'admin' && role !== 'viewer') throw new CredentialError('an operator needs a role: admin or viewer');
    const record: CredentialRecord = { name, kind, ...(kind === 'operator' ? { role } : {}), secretSha256: sha256(secret), created: now.toISOString() };
    return new Credentials({ version: 1, principals: [...this.file.principals, record] });
  }

  /** The NATS user of `name`, if it has one. */
  natsUser(name: string): NatsUser | undefined {
    return this.byName.get(name)?.nats;
  }

  /** A new file with `name`'s NATS user set. */
  withNats(name: string, nats: NatsUser): Credentials {
    if (!this.byName.has(name)) throw new CredentialError(`no principal named '${name}'`);
    return new Credentials({ version: 1, principals: this.file.principals.map((r) => (r.name === name ? { ...r, nats } : r)) });
  }

  /** A new file without `name`; an unknown name is a CredentialError. */
  removing(name: string): Credentials {
    if (!this.byName.has(name)) throw new CredentialError(`no principal named '${name}'`);
    return new Credentials({ version: 1, principals: this.file.principals.filter((r) => r.name !== name) });
  }
}

export const emptyCredentials = (): Credentials => new Credentials({ version: 1, principals: [] });

export function readCredentials(path: string): Credentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CredentialError(`cannot read the credentials file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CredentialError(`${path} is not JSON: ${(err as Error).message}`);
  }
  return new Credentials(parseCredentials(json, path));
}

/** Written whole through a rename, so a reader never sees half a file; 0600, it names every principal. */
export function writeCredentials(path: string, creds: Credentials): void {
  writeAtomic(path, `${JSON.stringify(creds.file, null, 2)}\n`);
}

export function writeAtomic(path: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** The credentials of a running door, re-read when the file changes (a revoke, a new principal). */
export class LiveCredentials extends LiveFile<Credentials> {
  constructor(path: string, onError?: (err: Error) => void) {
    super(path, readCredentials, onError, (a, b) => JSON.stringify(a.file) === JSON.stringify(b.file));
  }
}
