import { createServer, request, type Server } from 'http';
import type { AddressInfo } from 'net';
import { logger } from '../log';
import { authorizationHeader } from './client-config';
import { emptyCredentials, newSecret, type Credentials } from './credentials';
import { httpDoor, type HttpDoor } from './http-door';
import { crossSite, isJsonType } from './http-door-requests';

const admin = { principal: 'admin', secret: newSecret() };
const viewer = { principal: 'viewer', secret: newSecret() };
const framework = { principal: 'web', secret: newSecret() };
let creds: Credentials = emptyCredentials()
  .adding(admin.principal, 'operator', admin.secret, 'admin')
  .adding(viewer.principal, 'operator', viewer.secret, 'viewer')
  .adding(framework.principal, 'framework', framework.secret);

let server: Server;
let port: number;
let door: HttpDoor;
let now = 1_000_000;
/** What the route behind the door saw: who, per request. */
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  door = httpDoor({ credentials: () => creds, name: 'test', log: logger('test'), sessionTtlMs: 60_000, now: () => now, limits: { ratePerSec: 50, burst: 50, maxOpen: 3 } });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    void door.admit(req, res, url).then((a) => {
      if (!a.admitted) return;
      seen.push(a.principal?.name);
      if (url.pathname === '/stream') { res.writeHead(200); res.write('open'); return; }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const basic = (id: { principal: string; secret: string }) => ({ authorization: authorizationHeader(id) });

describe('the HTTP door', () => {
  it('lets the open paths through without credentials, and nothing else', async () => {
    expect((await send('GET', '/health')).status).toBe(200);
    expect((await send('GET', '/ping')).status).toBe(200);
    expect((await send('GET', '/state')).status).toBe(401);
  });

  it('hands the route the principal that basic auth, a bearer secret or a session proves', async () => {
    seen.length = 0;
    await send('GET', '/a', basic(viewer));
    await send('GET', '/a', { authorization: `Bearer ${framework.secret}` });
    expect(seen).toEqual(['viewer', 'web']);
  });

  it('a viewer and a framework may read but not write; an admin may write', async () => {
    const json = { 'content-type': 'application/json' };
    expect((await send('POST', '/x', { ...basic(viewer), ...json }, '{}')).status).toBe(403);
    expect((await send('DELETE', '/x', basic(framework))).status).toBe(403);
    expect((await send('POST', '/x', { ...basic(admin), ...json }, '{}')).status).toBe(200);
  });

  it('415 for a body that is not JSON, whoever sends it; JSON types with parameters or +json suffixes pass', async () => {
    expect((await send('POST', '/x', { ...basic(admin), 'content-type': 'text/plain' }, '{}')).status).toBe(415);
    expect((await send('POST', '/x', { ...basic(admin), 'content-type': 'application/x-www-form-urlencoded' }, 'a=b')).status).toBe(415);
    expect((await send('POST', '/x', basic(admin), '{}')).status).toBe(415);
    expect(isJsonType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonType('application/merge-patch+json')).toBe(true);
    expect(isJsonType('text/json')).toBe(false);
  });

  it('a write marked cross-site or same-site by the browser, or from another origin, is 403; same-origin, user-initiated and non-browser writes pass', () => {
    const req = (headers: Record<string, string>) => ({ headers: { host: '127.0.0.1:8080', ...headers } }) as never;
    expect(crossSite(req({ 'sec-fetch-site': 'cross-site' }))).toMatch(/cross-site/);
    expect(crossSite(req({ 'sec-fetch-site': 'same-site' }))).toMatch(/same-site/);
    expect(crossSite(req({ origin: 'http://127.0.0.1:9999' }))).toMatch(/comes from http:\/\/127\.0\.0\.1:9999, not from this server/);
    expect(crossSite(req({ origin: 'null' }))).toMatch(/opaque origin/);
    expect(crossSite(req({ 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:8080' }))).toBeUndefined();
    expect(crossSite(req({ 'sec-fetch-site': 'none' }))).toBeUndefined();
    expect(crossSite(req({}))).toBeUndefined();
  });

  it('a login makes a session that expires with its time, and never redirects off the server', async () => {
    const login = await send('POST', '/login', { 'content-type': 'application/json' }, JSON.stringify(viewer));
    expect(login.status).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^agora_session_test=/);
    expect((await send('GET', '/a', { cookie })).status).toBe(200);
    now += 60_001;
    expect((await send('GET', '/a', { cookie })).status).toBe(401);
    const page = await send('GET', '/login?next=//evil.example/x');
    expect(page.text).toContain('data-next="/"');
  });

  it('a browser fetch without credentials gets no basic-auth challenge (the UI shows its own login), a navigation goes to the login page', async () => {
    const fetched = await send('GET', '/api', { 'sec-fetch-mode': 'cors' });
    expect(fetched.status).toBe(401);
    expect(fetched.headers['www-authenticate']).toBeUndefined();
    const nav = await send('GET', '/ui/?x=1', { 'sec-fetch-mode': 'navigate' });
    expect([nav.status, nav.headers.location]).toEqual([302, '/login?next=%2Fui%2F%3Fx%3D1']);
  });

  it('a principal over its rate gets 429 with Retry-After, on the door\'s clock; another principal goes on', async () => {
    now += 10_000;   // a full bucket of 50
    const answers = await Promise.all(Array.from({ length: 51 }, () => send('GET', '/a', basic(admin))));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(50);
    const over = answers.find((a) => a.status === 429)!;
    expect(over.headers['retry-after']).toBe('1');
    expect(JSON.parse(over.text).message).toMatch(/principal 'admin' is over its rate of 50 calls\/s \(burst 50\): retry in 20 ms/);
    expect((await send('GET', '/a', basic(viewer))).status).toBe(200);
    now += 20;
    expect((await send('GET', '/a', basic(admin))).status).toBe(200);
  });

  it('a principal holding its most open streams gets 429 for another, until one closes', async () => {
    now += 10_000;
    const streams = await Promise.all([0, 1, 2].map(() => new Promise<() => void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/stream', headers: basic(viewer) }, (res) => res.once('data', () => resolve(() => req.destroy())));
      req.end();
    })));
    const fourth = await send('GET', '/a', basic(viewer));
    expect(fourth.status).toBe(429);
    expect(JSON.parse(fourth.text).message).toMatch(/principal 'viewer' already holds 3 open streams/);
    streams[0]!();
    // The server sees the close on its own time: ask again until it has (bounded).
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) {
      status = (await send('GET', '/a', basic(viewer))).status;
      if (status !== 200) await new Promise((r) => setImmediate(r));
    }
    expect(status).toBe(200);
    streams.slice(1).forEach((close) => close());
  });

  it('cuts the open responses of a principal whose credentials are revoked, and only those', async () => {
    const open = (id: { principal: string; secret: string }) => new Promise<{ closed: Promise<void> }>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/stream', headers: basic(id) }, (res) => {
        const closed = new Promise<void>((r) => { res.on('close', () => r()); res.on('error', () => r()); });
        res.once('data', () => resolve({ closed }));
      });
      req.end();
    });
    const web = await open(framework);
    const kept = await open(viewer);
    let keptClosed = false;
    void kept.closed.then(() => { keptClosed = true; });
    creds = creds.removing('web');
    door.revokeGone();
    await web.closed;
    expect(keptClosed).toBe(false);
    expect((await send('GET', '/a', basic(framework))).status).toBe(401);
  });
});
