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
 * A revoked principal's open responses (event streams, follows) are cut at once.
 */
import { randomBytes } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import type { Logger } from '../log';
import type { Credentials, LiveCredentials, Principal } from './credentials';
import { loginPage } from './login-page';
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
const MAX_SESSIONS = 10_000;
const MAX_LOGIN_BYTES = 4096;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** True when the request carries a body. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

export function isJsonType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Why a write must be refused as cross-site, or undefined. */
export function crossSite(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `the browser marked this request ${site}`;
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return `its Origin '${origin}' is not a URL`;
    }
    if (host !== req.headers.host) return `it comes from ${origin}, not from this server`;
  } else if (origin === 'null') {
    return 'it comes from an opaque origin';
  }
  return undefined;
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Only a path on this server: never `//evil` or a scheme, so the login cannot be turned into an open redirect. */
function safeNext(raw: string | null): string {
  return raw && raw.startsWith('/') && !raw.startsWith('//') && !raw.includes('\\') ? raw : '/';
}

function readSmallBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('end', () => resolve(size > max ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

interface Session {
  name: string;
  expiresAt: number;
}

export function httpDoor(o: DoorOptions): HttpDoor {
  const now = o.now ?? Date.now;
  const ttl = o.sessionTtlMs ?? 12 * 60 * 60 * 1000;
  const cookieName = `agora_session_${o.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const open = new Set(o.openPaths ?? ['/health', '/ping']);
  const sessions = new Map<string, Session>();
  const live = new Map<ServerResponse, string>();
  const limits = new PrincipalLimits(o.limits ?? DEFAULT_HTTP_LIMITS, now);

  const fromSession = (req: IncomingMessage): Principal | undefined => {
    const id = cookie(req, cookieName);
    const s = id === undefined ? undefined : sessions.get(id);
    if (!s || !id) return undefined;
    // An expired session, or one whose principal was revoked, is gone for good.
    const principal = s.expiresAt > now() ? o.credentials().principal(s.name) : undefined;
    if (!principal) sessions.delete(id);
    return principal;
  };

  /** undefined: no credentials offered; null: offered and wrong. */
  const authenticate = (req: IncomingMessage): Principal | null | undefined => {
    const header = req.headers.authorization;
    if (typeof header !== 'string') return fromSession(req);
    const proved = o.credentials().fromAuthorization(header);
    return 'principal' in proved ? proved.principal : null;
  };

  const login = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const html = loginPage(o.title ?? 'Agora', safeNext(url.searchParams.get('next')));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : html);
      return;
    }
    if (req.method !== 'POST') return json(res, 405, { message: `/login answers GET and POST, not ${req.method}` });
    const why = crossSite(req);
    if (why) return json(res, 403, { message: `a login from another site is refused: ${why}` });
    if (!isJsonType(req.headers['content-type'])) return json(res, 415, { message: 'send the login as application/json: {"principal":"…","secret":"…"}' });
    const text = await readSmallBody(req, MAX_LOGIN_BYTES);
    let body: { principal?: unknown; secret?: unknown } = {};
    try {
      body = JSON.parse(text ?? '') as typeof body;
    } catch {
      return json(res, 400, { message: 'the login is not JSON: send {"principal":"…","secret":"…"}' });
    }
    const p = typeof body.principal === 'string' && typeof body.secret === 'string' ? o.credentials().verify(body.principal, body.secret) : undefined;
    if (!p) return json(res, 401, { message: 'wrong principal or secret' });
    if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, { name: p.name, expiresAt: now() + ttl });
    o.log.info('signed in', { principal: p.name });
    json(res, 200, { principal: p.name, kind: p.kind, role: p.operatorRole }, {
      'set-cookie': `${cookieName}=${id}; HttpOnly; SameSite=Strict;${o.tls ? ' Secure;' : ''} Path=/; Max-Age=${Math.floor(ttl / 1000)}`,
    });
  };

  const logout = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST') return json(res, 405, { message: `/logout answers POST, not ${req.method}` });
    const id = cookie(req, cookieName);
    if (id) sessions.delete(id);
    json(res, 200, { message: 'signed out' }, { 'set-cookie': `${cookieName}=; HttpOnly; SameSite=Strict;${o.tls ? ' Secure;' : ''} Path=/; Max-Age=0` });
  };

  const admit = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<Admission> => {
    if (url.pathname === '/login') {
      await login(req, res, url);
      return { admitted: false };
    }
    if (url.pathname === '/logout') {
      logout(req, res);
      return { admitted: false };
    }
    if (open.has(url.pathname)) return { admitted: true };
    const write = !READS.has(req.method ?? 'GET');
    if (write) {
      const why = crossSite(req);
      if (why) {
        json(res, 403, { message: `a write from another site is refused: ${why}` });
        return { admitted: false };
      }
    }
    if (hasBody(req) && !isJsonType(req.headers['content-type'])) {
      json(res, 415, { message: `the body must be JSON (Content-Type: application/json), not '${req.headers['content-type'] ?? 'none'}'` });
      return { admitted: false };
    }
    const principal = authenticate(req);
    if (!principal) {
      const browser = req.headers['sec-fetch-mode'] !== undefined;
      if (browser && req.headers['sec-fetch-mode'] === 'navigate' && !write) {
        res.writeHead(302, { location: `/login?next=${encodeURIComponent(url.pathname + url.search)}` });
        res.end();
      } else {
        // A browser's fetch must not pop up the native basic-auth dialog: the UI shows its own login.
        json(res, 401, { message: principal === null ? 'wrong credentials' : 'authentication required: basic auth (principal:secret), a bearer secret, or a session from /login' },
          browser ? {} : { 'www-authenticate': 'Basic realm="agora", charset="UTF-8"' });
      }
      return { admitted: false };
    }
    if (write && !(principal.kind === 'operator' && principal.operatorRole === 'admin')) {
      json(res, 403, { message: `${principal.kind} '${principal.name}' may not ${req.method} ${url.pathname}: writes need an operator whose role is admin`, principal: principal.name });
      return { admitted: false };
    }
    // Over its rate or its open responses, a principal waits (429); everyone else goes on.
    const rate = limits.take(principal.name);
    if (!rate.ok) {
      json(res, 429, { message: rate.why }, { 'retry-after': String(Math.ceil(rate.retryAfterMs / 1000)) });
      return { admitted: false };
    }
    const held = limits.open(principal.name);
    if (!held.ok) {
      json(res, 429, { message: held.why });
      return { admitted: false };
    }
    live.set(res, principal.name);
    res.once('close', () => { live.delete(res); held.release(); });
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
    for (const [id, s] of sessions) if (!creds.has(s.name)) sessions.delete(id);
  };

  return { ...(o.tls ? { tls: o.tls } : {}), admit, revokeGone, close: () => { sessions.clear(); live.clear(); } };
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
