/**
 * The HTTP door every Agora server puts in front of its routes (master, agent, services,
 * jobs). In order, for each request:
 *
 *   1. `/login` and `/logout` are the door's own: a login page, and a session cookie
 *      (HttpOnly, SameSite=Strict) for the web UIs.
 *   2. Open paths (`/health`, `/ping`) pass without credentials.
 *   3. A write (any method but GET, HEAD, OPTIONS) that a browser marks cross-site
 *      (`Sec-Fetch-Site`) or that comes from another origin (`Origin`) is refused 403: with
 *      SameSite=Strict cookies and no CORS, that closes CSRF, including bodiless writes
 *      such as `DELETE /v2/apps/x`. Clients that are not browsers send neither header.
 *   4. A body that is not JSON (`Content-Type: application/json` or `…+json`) is refused 415:
 *      a `text/plain` POST is what a cross-site form or `fetch` can send without a preflight.
 *   5. Credentials: `Authorization: Basic` (principal:secret, what Marathon's and Chronos's
 *      clients send), `Authorization: Bearer <secret>`, or the session cookie. None, or wrong
 *      ones: 401. A browser navigating is sent to the login page instead.
 *   6. Writes need an operator whose role is admin: a viewer gets 403. Finer rules (which
 *      role's weights, whose sandbox) are the ACLs, which routes check with the principal
 *      the door returns.
 *
 * A revoked principal's open responses (event streams, follows) are cut at once. Sessions are
 * in http-door-sessions.ts; what is read off a request before step 5, in http-door-requests.ts.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { Logger } from '../log';
import type { Credentials, LiveCredentials, Principal } from './credentials';
import { crossSite, hasBody, isJsonType, json } from './http-door-requests';
import { DoorSessions } from './http-door-sessions';
import type { TlsFiles } from './pki';
import { DEFAULT_HTTP_LIMITS, PrincipalLimits, type LimitOptions } from './limits';

export interface DoorOptions {
  /** The credentials as they are now (a live file's `get`). */
  credentials(): Credentials;
  /** Names this server's session cookie; cookies ignore ports, so each server needs its own name. */
  name: string;
  /** Paths anyone may read: health checks, pings. */
  openPaths?: readonly string[];
  /** Shown on the login page: "Sign in to <title>". */
  title?: string;
  /** The host certificate: the server behind the door speaks HTTPS, and its session cookie is `Secure`. */
  tls?: TlsFiles;
  log: Logger;
  /** How long a UI session lasts. */
  sessionTtlMs?: number;
  /** Per-principal rate and open responses; DEFAULT_HTTP_LIMITS when absent. */
  limits?: LimitOptions;
  now?: () => number;
}

/** What the door decided: go on as `principal` (undefined on an open path), or it has answered. */
export type Admission = { admitted: true; principal?: Principal } | { admitted: false };

export interface HttpDoor {
  /** The server behind this door serves HTTPS with these (common/security/https.ts). */
  readonly tls?: TlsFiles;
  admit(req: IncomingMessage, res: ServerResponse, url: URL): Promise<Admission>;
  /** Cuts the open responses of principals that no longer have credentials. */
  revokeGone(): void;
  close(): void;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function httpDoor(o: DoorOptions): HttpDoor {
  const now = o.now ?? Date.now;
  const open = new Set(o.openPaths ?? ['/health', '/ping']);
  const sessions = new DoorSessions({
    cookieName: `agora_session_${o.name.replace(/[^A-Za-z0-9_]/g, '_')}`, ttlMs: o.sessionTtlMs ?? 12 * 60 * 60 * 1000, secure: !!o.tls,
    title: o.title ?? 'Agora', credentials: () => o.credentials(), now, log: o.log,
  });
  /** Each open response and the principal it serves, so a revoke can cut it. */
  const live = new Map<ServerResponse, string>();
  const limits = new PrincipalLimits(o.limits ?? DEFAULT_HTTP_LIMITS, now);

  /** undefined: no credentials offered; null: offered and wrong. */
  const authenticate = (req: IncomingMessage): Principal | null | undefined => {
    const header = req.headers.authorization;
    if (typeof header !== 'string') return sessions.principalOf(req);
    const proved = o.credentials().fromAuthorization(header);
    return 'principal' in proved ? proved.principal : null;
  };

  const admit = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<Admission> => {
    if (url.pathname === '/login') {
      await sessions.login(req, res, url);
      return { admitted: false };
    }
    if (url.pathname === '/logout') {
      sessions.logout(req, res);
      return { admitted: false };
    }
    if (open.has(url.pathname)) return { admitted: true };
    const write = !READS.has(req.method ?? 'GET');
    if (refusedUnread(req, res, write)) return { admitted: false };
    const principal = authenticate(req);
    if (!principal) {
      askForCredentials(req, res, url, write, principal);
      return { admitted: false };
    }
    if (write && !(principal.kind === 'operator' && principal.operatorRole === 'admin')) {
      json(res, 403, { message: `${principal.kind} '${principal.name}' may not ${req.method} ${url.pathname}: writes need an operator whose role is admin`, principal: principal.name });
      return { admitted: false };
    }
    if (!withinLimits(limits, live, res, principal.name)) return { admitted: false };
    return { admitted: true, principal };
  };

  const revokeGone = (): void => {
    const creds = o.credentials();
    for (const [res, name] of live) {
      if (creds.has(name)) continue;
      o.log.warn('credentials revoked: cutting an open response', { principal: name });
      live.delete(res);
      res.destroy();
    }
    sessions.forgetRevoked(creds);
  };

  return { ...(o.tls ? { tls: o.tls } : {}), admit, revokeGone, close: () => { sessions.clear(); live.clear(); } };
}

/** Steps 3 and 4, before anyone is asked who they are: a cross-site write (403), a body that is not JSON (415). True when refused. */
function refusedUnread(req: IncomingMessage, res: ServerResponse, write: boolean): boolean {
  if (write) {
    const why = crossSite(req);
    if (why) {
      json(res, 403, { message: `a write from another site is refused: ${why}` });
      return true;
    }
  }
  if (hasBody(req) && !isJsonType(req.headers['content-type'])) {
    json(res, 415, { message: `the body must be JSON (Content-Type: application/json), not '${req.headers['content-type'] ?? 'none'}'` });
    return true;
  }
  return false;
}

/** No credentials (`offered` undefined) or wrong ones (null): 401, or a browser navigating is sent to the login page. */
function askForCredentials(req: IncomingMessage, res: ServerResponse, url: URL, write: boolean, offered: null | undefined): void {
  const browser = req.headers['sec-fetch-mode'] !== undefined;
  if (browser && req.headers['sec-fetch-mode'] === 'navigate' && !write) {
    res.writeHead(302, { location: `/login?next=${encodeURIComponent(url.pathname + url.search)}` });
    res.end();
  } else {
    // A browser's fetch must not pop up the native basic-auth dialog: the UI shows its own login.
    json(res, 401, { message: offered === null ? 'wrong credentials' : 'authentication required: basic auth (principal:secret), a bearer secret, or a session from /login' },
      browser ? {} : { 'www-authenticate': 'Basic realm="agora", charset="UTF-8"' });
  }
}

/**
 * Over its rate or its open responses, a principal waits (429); everyone else goes on. A
 * response admitted holds one of its principal's open responses until it closes. True when admitted.
 */
function withinLimits(limits: PrincipalLimits, live: Map<ServerResponse, string>, res: ServerResponse, name: string): boolean {
  const rate = limits.take(name);
  if (!rate.ok) {
    json(res, 429, { message: rate.why }, { 'retry-after': String(Math.ceil(rate.retryAfterMs / 1000)) });
    return false;
  }
  const held = limits.open(name);
  if (!held.ok) {
    json(res, 429, { message: held.why });
    return false;
  }
  live.set(res, name);
  res.once('close', () => { live.delete(res); held.release(); });
  return true;
}

/**
 * The door of a server that watches its credentials file: a revoked principal's open
 * responses are cut as the file changes. The cookie is named after the server's kind and port
 * (the process id for a port picked by the kernel); `close` stops listening to the file.
 */
export function lockedDoor(credentials: LiveCredentials, o: Omit<DoorOptions, 'credentials' | 'name'> & { kind: string; port: number }): HttpDoor {
  const door = httpDoor({ ...o, credentials: () => credentials.get(), name: `${o.kind}_${o.port || process.pid}` });
  const unwatch = credentials.onChange(() => door.revokeGone());
  return { ...door, close: () => { unwatch(); door.close(); } };
}
