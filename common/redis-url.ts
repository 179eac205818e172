/**
 * The Redis URLs every writer accepts (`--redis`, `AGORA_REDIS`), read without connecting:
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]      one Redis (ioredis reads it as it is)
 *   rediss://…                                     the same over TLS
 *   (no scheme: a socket path, HOST:PORT)          as ioredis reads it
 *   redis-sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]…]/GROUP[/DB][?sentinelPassword=…]
 *
 * A Sentinel URL names the Sentinels (port 26379 when none is given), not a Redis: the client
 * asks them which node is the primary of GROUP, connects there, and asks again after a
 * failover. USER and PASSWORD are the data nodes' (`requirepass`, or an ACL user);
 * `sentinelPassword` (and `sentinelUsername`) are the Sentinels' own, when they require one.
 * Percent-encode what means something in a URL (`@ : / , ? & =`).
 *
 * A Sentinel deployment has a replica by construction, so `expectedReplicas` is 1 for it: the
 * fenced writer waits for that replica to have an epoch claim (common/fenced-redis.ts).
 *
 * Pure: a malformed URL is a RedisUrlError naming what is wrong, its password masked.
 */

export const DEFAULT_SENTINEL_PORT = 26379;

export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
  constructor(readonly url: string, readonly problem: string) {
    super(`bad Redis URL ${redactRedisUrl(url)}: ${problem}`);
  }
}

export interface SentinelAddress {
  host: string;
  port: number;
}

/** What ioredis needs to find and reach the primary through Sentinel (its `RedisOptions` subset). */
export interface SentinelConnection {
  sentinels: SentinelAddress[];
  /** The monitored group (ioredis's `name`). */
  name: string;
  db: number;
  username?: string;
  password?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
}

export type RedisTarget =
  /** redis:// or rediss://, handed to ioredis unchanged. */
  | { kind: 'direct'; url: string; expectedReplicas: 0 }
  | { kind: 'sentinel'; url: string; sentinel: SentinelConnection; expectedReplicas: 1 };

const SENTINEL_SCHEME = 'redis-sentinel:';
const SCHEME = /^([a-z][a-z0-9+.-]*:)\/\//i;
const SENTINEL_PARAMS = new Set(['sentinelPassword', 'sentinelUsername']);

/** Reads a Redis URL: a direct one as it is, a Sentinel one into its parts; RedisUrlError if malformed. */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  // Without a scheme (a socket path, host:port) ioredis reads it as it always did.
  if (scheme === undefined || scheme === 'redis:' || scheme === 'rediss:') return { kind: 'direct', url, expectedReplicas: 0 };
  if (scheme !== SENTINEL_SCHEME) throw new RedisUrlError(url, `the scheme must be redis://, rediss:// or redis-sentinel://, got ${scheme}//`);
  return { kind: 'sentinel', url, sentinel: parseSentinel(url), expectedReplicas: 1 };
}

function parseSentinel(url: string): SentinelConnection {
  const fail = (problem: string): never => { throw new RedisUrlError(url, problem); };
  const rest = url.slice(SENTINEL_SCHEME.length + 2);
  const [beforeQuery, query] = splitOnce(rest, '?');
  const [authority, path] = splitOnce(beforeQuery, '/');
  const at = authority.lastIndexOf('@');
  const credentials = at < 0 ? undefined : authority.slice(0, at);
  const hosts = authority.slice(at + 1);
  if (hosts === '') fail('no Sentinel host (redis-sentinel://HOST[:PORT][,HOST[:PORT]…]/GROUP)');
  const sentinels = hosts.split(',').map((h) => parseAddress(h, fail));
  const [group, db, ...extra] = (path ?? '').split('/');
  if (!group) fail('no group: the Sentinels\' name of the primary comes after the hosts (…/GROUP[/DB])');
  if (extra.length > 0) fail(`too many path parts after the group: /${extra.join('/')} (only /GROUP[/DB])`);
  const conn: SentinelConnection = { sentinels, name: decode(group!, 'the group', fail), db: parseDb(db, fail) };
  if (credentials !== undefined) Object.assign(conn, parseCredentials(credentials, fail));
  for (const [key, value] of parseQuery(query, fail)) {
    if (!SENTINEL_PARAMS.has(key)) fail(`unknown parameter ${key} (known: ${[...SENTINEL_PARAMS].join(', ')})`);
    conn[key as 'sentinelPassword' | 'sentinelUsername'] = value;
  }
  return conn;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

function parseAddress(h: string, fail: (problem: string) => never): SentinelAddress {
  // [v6]:port or host:port; the port is optional.
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*)(?::(.*))?$/.exec(h);
  const host = m?.[1]?.replace(/^\[|\]$/g, '') ?? '';
  if (!m || host === '') fail(`no host in Sentinel address '${h}' (empty, or two commas in a row)`);
  const port = m![2];
  if (port === undefined) return { host, port: DEFAULT_SENTINEL_PORT };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) fail(`bad port '${port}' for ${host}: an integer in 1..65535`);
  return { host, port: Number(port) };
}

function parseDb(db: string | undefined, fail: (problem: string) => never): number {
  if (db === undefined || db === '') return 0;
  if (!/^\d{1,9}$/.test(db)) fail(`bad db '${db}': a database number, 0 or more`);
  return Number(db);
}

function parseCredentials(userinfo: string, fail: (problem: string) => never): Pick<SentinelConnection, 'username' | 'password'> {
  const [user, password] = splitOnce(userinfo, ':');
  const out: Pick<SentinelConnection, 'username' | 'password'> = {};
  if (user) out.username = decode(user, 'the user', fail);
  if (password !== undefined && password !== '') out.password = decode(password, 'the password', fail);
  return out;
}

function parseQuery(query: string | undefined, fail: (problem: string) => never): Array<[string, string]> {
  if (!query) return [];
  return query.split('&').filter((p) => p !== '').map((pair) => {
    const [key, value] = splitOnce(pair, '=');
    if (value === undefined || value === '') fail(`parameter ${decode(key, 'a parameter name', fail)} has no value`);
    return [decode(key, 'a parameter name', fail), decode(value!, `parameter ${key}`, fail)];
  });
}

function decode(s: string, what: string, fail: (problem: string) => never): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return fail(`${what} is not percent-encoded correctly`);
  }
}

/**
 * The URL with every password (the data nodes' and `sentinelPassword`) as `***`, fit for an error
 * or a log line. Textual, so it masks even a URL that does not parse.
 */
export function redactRedisUrl(url: string): string {
  const scheme = SCHEME.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const at = authority.lastIndexOf('@');
  const colon = authority.indexOf(':');
  const masked = at >= 0 && colon >= 0 && colon < at && colon + 1 < at
    ? `${authority.slice(0, colon + 1)}***${authority.slice(at)}`
    : authority;
  const tail = (end < 0 ? '' : rest.slice(end)).replace(/([?&]sentinelPassword=)[^&#]*/gi, '$1***');
  return `${scheme}${masked}${tail}`;
}
