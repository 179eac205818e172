/**
 * Every door locked (issue 14): the master's HTTP and gRPC, an agent's HTTP, the services and
 * jobs frameworks' HTTP, on a real cluster started as `agora up` starts it (TLS, the
 * bootstrapped credentials). Each refusal is checked to change nothing.
 */
import { credentials as grpcCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import { request } from './support/http';
import { get as plainGet } from 'http';
import { connect as tlsConnect } from 'tls';
import { readFileSync } from 'fs';
import { join } from 'path';
import { authorizationHeader } from '../common/security/client-config';
import { newSecret, readCredentials, writeCredentials } from '../common/security/credentials';
import { channelCredentials } from '../common/security/grpc-auth';
import { securityPaths } from '../common/security/security-dir';
import { callUnary, SchedulerClient, subscribeFramework } from './support/test-clients';
import { TEST_IMAGE, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';
import { subscribe, task } from '../frameworks/sdk';
import type { TestJobs } from './support/jobs';
import { startPlatform, type TestPlatform } from './support/platform';
import type { TestServices } from './support/services';

jest.setTimeout(120_000);

let platform: TestPlatform | undefined;
let cluster: TestCluster;
let services: TestServices;
let jobs: TestJobs;

beforeAll(async () => { ({ cluster, services, jobs } = platform = await startPlatform()); });
afterAll(() => platform?.stop());

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; text: string }

/** One raw HTTP request with exactly the headers given: no credentials unless the test adds them. */
function call(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      // An event stream never ends: its status and headers are the answer.
      if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
        return;
      }
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const as = (name: string) => ({ authorization: cluster.security!.header(name) });
const ports = () => ({ master: cluster.master.httpPort, agent: cluster.agents[0]!.httpPort, services: services.services.port, jobs: jobs.jobs.port });

describe('every HTTP door speaks TLS with a certificate of the cluster CA', () => {
  it.each(['master', 'agent', 'services', 'jobs'] as const)('%s: a plaintext request gets no answer; over TLS the certificate verifies against the CA and the session cookie is Secure', async (door) => {
    const port = ports()[door];
    // Plain HTTP to a TLS port: the server takes it for a failed handshake and hangs up, or answers 400 — never a page.
    const plain = await new Promise<string>((resolve) => {
      const req = plainGet({ host: '127.0.0.1', port, path: '/health' }, (res) => { res.resume(); resolve(`HTTP ${res.statusCode}`); });
      req.on('error', (err) => resolve(err.message));
    });
    expect(plain).not.toMatch(/^HTTP 2/);
    const peer = await new Promise<{ authorized: boolean; issuer: string }>((resolve, reject) => {
      const sock = tlsConnect({ host: '127.0.0.1', port, ca: cluster.security!.identity('admin').ca!, servername: '' }, () => {
        resolve({ authorized: sock.authorized, issuer: String(sock.getPeerCertificate().issuer.CN) });
        sock.end();
      });
      sock.on('error', reject);
    });
    expect(peer).toEqual({ authorized: true, issuer: 'Agora cluster CA' });
    const admin = cluster.security!.identity('admin');
    const login = await call(port, 'POST', '/login', { 'content-type': 'application/json' }, JSON.stringify({ principal: admin.principal, secret: admin.secret }));
    expect(login.status).toBe(200);
    expect(String(login.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Strict; Secure;/);
  });
});

describe('without credentials, or with wrong ones, every door says 401; health and ping stay open', () => {
  const reads: [keyof ReturnType<typeof ports>, string][] = [
    ['master', '/api/v1/state'], ['master', '/metrics'], ['master', '/api/v1/events'], ['master', '/api/v1/offers/events'], ['master', '/api/v1/offers'],
    ['master', '/api/v1/weights'], ['master', '/ui/'], ['agent', '/state'], ['agent', '/files/browse?framework_id=f&task_id=t'],
    ['services', '/v2/apps'], ['services', '/v2/events'], ['services', '/v2/info'], ['jobs', '/v1/jobs'], ['jobs', '/v1/events'], ['jobs', '/v1/scheduler/jobs'],
  ];

  it.each(reads)('%s %s: 401 with a Basic challenge, and 401 for a wrong secret', async (door, path) => {
    const port = ports()[door];
    const none = await call(port, 'GET', path);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm="agora"/);
    const wrong = await call(port, 'GET', path, { authorization: authorizationHeader({ principal: 'admin', secret: newSecret() }) });
    expect(wrong.status).toBe(401);
    const bearer = await call(port, 'GET', path, { authorization: `Bearer ${newSecret()}` });
    expect(bearer.status).toBe(401);
  });

  it.each([['master', '/health'], ['agent', '/health'], ['services', '/ping'], ['jobs', '/ping']] as const)('%s %s answers without credentials', async (door, path) => {
    expect((await call(ports()[door], 'GET', path)).status).toBe(200);
  });

  it('the right secret opens each door, as basic auth or as a bearer secret', async () => {
    const admin = cluster.security!.identity('admin');
    expect((await call(ports().master, 'GET', '/api/v1/state', as('admin'))).status).toBe(200);
    expect((await call(ports().master, 'GET', '/api/v1/state', { authorization: `Bearer ${admin.secret}` })).status).toBe(200);
    expect((await call(ports().agent, 'GET', '/state', as('viewer'))).status).toBe(200);
    expect((await call(ports().services, 'GET', '/v2/apps', as('viewer'))).status).toBe(200);
    expect((await call(ports().jobs, 'GET', '/v1/jobs', as('viewer'))).status).toBe(200);
  });

  it('a browser navigating without a session is sent to the login page, which loads without one', async () => {
    const nav = await call(ports().master, 'GET', '/ui/', { 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none' });
    expect(nav.status).toBe(302);
    expect(nav.headers.location).toBe('/login?next=%2Fui%2F');
    const page = await call(ports().master, 'GET', '/login?next=/ui/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sign in to the Agora master');
  });
});

describe('a viewer reads but never writes: 403 on each write, and nothing changes', () => {
  it('master: weights and marking an agent gone', async () => {
    const json = { ...as('viewer'), 'content-type': 'application/json' };
    const put = await call(ports().master, 'PUT', '/api/v1/weights', json, '{"web": 3}');
    expect(put.status).toBe(403);
    expect(JSON.parse(put.text).message).toMatch(/operator 'viewer' may not PUT \/api\/v1\/weights: writes need an operator whose role is admin/);
    const agentId = cluster.agents[0]!.agentId;
    expect((await call(ports().master, 'POST', `/api/v1/agents/${agentId}/gone`, as('viewer'))).status).toBe(403);
    const state = JSON.parse((await call(ports().master, 'GET', '/api/v1/state', as('admin'))).text) as { agents: { id: string; status: string }[] };
    expect(state.agents.find((a) => a.id === agentId)?.status).toBe('ACTIVE');
    expect(JSON.parse((await call(ports().master, 'GET', '/api/v1/weights', as('admin'))).text)).toEqual({});
  });

  it('services and jobs: creating and deleting', async () => {
    const json = { ...as('viewer'), 'content-type': 'application/json' };
    expect((await call(ports().services, 'POST', '/v2/apps', json, JSON.stringify({ id: '/v', cmd: 'sleep 1', cpus: 0.1, mem: 16 }))).status).toBe(403);
    expect((await call(ports().services, 'DELETE', '/v2/apps/v', as('viewer'))).status).toBe(403);
    expect((await call(ports().jobs, 'POST', '/v1/jobs', json, JSON.stringify({ id: 'v', run: { cmd: 'true', cpus: 0.1, mem: 16 } }))).status).toBe(403);
    expect(JSON.parse((await call(ports().services, 'GET', '/v2/apps', as('admin'))).text).apps).toEqual([]);
    expect(JSON.parse((await call(ports().jobs, 'GET', '/v1/jobs', as('admin'))).text)).toEqual([]);
  });
});

describe('CSRF: what a page on another site can send is refused', () => {
  it('a text/plain body is 415 on every door that takes bodies, and nothing is created', async () => {
    const plain = { ...as('admin'), 'content-type': 'text/plain' };
    const app = JSON.stringify({ id: '/csrf', cmd: 'sleep 1', cpus: 0.1, mem: 16 });
    const refused = await call(ports().services, 'POST', '/v2/apps', plain, app);
    expect(refused.status).toBe(415);
    expect(JSON.parse(refused.text).message).toMatch(/the body must be JSON \(Content-Type: application\/json\), not 'text\/plain'/);
    expect((await call(ports().jobs, 'POST', '/v1/jobs', plain, JSON.stringify({ id: 'csrf', run: { cmd: 'true', cpus: 0.1, mem: 16 } }))).status).toBe(415);
    expect((await call(ports().master, 'PUT', '/api/v1/weights', plain, '{"web": 2}')).status).toBe(415);
    expect(JSON.parse((await call(ports().services, 'GET', '/v2/apps', as('admin'))).text).apps).toEqual([]);
  });

  it('a bodiless write from another origin, or one the browser marks cross-site, is 403; the same from a client that is no browser goes through', async () => {
    const json = { ...as('admin'), 'content-type': 'application/json' };
    const created = await call(ports().services, 'POST', '/v2/apps', json, JSON.stringify({ id: '/kept', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 0 }));
    expect(created.status).toBe(201);
    const fromEvil = await call(ports().services, 'DELETE', '/v2/apps/kept', { ...as('admin'), origin: 'http://evil.example' });
    expect(fromEvil.status).toBe(403);
    expect(JSON.parse(fromEvil.text).message).toMatch(/comes from http:\/\/evil\.example/);
    expect((await call(ports().services, 'DELETE', '/v2/apps/kept', { ...as('admin'), 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await call(ports().services, 'DELETE', '/v2/apps/kept', { ...as('admin'), 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect(JSON.parse((await call(ports().services, 'GET', '/v2/apps/kept', as('admin'))).text).app.id).toBe('/kept');
    expect((await call(ports().services, 'DELETE', '/v2/apps/kept', as('admin'))).status).toBe(200);
  });

  it('event streams send no wildcard CORS header', async () => {
    for (const [door, path] of [['master', '/api/v1/events'], ['master', '/api/v1/offers/events'], ['services', '/v2/events'], ['jobs', '/v1/events']] as const) {
      const open = await call(ports()[door], 'GET', path, as('viewer'));
      expect(open.status).toBe(200);
      expect(open.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('a login is a JSON POST: its cookie is HttpOnly and SameSite=Strict, and opens the door it was made at', async () => {
    const admin = cluster.security!.identity('admin');
    expect((await call(ports().services, 'POST', '/login', { 'content-type': 'text/plain' }, JSON.stringify(admin))).status).toBe(415);
    expect((await call(ports().services, 'POST', '/login', { 'content-type': 'application/json' }, JSON.stringify({ principal: 'admin', secret: 'nope' }))).status).toBe(401);
    const ok = await call(ports().services, 'POST', '/login', { 'content-type': 'application/json' }, JSON.stringify({ principal: admin.principal, secret: admin.secret }));
    expect(ok.status).toBe(200);
    const cookie = String(ok.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const session = cookie.split(';')[0]!;
    expect((await call(ports().services, 'GET', '/v2/apps', { cookie: session })).status).toBe(200);
    expect((await call(ports().jobs, 'GET', '/v1/jobs', { cookie: session })).status).toBe(401);   // another door, another session
  });
});

describe('gRPC: TLS, a principal on every call, and a framework acts only as itself', () => {
  it('a call without credentials is UNAUTHENTICATED, and so is a wrong secret; plaintext does not connect at all', async () => {
    const ca = cluster.security!.identity('admin').ca!;
    const anonymous = new SchedulerClient(cluster.grpcAddr, grpcCredentials.createSsl(ca));
    const none = await callUnary(anonymous, 'Revive', { frameworkId: 'x', streamId: 'y' });
    expect(none?.code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(none?.details).toMatch(/no credentials/);
    anonymous.close();
    const wrong = new SchedulerClient(cluster.grpcAddr, channelCredentials({ principal: 'team-a', secret: newSecret(), ca }));
    const refused = await callUnary(wrong, 'Revive', { frameworkId: 'x', streamId: 'y' });
    expect(refused?.code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(refused?.details).toMatch(/wrong principal or secret for 'team-a'/);
    wrong.close();
    const plain = new SchedulerClient(cluster.grpcAddr, grpcCredentials.createInsecure());
    const err = await callUnary(plain, 'Revive', { frameworkId: 'x', streamId: 'y' });
    expect(err?.code).toBe(GrpcStatus.UNAVAILABLE);
    plain.close();
  });

  it('FrameworkInfo.principal is the authenticated principal; naming another is PERMISSION_DENIED', async () => {
    const a = await subscribeFramework(cluster.master.grpcPort, { name: 'a', roles: ['team-a'] }, cluster.security!.identity('team-a'));
    const state = JSON.parse((await call(ports().master, 'GET', '/api/v1/state', as('admin'))).text) as { frameworks: { id: string; principal: string }[] };
    expect(state.frameworks.find((f) => f.id === a.frameworkId)?.principal).toBe('team-a');
    await expect(subscribeFramework(cluster.master.grpcPort, { name: 'forged', principal: 'team-a', roles: ['team-b'] }, cluster.security!.identity('team-b')))
      .rejects.toThrow(/framework_info.principal 'team-a' is not the authenticated principal 'team-b'/);
    a.close();
  });

  it("another principal can neither subscribe under a framework's id nor act with its stream; the framework stays subscribed", async () => {
    const a = await subscribeFramework(cluster.master.grpcPort, { name: 'a', roles: ['team-a'], failoverTimeoutMs: 60_000 }, cluster.security!.identity('team-a'));
    await expect(subscribeFramework(cluster.master.grpcPort, { name: 'thief', id: a.frameworkId, roles: ['team-b'] }, cluster.security!.identity('team-b')))
      .rejects.toThrow(/principal 'team-b' may not subscribe as framework .* which belongs to principal 'team-a'/);
    const b = new SchedulerClient(cluster.grpcAddr, channelCredentials(cluster.security!.identity('team-b')));
    for (const [method, extra] of [['Teardown', {}], ['Kill', { taskId: 't', agentId: 'x' }], ['Revive', {}], ['Reconcile', {}]] as const) {
      const err = await callUnary(b, method, { frameworkId: a.frameworkId, streamId: a.streamId, ...extra });
      expect([method, err?.code]).toEqual([method, GrpcStatus.PERMISSION_DENIED]);
      expect(err?.details).toMatch(/principal 'team-b' may not act for framework .* which belongs to principal 'team-a'/);
    }
    b.close();
    expect(await callUnary(a.client, 'Revive', { frameworkId: a.frameworkId, streamId: a.streamId })).toBeNull();
    a.close();
  });
});

describe('the ACLs (acls.json, default deny) decide roles, users and container privileges', () => {
  it('a framework cannot claim a role its principal lacks: PERMISSION_DENIED naming the principal, the action and the role, and no framework is added', async () => {
    const before = JSON.parse((await call(ports().master, 'GET', '/api/v1/state', as('admin'))).text).frameworks.length;
    await expect(subscribeFramework(cluster.master.grpcPort, { name: 'greedy', roles: ['team-a', 'team-b'] }, cluster.security!.identity('team-a')))
      .rejects.toThrow(/principal 'team-a' may not register_frameworks with role 'team-b': no ACL rule allows it \(permissive: false\)/);
    await expect(subscribeFramework(cluster.master.grpcPort, { name: 'star', roles: ['*'] }, cluster.security!.identity('team-a')))
      .rejects.toThrow(/may not register_frameworks with role '\*'/);
    expect(JSON.parse((await call(ports().master, 'GET', '/api/v1/state', as('admin'))).text).frameworks).toHaveLength(before);
  });

  it('a task as root, on the host network, or with a host path or the Docker socket is TASK_ERROR (unauthorized) naming the rule, and no container starts', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'risky', roles: ['team-a'] }, credentials: cluster.security!.identity('team-a') });
    const log = new EventLog(s);
    try {
      const offer = await log.offer();
      const base = (id: string) => task({ id, command: 'sleep 60', cpus: 0.1, mem: 16, image: TEST_IMAGE }, offer);
      const asRoot = base('as-root');
      asRoot.command.user = 'root';
      const hostNet = task({ id: 'host-net', command: 'sleep 60', cpus: 0.1, mem: 16, image: TEST_IMAGE, network: 'HOST' }, offer);
      const hostPath = base('host-path');
      hostPath.container.volumes = [{ containerPath: '/host-tmp', hostPath: '/tmp', mode: 'RW' }];
      const socket = base('docker-sock');
      socket.container.volumes = [{ containerPath: '/var/run/docker.sock', hostPath: '/var/run/docker.sock', mode: 'RW' }];
      await s.launch(offer, [asRoot, hostNet, hostPath, socket]);
      const why = {
        'as-root': /principal 'team-a' may not run_tasks as user 'root'/,
        'host-net': /principal 'team-a' may not host_network/,
        'host-path': /principal 'team-a' may not host_volumes .*\/tmp/,
        'docker-sock': /principal 'team-a' may not (privileged|host_volumes)/,
      };
      for (const [id, pattern] of Object.entries(why)) {
        const st = await log.status(id, 'TASK_ERROR');
        expect([id, st.reason]).toEqual([id, 'REASON_TASK_UNAUTHORIZED']);
        expect(st.message).toMatch(pattern);
      }
      const tasks = JSON.parse((await call(ports().master, 'GET', '/api/v1/state', as('admin'))).text).tasks as { id: string }[];
      expect(tasks.filter((t) => Object.keys(why).includes(t.id))).toEqual([]);
      const agentTasks = JSON.parse((await call(ports().agent, 'GET', '/state', as('admin'))).text).tasks as { id: string }[];
      expect(agentTasks.filter((t) => Object.keys(why).includes(t.id))).toEqual([]);
    } finally {
      await s.teardown().catch(() => undefined);
      s.close();
    }
  });

  it('the same framework may run a plain task as the default user', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'plain', roles: ['team-a'] }, credentials: cluster.security!.identity('team-a') });
    const log = new EventLog(s);
    try {
      const offer = await log.offer();
      await s.launch(offer, [task({ id: 'plain', command: 'id -u', cpus: 0.1, mem: 16, process: true }, offer)]);
      await log.status('plain', 'TASK_FINISHED');
    } finally {
      await s.teardown().catch(() => undefined);
      s.close();
    }
  });

  it('a services app with a host volume keeps it, and its task is refused for want of the host_volumes grant, never launched without the volume', async () => {
    const json = { ...as('admin'), 'content-type': 'application/json' };
    const app = { id: '/mounts-host', cmd: 'sleep 600', cpus: 0.1, mem: 16, container: { type: 'DOCKER', docker: { image: TEST_IMAGE }, volumes: [{ containerPath: '/host', hostPath: '/etc', mode: 'RO' }] } };
    const refused = services.events.next((e) => e.eventType === 'status_update_event' && e.appId === '/mounts-host' && e.taskStatus === 'TASK_ERROR');
    expect((await call(ports().services, 'POST', '/v2/apps', json, JSON.stringify(app))).status).toBe(201);
    const shown = JSON.parse((await call(ports().services, 'GET', '/v2/apps/mounts-host', as('admin'))).text).app;
    expect(shown.container.volumes).toEqual([{ containerPath: '/host', hostPath: '/etc', mode: 'RO' }]);
    const update = await refused;
    expect(String(update.message)).toMatch(/principal 'services' may not host_volumes .*\/etc/);
    expect((await call(ports().services, 'DELETE', '/v2/apps/mounts-host?force=true', as('admin'))).status).toBe(200);
  });

  it('an admin may set weights; the ACLs are read from acls.json', async () => {
    const put = await call(ports().master, 'PUT', '/api/v1/weights', { ...as('admin'), 'content-type': 'application/json' }, '{"team-a": 2}');
    expect(put.status).toBe(200);
    expect(JSON.parse(put.text)).toEqual({ 'team-a': 2 });
  });
});

describe('revoking a credential', () => {
  it('cuts its live gRPC subscription and its open event stream, and refuses it from then on', async () => {
    const paths = securityPaths(cluster.security!.dir);
    // A principal of its own, so the other tests keep theirs.
    const secret = newSecret();
    writeCredentials(paths.credentials, readCredentials(paths.credentials).adding('short-lived', 'operator', secret, 'admin'));
    const ca = readFileSync(join(paths.tls, 'ca.crt'));
    const identity = { principal: 'short-lived', secret, ca };
    await waitFor(async () => (await call(ports().master, 'GET', '/api/v1/state', { authorization: authorizationHeader(identity) })).status === 200);
    const sub = await subscribeFramework(cluster.master.grpcPort, { name: 'revoked-soon' }, identity);
    const stream = openStream(ports().services, '/v2/events', { authorization: authorizationHeader(identity) });
    await stream.opened;
    writeCredentials(paths.credentials, readCredentials(paths.credentials).removing('short-lived'));
    const ended = await sub.ended;
    expect(ended?.code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(ended?.details).toMatch(/the credentials of principal 'short-lived' were revoked/);
    await stream.closed;
    expect((await call(ports().master, 'GET', '/api/v1/state', { authorization: authorizationHeader(identity) })).status).toBe(401);
    const err = await callUnary(sub.client, 'Revive', { frameworkId: sub.frameworkId, streamId: sub.streamId });
    expect(err?.code).toBe(GrpcStatus.UNAUTHENTICATED);
    sub.client.close();
  });
});

/** Re-checks until true: the doors re-read the credentials file when it changes, on their own time. */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('never true');
}

function openStream(port: number, path: string, headers: Record<string, string>): { opened: Promise<void>; closed: Promise<void> } {
  let opened!: () => void;
  const o = new Promise<void>((r) => { opened = r; });
  const closed = new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
      expect(res.statusCode).toBe(200);
      opened();
      res.on('data', () => undefined);
      res.on('close', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
  });
  return { opened: o, closed };
}
