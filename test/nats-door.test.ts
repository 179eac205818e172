/**
 * The NATS door of a locked cluster, tried with real NATS clients against a real
 * nats-server, master and agent: who may connect, what an agent's credential may publish and
 * receive, what the master refuses of an agent that speaks for another, and a revoked
 * credential's live connection cut.
 */
import { spawn, type ChildProcess } from 'child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createConnection } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { stopChild } from '../common/nats-server';
import { connect, Events, type NatsConnection, type NatsError, type Status } from 'nats';
import { pb } from '../common/proto';
import { resourcesToWire } from '../common/codec';
import { parse } from '../common/resources';
import { subjects } from '../common/subjects';
import { natsIdentity } from '../common/security/nats-client';
import type { NatsRole } from '../common/security/nats-auth';
import { Election, frameworksBucket, leadersBucket } from '../common/leadership';
import { credentials } from '../cli/credentials';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { agentState, eventually, startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');
const subj = subjects();
let cluster: TestCluster;
const open: NatsConnection[] = [];

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'process' });
});
afterAll(async () => {
  for (const nc of open) if (!nc.isClosed()) await nc.close();
  await cluster.stop();
});

/** A connection as agent principal `name`, and the server's refusals of what it did (PERMISSIONS_VIOLATION, …). */
async function as(name: string, role: NatsRole = 'agent'): Promise<{ nc: NatsConnection; owner: string; refusals(n: number): Promise<string[]> }> {
  const { nc, owner } = await cluster.natsAs(name, role);
  open.push(nc);
  const errors: string[] = [];
  let wake = () => undefined as void;
  void (async () => { for await (const s of nc.status()) if (s.type === Events.Error) { errors.push(String(s.data)); wake(); } })();
  const refusals = (n: number) => new Promise<string[]>((resolve) => {
    wake = () => { if (errors.length >= n) resolve(errors); };
    wake();
  });
  return { nc, owner, refusals };
}

/** A connection as the master's own NATS user. */
async function asMaster(): Promise<NatsConnection> {
  const id = natsIdentity('master', subj, cluster.doors, cluster.security!.identity('master'));
  const nc = await connect({ servers: cluster.nats.url, ...id.options });
  open.push(nc);
  return nc;
}

/** Sees, as the master's user, what reaches the subjects the master and agents listen on. */
async function monitor(pattern: string): Promise<{ seen: string[]; until(subject: string | RegExp): Promise<void> }> {
  const nc = await asMaster();
  const seen: string[] = [];
  const waiters: { match: (s: string) => boolean; resolve: () => void }[] = [];
  nc.subscribe(pattern, { callback: (_e, m) => {
    seen.push(m.subject);
    for (const w of waiters) if (w.match(m.subject)) w.resolve();
  } });
  await nc.flush();
  return {
    seen,
    until: (subject) => new Promise((resolve) => {
      waiters.push({ match: (s) => (typeof subject === 'string' ? s === subject : subject.test(s)), resolve });
    }),
  };
}

const localAgent = () => cluster.agents[0]!;

describe('who may connect', () => {
  it('refuses a plaintext connection: the server wants TLS before anything else', async () => {
    const port = Number(new URL(cluster.nats.url).port);
    const said = await new Promise<string>((resolve, reject) => {
      let text = '';
      const sock = createConnection({ host: '127.0.0.1', port }, () => sock.write('CONNECT {"verbose":false}\r\nPING\r\n'));
      sock.on('data', (d) => { text += d.toString(); });
      sock.on('close', () => resolve(text));
      sock.on('error', reject);
    });
    // It says TLS first, then takes the plaintext CONNECT for a failed handshake and hangs up.
    expect(said).toMatch(/^INFO .*"tls_required":true/);
    expect(said).not.toMatch(/PONG|\+OK/);
  });

  it('refuses an anonymous client over TLS', async () => {
    const err = await connect({ servers: cluster.nats.url, tls: { ca: cluster.doors!.tls.ca.toString() }, reconnect: false })
      .then(() => undefined, (e: NatsError) => e);
    expect(err?.code).toBe('AUTHORIZATION_VIOLATION');
  });

  it('refuses a principal whose secret is wrong: its key does not match its JWT', async () => {
    const wrong = { ...cluster.security!.identity('other-agent'), secret: 'agora_not-the-secret' };
    const id = natsIdentity('agent', subj, cluster.doors, wrong);
    const err = await connect({ servers: cluster.nats.url, ...id.options, reconnect: false }).then(() => undefined, (e: NatsError) => e);
    expect(err?.code).toBe('AUTHORIZATION_VIOLATION');
  });

  it('lets an operator principal in nowhere (it has no NATS user), and a framework only as a framework', () => {
    expect(() => natsIdentity('agent', subj, cluster.doors, cluster.security!.identity('admin'))).toThrow(/has no NATS user/);
    expect(() => natsIdentity('agent', subj, cluster.doors, cluster.security!.identity('services'))).toThrow(/is a NATS framework, not a agent/);
    expect(() => natsIdentity('master', subj, cluster.doors, cluster.security!.identity('local-agent'))).toThrow(/is a NATS agent, not a master/);
  });
});

describe("an agent's credential", () => {
  it("cannot publish on another agent's master subjects (registration, heartbeat, status, usage, unregistration)", async () => {
    const watch = await monitor(`${subj.prefix}.master.>`);
    const { nc, owner, refusals } = await as('other-agent');
    const forbidden = (['register', 'heartbeat', 'status', 'usage', 'unregister'] as const).map((verb) => subj[verb]('local-agent'));
    for (const s of forbidden) nc.publish(s, new Uint8Array([0]));
    // Published after the forbidden ones on the same connection: once it arrives, they would have.
    const sentinel = subj.usage(owner);
    nc.publish(sentinel, new Uint8Array([0]));
    await watch.until(sentinel);
    expect(watch.seen).toEqual([sentinel]);
    expect(await refusals(forbidden.length)).toEqual(forbidden.map(() => 'PERMISSIONS_VIOLATION'));
  });

  it("cannot receive another agent's commands, nor anything under other owners", async () => {
    const { nc } = await as('other-agent');
    const refusal = new Promise<string>((resolve) => {
      nc.subscribe(`${subj.prefix}.agent.local-agent.>`, { callback: (err) => { if (err) resolve(err.message); } });
    });
    expect(await refusal).toMatch(/Permissions Violation for Subscription to "agora\.agent\.local-agent\.>"/);
    const everything = new Promise<string>((resolve) => {
      nc.subscribe('>', { callback: (err) => { if (err) resolve(err.message); } });
    });
    expect(await everything).toMatch(/Permissions Violation for Subscription to ">"/);
  });

  it('cannot publish a run message, to another agent or to itself, and no task starts', async () => {
    const watch = await monitor(`${subj.prefix}.agent.>`);
    const { nc, owner, refusals } = await as('other-agent');
    const run = pb.RunTaskMessage.encode({
      frameworkId: 'fw-x', frameworkInfo: { name: 'intruder' },
      task: { taskId: 'planted', name: 'planted', agentId: localAgent().agentId, command: { value: 'touch /tmp/agora-planted' }, resources: resourcesToWire(parse('cpus:0.1;mem:16')) },
    }).finish();
    nc.publish(subj.run('local-agent', localAgent().agentId), run);
    nc.publish(subj.run(owner, 'agent-anything'), run);
    nc.publish(subj.kill('local-agent', localAgent().agentId), new Uint8Array([0]));
    await nc.flush();
    // The master's own message after them reaches the monitor; theirs never did.
    const master = await asMaster();
    const sentinel = subj.ack('local-agent', 'agent-sentinel');
    master.publish(sentinel, new Uint8Array([0]));
    await watch.until(sentinel);
    expect(watch.seen).toEqual([sentinel]);
    expect(await refusals(3)).toEqual(['PERMISSIONS_VIOLATION', 'PERMISSIONS_VIOLATION', 'PERMISSIONS_VIOLATION']);
    expect((await cluster.state()).tasks.map((t) => t.id)).not.toContain('planted');
    // Nor did the agent start anything: it has no run of it.
    expect(JSON.stringify(await agentState(localAgent()))).not.toContain('planted');
  });

  it('cannot write to JetStream (the offer log is the master\'s alone)', async () => {
    const { nc } = await as('other-agent');
    const err = await nc.jetstream().publish(`${subj.prefix}.offers.x`, new Uint8Array([1]), { timeout: 2000 }).then(() => undefined, (e: Error) => e);
    expect(err).toBeDefined();
    const jsm = await nc.jetstreamManager({ timeout: 2000 }).then(() => undefined, (e: Error) => e);
    expect(jsm).toBeDefined();
  });
});

describe('the master, to an agent that speaks for another under its own name', () => {
  const register = (nc: NatsConnection, owner: string, agentId: string) => nc.request(subj.register(owner), pb.RegisterAgentRequest.encode({
    agentInfo: { id: agentId, hostname: 'intruder', resources: resourcesToWire(parse('cpus:1;mem:128')), port: 1 }, version: 'x',
  }).finish(), { timeout: 5000 }).then((m) => pb.RegisterAgentResponse.decode(m.data));

  it("refuses a registration with another agent's id, naming both principals", async () => {
    const { nc, owner } = await as('other-agent');
    const reply = await register(nc, owner, localAgent().agentId);
    expect(reply.error).toBe(`agent ${localAgent().agentId} registered as principal 'local-agent'; principal 'other-agent' may not speak for it`);
    const agent = (await cluster.state()).agents.find((a) => a.id === localAgent().agentId);
    expect(agent).toMatchObject({ hostname: '127.0.0.1', principal: 'local-agent', status: 'ACTIVE' });
  });

  it("refuses a heartbeat and an unregistration for another agent's id, and the agent stays", async () => {
    const { nc, owner } = await as('other-agent');
    const beat = pb.HeartbeatResponse.decode((await nc.request(subj.heartbeat(owner), pb.AgentHeartbeat.encode({ agentId: localAgent().agentId }).finish(), { timeout: 5000 })).data);
    expect(beat.error).toMatch(/principal 'other-agent' may not speak for it/);
    const gone = pb.UnregisterAgentResponse.decode((await nc.request(subj.unregister(owner), pb.UnregisterAgentRequest.encode({ agentId: localAgent().agentId, reason: 'bye' }).finish(), { timeout: 5000 })).data);
    expect(gone.error).toMatch(/principal 'other-agent' may not speak for it/);
    expect((await cluster.state()).agents.map((a) => a.id)).toContain(localAgent().agentId);
  });

  it("drops a status update for another agent's task, and one that names no agent", async () => {
    const scheduler: Scheduler = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'nats-door' } });
    const log = new EventLog(scheduler);
    try {
      const offer = await log.offer((o) => o.agentId === localAgent().agentId);
      await scheduler.launch(offer, [task({ id: 'long', command: 'sleep 600', cpus: 0.1, mem: 16, process: true }, offer)]);
      await log.status('long', 'TASK_RUNNING');
      const { nc, owner } = await as('other-agent');
      const finished = (agentId: string) => pb.StatusUpdateMessage.encode({
        frameworkId: scheduler.frameworkId,
        status: { taskId: 'long', frameworkId: scheduler.frameworkId, agentId, state: pb.TaskState.TASK_FINISHED, source: pb.StatusSource.SOURCE_EXECUTOR, uuid: 'forged' },
      }).finish();
      nc.publish(subj.status(owner), finished(localAgent().agentId));
      nc.publish(subj.status(owner), finished(''));
      // A request after them on the same connection: when it is answered, the master has read them.
      await nc.request(subj.heartbeat(owner), pb.AgentHeartbeat.encode({ agentId: 'agent-none' }).finish(), { timeout: 5000 });
      expect((await cluster.state()).tasks.find((t) => t.id === 'long')?.state).toBe('TASK_RUNNING');
    } finally {
      await scheduler.teardown();
      scheduler.close();
    }
  });

  it("drops a request whose reply subject is not its sender's inbox: the master publishes on no one else's subjects", async () => {
    const watch = await monitor(`${subj.prefix}.>`);
    const { nc, owner } = await as('other-agent');
    // A reply subject of another agent's: the master must not answer there.
    const planted = subj.run('local-agent', localAgent().agentId);
    nc.publish(subj.register(owner), new Uint8Array([0xff]), { reply: planted });
    // The master answers this one after reading the first: its answer reaches the monitor after any to the planted subject.
    const answer = watch.until(new RegExp(`^${subj.inbox(owner).replace(/\./g, '\\.')}\\.`));
    const answered = await nc.request(subj.heartbeat(owner), pb.AgentHeartbeat.encode({ agentId: 'agent-none' }).finish(), { timeout: 5000 });
    expect(pb.HeartbeatResponse.decode(answered.data).reregister).toBe(true);
    await answer;
    // (The master's own acks to local-agent may pass meanwhile: the test before tore its framework down.)
    expect(watch.seen).not.toContain(planted);
    expect(watch.seen.filter((x) => x.endsWith('.run'))).toEqual([]);
  });
});

describe("a framework's credential (the services and jobs frameworks' --ha)", () => {
  it('may hold its lease in the frameworks\' bucket', async () => {
    const { nc } = await as('services', 'framework');
    const election = await Election.join({
      nc, bucket: frameworksBucket(subj.prefix), group: 'services-door-test', candidate: { id: 'services-1', address: '127.0.0.1:1', pid: process.pid }, leaseMs: 1500,
    });
    const epoch = election.isLeader() ? election.epoch()! : await new Promise<number>((resolve) => election.onElected(resolve));
    expect(election.check()).toBe(epoch);
    expect(election.leader()).toMatchObject({ id: 'services-1', epoch });
    await election.stop();
  });

  it("cannot publish on the agents' or the master's subjects, nor write the masters' lease", async () => {
    const watch = await monitor('>');
    const { nc, refusals } = await as('jobs', 'framework');
    const forbidden = [subj.run('local-agent', 'some-agent'), subj.kill('local-agent', 'some-agent'), subj.register('local-agent'), subj.status('local-agent'), `$KV.${leadersBucket(subj.prefix)}.master`];
    for (const s of forbidden) nc.publish(s, new Uint8Array([0]));
    expect(await refusals(forbidden.length)).toEqual(forbidden.map(() => 'PERMISSIONS_VIOLATION'));
    expect(watch.seen.filter((s) => forbidden.includes(s))).toEqual([]);
  });
});

describe('a second agent with its own credential', () => {
  it('registers under its principal, and its revocation cuts its live connection', async () => {
    const second = await cluster.addAgent({ principal: 'other-agent' });
    const view = (await cluster.state()).agents.find((a) => a.id === second.agentId);
    expect(view?.principal).toBe('other-agent');

    const { nc } = await as('other-agent');
    const cut = new Promise<Status>((resolve) => {
      void (async () => { for await (const s of nc.status()) if (s.type === Events.Disconnect) resolve(s); })();
    });
    // Its key and JWT, kept to try again once the credential is gone.
    const before = natsIdentity('agent', subj, cluster.doors, cluster.security!.identity('other-agent')).options;
    expect(await credentials(['revoke', 'other-agent', '--dir', cluster.security!.dir], () => undefined)).toBe(0);
    await cut;
    const again = await connect({ servers: cluster.nats.url, reconnect: false, ...before }).then(() => undefined, (e: NatsError) => e);
    expect(again?.code).toBe('AUTHORIZATION_VIOLATION');
  });
});

/** Host B's environment: no client config but the security folder's own (no AGORA_CONFIG, AGORA_HOME, nor ~/.agora). */
function hostEnv(home: string): NodeJS.ProcessEnv {
  const { AGORA_CONFIG: _c, AGORA_HOME: _h, ...env } = process.env;
  return { ...env, HOME: join(home, 'home'), AGORA_LOG: 'warn' };
}

describe('an agent on another host, set up as SECURITY.md says', () => {
  let hostB: string;
  let agentB: ChildProcess | undefined;
  afterAll(async () => {
    if (agentB) await stopChild(agentB);
    rmSync(hostB, { recursive: true, force: true });
  });

  it('joins with its own credential, a copied credentials file and its certificate, and nothing else', async () => {
    const dir = cluster.security!.dir;
    const printed: string[] = [];
    await credentials(['create', 'agent', 'host-b', '--dir', dir], (l) => printed.push(l));
    const secret = printed.at(-1)!;
    hostB = mkdtempSync(join(tmpdir(), 'agora-host-b-'));
    await credentials(['cert', '--name', '127.0.0.1', '--out', join(hostB, 'tls'), '--dir', dir], () => undefined);
    copyFileSync(join(dir, 'credentials.json'), join(hostB, 'credentials.json'));
    mkdirSync(join(hostB, 'nats'));
    copyFileSync(join(dir, 'nats', 'cluster.json'), join(hostB, 'nats', 'cluster.json'));
    writeFileSync(join(hostB, 'config'), JSON.stringify({ contexts: { b: { ca: 'tls/ca.crt', user: 'host-b' } }, current: 'b', users: { 'host-b': { principal: 'host-b', secret } } }), { mode: 0o600 });

    agentB = spawn(process.execPath, [BIN, 'agent', '--security-dir', hostB, '--principal', 'host-b', '--nats', cluster.nats.url,
      '--port', '0', '--host', '127.0.0.1', '--hostname', 'host-b', '--work-dir', join(hostB, 'work'), '--containerizer', 'process',
      '--resources', 'cpus:1;mem:256'], { stdio: 'ignore', env: hostEnv(hostB) });
    await eventually('host-b registered', async () => (await cluster.state()).agents.some((a) => a.hostname === 'host-b'));
    expect((await cluster.state()).agents.find((a) => a.hostname === 'host-b')).toMatchObject({ principal: 'host-b', status: 'ACTIVE' });
  });
});
