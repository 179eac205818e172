import { status as GrpcStatus, credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { Agent as HttpAgent, request as httpRequest } from 'http';
import { connect, type NatsConnection } from 'nats';
import { taskInfoToWire } from '../common/codec';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import type { MasterStateView } from '../common/operator-types';
import { decodeAs, pb } from '../common/proto';
import { schedulerService } from '../common/scheduler-service';
import { OPEN_OWNER, subjects } from '../common/subjects';
import type { Offer } from '../common/types';
import { callUnary, FakeAgent, followOfferLog, getJson, subscribeFramework, type TestFramework } from '../test/support/test-clients';
import { startMaster, type MasterHandle } from './server';
import { taskInfo } from '../test/support/master-harness';
import { eventually } from '../test/support/cluster';

let nats: NatsServer;
let master: MasterHandle;
const prefix = 'shelltest';
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  master = await startMaster({
    natsUrl: nats.url, subjectPrefix: prefix, host: '127.0.0.1', httpPort: 0, grpcPort: 0, allocationIntervalMs: 50, hostname: 'master.test',
  });
});

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

afterAll(async () => {
  await master?.stop();
  await nats?.stop();
});

async function framework(): Promise<TestFramework> {
  const fw = await subscribeFramework(master.grpcPort);
  cleanups.push(() => fw.close());
  return fw;
}

async function agent(resources?: string): Promise<FakeAgent> {
  const a = await FakeAgent.connect(nats.url, prefix);
  cleanups.push(() => a.close());
  await a.register(resources);
  return a;
}

async function offerFrom(fw: TestFramework, agentId: string): Promise<Offer> {
  const event = await fw.events.take((e) => e.type === 'OFFERS' && e.offers.some((o) => o.agentId === agentId), `an offer of ${agentId}`);
  const offer = event.type === 'OFFERS' ? event.offers.find((o) => o.agentId === agentId) : undefined;
  if (!offer) throw new Error('unreachable');
  return offer;
}

const call = (fw: TestFramework) => ({ frameworkId: fw.frameworkId, streamId: fw.streamId });

describe('master over gRPC and NATS', () => {
  it('answers Subscribe with SUBSCRIBED: a framework id, a stream id and the master\'s actual ports', async () => {
    const fw = await framework();
    expect(fw.frameworkId).toMatch(/^fw-/);
    expect(fw.streamId).toMatch(/^stream-/);
    expect(master.info).toMatchObject({ httpPort: master.httpPort, grpcPort: master.grpcPort, hostname: 'master.test' });
  });

  it('offers an agent registered over NATS, launches on Accept, forwards its status and passes the ack back', async () => {
    const fw = await framework();
    const a = await agent('cpus:2;mem:1024');
    expect(a.agentId).toMatch(/^agent-/);
    const offer = await offerFrom(fw, a.agentId);

    const task = taskInfoToWire(taskInfo('web-1', 'cpus:1;mem:256'));
    expect(await callUnary(fw.client, 'Accept', { ...call(fw), offerIds: [offer.id], operations: [{ type: pb.Operation.Type.LAUNCH, launch: { taskInfos: [task] } }] })).toBeNull();
    const run = await a.runs.take(() => true, 'RunTaskMessage');
    expect(run).toMatchObject({ frameworkId: fw.frameworkId, task: { taskId: 'web-1', agentId: a.agentId } });

    a.sendStatus(fw.frameworkId, 'web-1', pb.TaskState.TASK_RUNNING, 'uuid-1');
    const update = await fw.events.take((e) => e.type === 'UPDATE', 'UPDATE');
    expect(update).toMatchObject({ type: 'UPDATE', status: { taskId: 'web-1', state: 'TASK_RUNNING', uuid: 'uuid-1', agentId: a.agentId } });

    expect(await callUnary(fw.client, 'Acknowledge', { ...call(fw), agentId: a.agentId, taskId: 'web-1', uuid: 'uuid-1' })).toBeNull();
    expect(await a.acks.take(() => true, 'StatusUpdateAck')).toMatchObject({ frameworkId: fw.frameworkId, taskId: 'web-1', uuid: 'uuid-1' });
  });

  it('answers unary calls that do not present the live subscription with an explaining status', async () => {
    const fw = await framework();
    const cases: [object, number, RegExp][] = [
      [{ frameworkId: '', streamId: fw.streamId }, GrpcStatus.INVALID_ARGUMENT, /framework_id is missing/],
      [{ frameworkId: fw.frameworkId, streamId: '' }, GrpcStatus.INVALID_ARGUMENT, /stream_id is missing/],
      [{ frameworkId: 'fw-nobody', streamId: fw.streamId }, GrpcStatus.NOT_FOUND, /framework fw-nobody is not known/],
      [{ frameworkId: fw.frameworkId, streamId: 'stream-stale' }, GrpcStatus.PERMISSION_DENIED, /stream id stream-stale is not the live subscription/],
    ];
    for (const [req, code, details] of cases) {
      const err = await callUnary(fw.client, 'Revive', req);
      expect(err?.code).toBe(code);
      expect(err?.details).toMatch(details);
    }
  });

  it('answers a request whose bytes do not decode with INVALID_ARGUMENT, and keeps serving', async () => {
    const fw = await framework();
    const Raw = makeGenericClientConstructor({
      Accept: { ...schedulerService.Accept, requestSerialize: (b: Buffer) => b },
    }, 'RawScheduler');
    const raw = new Raw(`127.0.0.1:${master.grpcPort}`, credentials.createInsecure());
    cleanups.push(() => raw.close());
    const err = await callUnary(raw, 'Accept', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(err?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/malformed AcceptRequest/);
    expect(await callUnary(fw.client, 'Revive', call(fw))).toBeNull();
  });

  it('ends the older stream when the same framework subscribes again', async () => {
    const first = await framework();
    const second = await subscribeFramework(master.grpcPort, { id: first.frameworkId });
    cleanups.push(() => second.close());
    expect(second.frameworkId).toBe(first.frameworkId);
    expect(await first.events.take((e) => e.type === 'ERROR', 'ERROR on the old stream')).toMatchObject({ message: expect.stringContaining('failed over') });
    expect(await first.ended).toBeUndefined();
  });
});

describe('garbage from agents', () => {
  let nc: NatsConnection;
  const subj = subjects(prefix);
  beforeAll(async () => { nc = await connect({ servers: nats.url, inboxPrefix: subj.inbox(OPEN_OWNER) }); });
  afterAll(async () => { await nc.close(); });

  it('answers an undecodable registration with an error naming the message', async () => {
    const reply = await nc.request(subj.register(OPEN_OWNER), Uint8Array.from([0xff, 0xff, 0xff]), { timeout: 5000 });
    const decoded = decodeAs(pb.RegisterAgentResponse, 'RegisterAgentResponse', reply.data);
    expect(decoded.error).toMatch(/malformed RegisterAgentRequest/);
    expect(decoded.agentId).toBe('');
  });

  it('answers an undecodable heartbeat with an error naming the message, and a known agent\'s next one normally', async () => {
    const reply = await nc.request(subj.heartbeat(OPEN_OWNER), Uint8Array.from([0x0a, 0xff]), { timeout: 5000 });
    expect(decodeAs(pb.HeartbeatResponse, 'HeartbeatResponse', reply.data)).toMatchObject({
      error: expect.stringMatching(/malformed AgentHeartbeat/), reregister: false, masterId: master.info.id,
    });
    const a = await agent();
    const ok = await nc.request(subj.heartbeat(OPEN_OWNER), pb.AgentHeartbeat.encode({ agentId: a.agentId }).finish(), { timeout: 5000 });
    expect(decodeAs(pb.HeartbeatResponse, 'HeartbeatResponse', ok.data)).toMatchObject({ reregister: false, masterId: master.info.id });
  });

  it('tells an agent the master does not know to re-register', async () => {
    const reply = await nc.request(subj.heartbeat(OPEN_OWNER), pb.AgentHeartbeat.encode({ agentId: 'agent-unknown' }).finish(), { timeout: 5000 });
    expect(decodeAs(pb.HeartbeatResponse, 'HeartbeatResponse', reply.data).reregister).toBe(true);
  });

  it('survives an undecodable status update and goes on forwarding good ones', async () => {
    const fw = await framework();
    const a = await agent();
    nc.publish(subj.status(OPEN_OWNER), Uint8Array.from([0xff, 0x01, 0x02]));
    nc.publish(subj.status(OPEN_OWNER), pb.StatusUpdateMessage.encode({ frameworkId: fw.frameworkId }).finish()); // no status inside
    a.sendStatus(fw.frameworkId, 'ghost', pb.TaskState.TASK_RUNNING, 'u-ghost');
    expect(await fw.events.take((e) => e.type === 'UPDATE', 'UPDATE')).toMatchObject({ status: { taskId: 'ghost', state: 'TASK_RUNNING' } });
  });
});

describe('HTTP operator API', () => {
  it('reports health once serving, as the leader (of epoch 1, standing alone), its process, its address and its gRPC port', async () => {
    expect(await getJson(master.httpPort, '/health')).toEqual({ status: 200, body: {
      status: 'ok', role: 'leader', epoch: 1, pid: process.pid, leader: `127.0.0.1:${master.httpPort}`, grpcPort: master.grpcPort, offerLog: 'durable', registry: 'available',
    } });
  });

  it('serves the state with agents, frameworks and offers in the operator shapes', async () => {
    const fw = await framework();
    const a = await agent('cpus:2;mem:1024');
    await offerFrom(fw, a.agentId);
    for (const path of ['/state', '/api/v1/state']) {
      const { status, body } = await getJson(master.httpPort, path);
      const state = body as MasterStateView;
      expect(status).toBe(200);
      expect(state.master).toMatchObject({ id: master.info.id, httpPort: master.httpPort, grpcPort: master.grpcPort, version: '0.1.0' });
      expect(state.agents.find((x) => x.id === a.agentId)).toMatchObject({
        status: 'ACTIVE', total: { text: 'cpus:2;mem:1024', cpus: 2, mem: 1024, disk: 0, gpus: 0 },
      });
      expect(state.frameworks.find((f) => f.id === fw.frameworkId)).toMatchObject({ connected: true, roles: ['*'] });
      expect(Array.isArray(state.offers) && Array.isArray(state.tasks)).toBe(true);
    }
  });

  it('answers an unknown path with 404 JSON', async () => {
    expect(await getJson(master.httpPort, '/nope')).toEqual({ status: 404, body: { error: 'no such endpoint: /nope' } });
  });

  it('streams the offer log: OFFERED, then DECLINED when the framework declines', async () => {
    const log = await followOfferLog(master.httpPort);
    cleanups.push(() => log.close());
    expect(log.status).toBe(200);
    const fw = await framework();
    const a = await agent();
    const offer = await offerFrom(fw, a.agentId);
    expect(await log.events.take((e) => e.offerId === offer.id, 'OFFERED')).toMatchObject({ type: 'OFFERED', frameworkId: fw.frameworkId, agentId: a.agentId });
    expect(await callUnary(fw.client, 'Decline', { ...call(fw), offerIds: [offer.id], filters: { refuseSeconds: 60 } })).toBeNull();
    expect(await log.events.take((e) => e.offerId === offer.id, 'DECLINED')).toMatchObject({ type: 'DECLINED', refuseMs: 60_000, reason: 'declined by framework' });

    // A later reader asking for a replay sees the same two lines, in order, before anything live.
    const replay = await followOfferLog(master.httpPort, 1000);
    cleanups.push(() => replay.close());
    const mine = (e: { offerId: string }) => e.offerId === offer.id;
    expect((await replay.events.take(mine, 'replayed OFFERED')).type).toBe('OFFERED');
    expect((await replay.events.take(mine, 'replayed DECLINED')).type).toBe('DECLINED');
  });
});

describe('stopping', () => {
  it('ends framework streams and frees its ports', async () => {
    const other = await startMaster({ natsUrl: nats.url, subjectPrefix: 'stoptest', host: '127.0.0.1', httpPort: 0, grpcPort: 0, hostname: 'm2' });
    const fw = await subscribeFramework(other.grpcPort);
    await other.stop();
    const end: ServiceError | undefined = await fw.ended;
    expect(end === undefined || end.code === GrpcStatus.CANCELLED || end.code === GrpcStatus.UNAVAILABLE).toBe(true);
    fw.close();
    await expect(getJson(other.httpPort, '/health')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('stops while a client keeps its keep-alive connection busy, one request after another', async () => {
    const other = await startMaster({ natsUrl: nats.url, subjectPrefix: 'stoptest2', host: '127.0.0.1', httpPort: 0, grpcPort: 0, hostname: 'm3' });
    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string) => httpRequest({ host: '127.0.0.1', port: other.httpPort, method, path, agent: keepAlive });
    const answered = (req: ReturnType<typeof send>) => new Promise<number>((resolve, reject) => {
      req.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject);
    });
    // A request in flight on the one connection when the master stops: its body held back until
    // the master said `100 Continue` (it has the request) and has closed its listening socket.
    const pending = httpRequest({ host: '127.0.0.1', port: other.httpPort, method: 'PUT', path: '/api/v1/weights', agent: keepAlive, headers: { expect: '100-continue', 'content-type': 'application/json' } });
    const pendingAnswer = answered(pending);
    pending.flushHeaders();
    await new Promise((resolve) => pending.once('continue', resolve));
    let stopped = false;
    const stopping = other.stop().then(() => { stopped = true; });
    await eventually('the HTTP server closing', async () => {
      try { await getJson(other.httpPort, '/health'); return false; } catch { return true; }
    });
    pending.end('{}');
    await pendingAnswer;
    // Then the client goes on using its connection, as a health check does: without a cut, close() waits for ever.
    let answers = 0;
    for (let i = 0; !stopped && i < 20_000; i++) {
      try { await answered(send('GET', '/health').end()); answers++; } catch { break; }
    }
    expect(stopped || answers < 20_000).toBe(true);   // bounded: without the cut, 20,000 answers and still not stopped
    await stopping;
    keepAlive.destroy();
    expect(answers).toBeGreaterThan(0);
  });
});
