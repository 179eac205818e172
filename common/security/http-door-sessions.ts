/**
 * The HTTP door's sessions, for the web UIs: `/login` (a page, then a JSON login that sets an
 * HttpOnly, SameSite=Strict cookie, `Secure` behind TLS), `/logout`, and the principal a
 * session cookie stands for. A session ends when it expires or its principal is revoked;
 * at most MAX_SESSIONS are kept, the oldest going first.
 */
import { randomBytes } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import type { Logger } from '../log';
import type { Credentials, Principal } from './credentials';
import { crossSite, isJsonType, json } from './http-door-requests';
import { loginPage } from './login-page';

const MAX_SESSIONS = 10_000;
const MAX_LOGIN_BYTES = 4096;

interface Session {
  name: string;
  expiresAt: number;
}

export interface DoorSessionOptions {
  /** The session cookie's name: one per server, since cookies ignore ports. */
  cookieName: string;
  ttlMs: number;
  /** The cookie is `Secure`: the server behind the door speaks HTTPS. */
  secure: boolean;
  /** Shown on the login page. */
  title: string;
  credentials(): Credentials;
  now(): number;
  log: Logger;
}

export class DoorSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly o: DoorSessionOptions) {}

  /** The principal the request's session cookie stands for, if it is still good. */
  principalOf(req: IncomingMessage): Principal | undefined {
    const id = cookie(req, this.o.cookieName);
    const s = id === undefined ? undefined : this.sessions.get(id);
    if (!s || !id) return undefined;
    // An expired session, or one whose principal was revoked, is gone for good.
    const principal = s.expiresAt > this.o.now() ? this.o.credentials().principal(s.name) : undefined;
    if (!principal) this.sessions.delete(id);
    return principal;
  }

  /** `/login`: the page on GET, a session for a right principal and secret on POST. */
  async login(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const html = loginPage(this.o.title, safeNext(url.searchParams.get('next')));
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
    const p = typeof body.principal === 'string' && typeof body.secret === 'string' ? this.o.credentials().verify(body.principal, body.secret) : undefined;
    if (!p) return json(res, 401, { message: 'wrong principal or secret' });
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { name: p.name, expiresAt: this.o.now() + this.o.ttlMs });
    this.o.log.info('signed in', { principal: p.name });
    json(res, 200, { principal: p.name, kind: p.kind, role: p.operatorRole }, {
      'set-cookie': `${this.o.cookieName}=${id}; HttpOnly; SameSite=Strict;${this.o.secure ? ' Secure;' : ''} Path=/; Max-Age=${Math.floor(this.o.ttlMs / 1000)}`,
    });
  }

  /** `/logout` (POST): the session is forgotten and its cookie cleared. */
  logout(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') return json(res, 405, { message: `/logout answers POST, not ${req.method}` });
    const id = cookie(req, this.o.cookieName);
    if (id) this.sessions.delete(id);
    json(res, 200, { message: 'signed out' }, { 'set-cookie': `${this.o.cookieName}=; HttpOnly; SameSite=Strict;${this.o.secure ? ' Secure;' : ''} Path=/; Max-Age=0` });
  }

  /** The sessions of principals `creds` no longer holds end. */
  forgetRevoked(creds: Credentials): void {
    for (const [id, s] of this.sessions) if (!creds.has(s.name)) this.sessions.delete(id);
  }

  clear(): void {
    this.sessions.clear();
  }
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
