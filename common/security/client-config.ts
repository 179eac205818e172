/**
 * The client config: how a client (the `agora` command, the SDK, the example framework, the
 * frameworks themselves towards the master) finds the cluster and proves who it is. In the
 * style of kubeconfig, in JSON: named **contexts** (where the master, services and jobs are,
 * and which CA to trust), named **users** (a principal and its secret), and the current
 * context. `agora up` writes it on its first start; `agora credentials create` can add users.
 *
 *   {
 *     "current": "local",
 *     "contexts": { "local": { "master": "127.0.0.1:5050", "services": "127.0.0.1:8080",
 *                              "jobs": "127.0.0.1:4400", "ca": "tls/ca.crt", "user": "admin" } },
 *     "users": { "admin": { "principal": "admin", "secret": "agora_…" } }
 *   }
 *
 * A context's `master` is one master's address or, for replicated masters, all of theirs
 * comma-separated (`"m1:5050,m2:5050,m3:5050"`, as `agora up --masters 3` writes it): still one
 * string, so a config written before lists is read as it was.
 *
 * Where it is: `AGORA_CONFIG`, else `$AGORA_HOME/config`, else `~/.agora/config`. Relative
 * paths in it are relative to its own folder. It holds secrets, so it is written 0600.
 */
import { existsSync, readFileSync } from 'fs';
import { homedir } from 'os';
import { dirname, isAbsolute, join, resolve } from 'path';
import { writeAtomic } from './credentials';

export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
}

export interface ContextEntry {
  /** One master's HTTP address, or several comma-separated (common/master-list.ts). */
  master?: string;
  services?: string;
  jobs?: string;
  /** The CA certificate to trust for TLS, relative to the config's folder or absolute. */
  ca?: string;
  /** The entry of `users` this context speaks as. */
  user?: string;
}

export interface UserEntry {
  principal: string;
  secret: string;
}

export interface ClientConfig {
  current?: string;
  contexts: Record<string, ContextEntry>;
  users: Record<string, UserEntry>;
}

/** A client's identity and trust, resolved from the config: everything a connection needs. */
export interface ClientIdentity {
  readonly principal: string;
  readonly secret: string;
  /** PEM of the CA to trust; absent: the system's roots. */
  readonly ca?: Buffer;
}

/** Agora's own folder on this machine: the CA, the credentials, the ACLs, this config. */
export function agoraHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGORA_HOME || join(homedir(), '.agora');
}

export function clientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGORA_CONFIG || join(agoraHome(env), 'config');
}

function parse(json: unknown, path: string): ClientConfig {
  const bad = (why: string): never => { throw new ClientConfigError(`${path}: ${why}`); };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('expected a JSON object with contexts and users');
  const o = json as Record<string, unknown>;
  const contexts = (o.contexts ?? {}) as Record<string, ContextEntry>;
  const users = (o.users ?? {}) as Record<string, UserEntry>;
  if (typeof contexts !== 'object' || Array.isArray(contexts)) bad('contexts must be an object of named contexts');
  if (typeof users !== 'object' || Array.isArray(users)) bad('users must be an object of named users');
  for (const [name, u] of Object.entries(users)) {
    if (typeof u?.principal !== 'string' || typeof u?.secret !== 'string') bad(`users.${name} needs a principal and a secret (strings)`);
  }
  if (o.current !== undefined && typeof o.current !== 'string') bad('current must be the name of a context');
  return { current: o.current as string | undefined, contexts, users };
}

/** The config at `path`, or undefined when there is none; a broken one is a ClientConfigError. */
export function readClientConfig(path = clientConfigPath()): ClientConfig | undefined {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ClientConfigError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parse(json, path);
}

export function writeClientConfig(config: ClientConfig, path = clientConfigPath()): void {
  writeAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
}

/** The current context (or `name`), with its CA path made absolute. */
export function currentContext(config: ClientConfig, path = clientConfigPath(), name = config.current): ContextEntry | undefined {
  const ctx = name === undefined ? undefined : config.contexts[name];
  if (!ctx) return undefined;
  return { ...ctx, ...(ctx.ca ? { ca: isAbsolute(ctx.ca) ? ctx.ca : resolve(dirname(path), ctx.ca) } : {}) };
}

/**
 * Who this client is: the user `user` names (or the current context's), with the context's
 * CA. Undefined when there is no config, or it names no such user: the caller then speaks
 * without credentials and the door says 401.
 */
export function clientIdentity(o: { user?: string; path?: string; env?: NodeJS.ProcessEnv; config?: ClientConfig } = {}): ClientIdentity | undefined {
  const env = o.env ?? process.env;
  const path = o.path ?? clientConfigPath(env);
  // A caller that read the config already hands it over: one read, not two.
  const config = o.config ?? readClientConfig(path);
  if (!config) return undefined;
  const ctx = currentContext(config, path);
  const userName = o.user ?? env.AGORA_USER ?? ctx?.user;
  const user = userName === undefined ? undefined : config.users[userName];
  if (!user) return undefined;
  let ca: Buffer | undefined;
  if (ctx?.ca) {
    try {
      ca = readFileSync(ctx.ca);
    } catch (err) {
      throw new ClientConfigError(`${path}: cannot read the CA ${ctx.ca}: ${(err as Error).message}`);
    }
  }
  return { principal: user.principal, secret: user.secret, ...(ca ? { ca } : {}) };
}

/** The HTTP Authorization header for an identity: basic, which Marathon's and Chronos's clients speak too. */
export function authorizationHeader(id: Pick<ClientIdentity, 'principal' | 'secret'>): string {
  return `Basic ${Buffer.from(`${id.principal}:${id.secret}`, 'utf8').toString('base64')}`;
}

/** The headers that carry the client config's identity (none without one), for a raw HTTP request. */
export function authHeaders(identity: ClientIdentity | undefined = clientIdentity()): Record<string, string> {
  return identity ? { authorization: authorizationHeader(identity) } : {};
}
