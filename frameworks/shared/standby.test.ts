import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { logger } from '../../common/log';
import { startStandbyHttp, type StandbyHttp } from './standby';

/** A stand-in for the leader: answers every request with what it received. */
let leaderHttp: Server;
let leaderAt = '';
let leads: string | undefined;
let standby: StandbyHttp;
let streamClosed: () => void = () => undefined;

beforeAll(async () => {
  leaderHttp = createServer((req, res) => {
    if (req.url === '/v2/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: hello\ndata: {}\n\n');
      req.socket.once('close', () => streamClosed());
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-from': 'leader' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body, proxiedBy: req.headers['x-agora-proxied-by'], auth: req.headers.authorization }));
    });
  });
  await new Promise<void>((r) => leaderHttp.listen(0, '127.0.0.1', r));
  leaderAt = `127.0.0.1:${(leaderHttp.address() as AddressInfo).port}`;
  standby = await startStandbyHttp({ kind: 'services', leader: () => leads, self: () => 'replica-2', host: '127.0.0.1', port: 0, log: logger('test') });
});

afterAll(async () => {
  await standby.stop();
  await new Promise((r) => leaderHttp.close(r));
});

const at = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${standby.port}${path}`, init);

describe('a standby replica while no leader is known', () => {
  it('answers GET /v2/leader 404 and everything else 503 with Retry-After', async () => {
    leads = undefined;
    const leader = await at('/v2/leader');
    expect(leader.status).toBe(404);
    expect(await leader.json()).toEqual({ message: 'no services replica leads at the moment (an election is under way); try again in a few seconds' });
    const apps = await at('/v2/apps');
    expect([apps.status, apps.headers.get('retry-after')]).toEqual([503, '3']);
    expect((await apps.json() as { message: string }).message).toBe('this services replica is a standby and no leader is elected yet; try again in a few seconds');
  });
});

describe('a standby replica with a leader', () => {
  it('names the leader itself on GET /v2/leader', async () => {
    leads = leaderAt;
    const leader = await at('/v2/leader');
    expect([leader.status, leader.headers.get('x-agora-leader'), await leader.json()]).toEqual([200, leaderAt, { leader: leaderAt }]);
  });

  it('forwards anything else, method, path, body and credentials, marked as forwarded, and passes the answer back naming the leader', async () => {
    leads = leaderAt;
    const res = await at('/v2/apps?force=true', { method: 'POST', body: '{"id":"/a"}', headers: { 'content-type': 'application/json', authorization: 'Basic YTpi' } });
    expect([res.status, res.headers.get('x-from'), res.headers.get('x-agora-leader')]).toEqual([201, 'leader', leaderAt]);
    expect(await res.json()).toEqual({ method: 'POST', url: '/v2/apps?force=true', body: '{"id":"/a"}', proxiedBy: 'replica-2', auth: 'Basic YTpi' });
  });

  it('streams an event stream through, and closes the leader\'s leg when the caller leaves', async () => {
    leads = leaderAt;
    const closed = new Promise<void>((resolve) => { streamClosed = resolve; });
    const caller = new AbortController();
    const res = await at('/v2/events', { signal: caller.signal });
    expect([res.status, res.headers.get('content-type'), res.headers.get('x-agora-leader')]).toEqual([200, 'text/event-stream', leaderAt]);
    const first = await res.body!.getReader().read();
    expect(new TextDecoder().decode(first.value)).toBe('event: hello\ndata: {}\n\n');
    caller.abort();
    await closed;
  });

  it('does not forward a request another replica forwarded: 503, no second hop', async () => {
    leads = leaderAt;
    const res = await at('/v2/apps', { headers: { 'x-agora-proxied-by': 'replica-1' } });
    expect([res.status, res.headers.get('retry-after')]).toEqual([503, '3']);
    expect((await res.json() as { message: string }).message).toContain('forwarded a request by replica-1');
  });

  it('answers 503 with Retry-After when the leader does not answer', async () => {
    leads = '127.0.0.1:1';
    const res = await at('/v2/apps');
    expect([res.status, res.headers.get('retry-after'), res.headers.get('x-agora-leader')]).toEqual([503, '3', '127.0.0.1:1']);
    expect((await res.json() as { message: string }).message).toMatch(/^this replica is a standby and the leader at 127\.0\.0\.1:1 did not answer/);
  });
});
