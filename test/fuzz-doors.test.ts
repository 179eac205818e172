/**
 * Malformed input at every door, generated (fast-check), against a real locked cluster: the
 * master's HTTP and gRPC, the services and jobs REST APIs, and the master's NATS subjects.
 * Each input gets a typed refusal (a 4xx, a gRPC status other than INTERNAL, an error reply
 * or nothing), nothing crashes, and the state a refusal must not touch is the same after.
 *
 * `npm test` runs FUZZ_RUNS (default 200) inputs a door; `npm run fuzz` runs 5,000.
 */
import fc from 'fast-check';
import { makeGenericClientConstructor, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { request } from './support/http';
import { clientIdentity } from '../common/security/client-config';
import { channelCredentials } from '../common/security/grpc-auth';
import { schedulerService } from '../common/scheduler-service';
import { subjects } from '../common/subjects';
import { isTerminal, type TaskState } from '../common/types';
import { agentState, type TestCluster } from './support/cluster';
import type { TestJobs } from './support/jobs';
import { startPlatform, type TestPlatform } from './support/platform';
import type { TestServices } from './support/services';

jest.setTimeout(600_000);

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

let platform: TestPlatform | undefined;
let cluster: TestCluster;
let services: TestServices;
let jobs: TestJobs;

beforeAll(async () => { ({ cluster, services, jobs } = platform = await startPlatform()); });
afterAll(() => platform?.stop());

/** One request as the admin; over its rate (429), it waits as told and asks again, so every input reaches the route. */
async function send(port: number, method: string, path: string, body: Buffer | undefined, contentType: string | undefined): Promise<{ status: number; text: string }> {
  for (;;) {
    const answer = await sendOnce(port, method, path, body, contentType);
    if (answer.status !== 429) return answer;
    await new Promise((r) => setTimeout(r, Number(answer.retryAfter ?? 1) * 1000));
  }
}

function sendOnce(port: number, method: string, path: string, body: Buffer | undefined, contentType: string | undefined): Promise<{ status: number; text: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: cluster.security!.header('admin') };
    if (contentType !== undefined) headers['content-type'] = contentType;
    if (body) headers['content-length'] = String(body.length);
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Bodies that are not what any write wants: broken JSON, JSON of the wrong shape, raw bytes. */
const badBody = fc.oneof(
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(`{${s}`)),
  fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.integer(), { maxLength: 5 }), fc.boolean()).map((v) => Buffer.from(JSON.stringify(v))),
  fc.record({ id: fc.oneof(fc.integer(), fc.constant(''), fc.string({ maxLength: 20 }).map((s) => `/${s}/..`)), cpus: fc.oneof(fc.constant(-1), fc.string()), mem: fc.constant('lots') })
    .map((v) => Buffer.from(JSON.stringify(v))),
  fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)),
);

const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', undefined);

/** A path with a query string of odd characters, percent-escapes broken or not. */
const oddQuery = fc.array(fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })), { maxLength: 4 })
  .map((pairs) => pairs.map(([k, v]) => `${k.replace(/[#\s]/g, '')}=${v.replace(/[#\s]/g, '%')}`).join('&'));

async function snapshot() {
  const state = JSON.parse((await send(cluster.master.httpPort, 'GET', '/api/v1/state', undefined, undefined)).text) as { agents: { id: string }[]; frameworks: { id: string }[] };
  return {
    agents: state.agents.map((a) => a.id).sort(),
    frameworks: state.frameworks.map((f) => f.id).sort(),
    weights: (await send(cluster.master.httpPort, 'GET', '/api/v1/weights', undefined, undefined)).text,
    apps: (await send(services.services.port, 'GET', '/v2/apps', undefined, undefined)).text,
    jobs: (await send(jobs.jobs.port, 'GET', '/v1/jobs', undefined, undefined)).text,
  };
}

describe('generated malformed input at every door', () => {
  it('HTTP bodies to every write of the master, services and jobs: a 4xx each, nothing changed', async () => {
    const before = await snapshot();
    const writes: [() => number, string, string][] = [
      [() => cluster.master.httpPort, 'PUT', '/api/v1/weights'],
      [() => services.services.port, 'POST', '/v2/apps'],
      [() => services.services.port, 'PUT', '/v2/apps/fuzz'],
      [() => services.services.port, 'POST', '/v2/groups'],
      [() => jobs.jobs.port, 'POST', '/v1/jobs'],
      [() => jobs.jobs.port, 'PUT', '/v1/jobs/fuzz'],
      [() => jobs.jobs.port, 'POST', '/v1/scheduler/iso8601'],
    ];
    await fc.assert(fc.asyncProperty(fc.constantFrom(...writes), badBody, contentType, async ([port, method, path], body, type) => {
      const answer = await send(port(), method, path, body, type);
      expect([`${method} ${path}`, answer.status >= 400 && answer.status < 500]).toEqual([`${method} ${path}`, true]);
    }), { numRuns: RUNS });
    expect(await snapshot()).toEqual(before);
  });

  it('HTTP query strings and paths on the reads: never a 5xx', async () => {
    const reads: [() => number, string][] = [
      [() => cluster.master.httpPort, '/api/v1/offers'], [() => cluster.master.httpPort, '/api/v1/offers/summary'],
      [() => cluster.master.httpPort, '/api/v1/files/read'], [() => cluster.master.httpPort, '/api/v1/state'],
      [() => cluster.agents[0]!.httpPort, '/files/read'], [() => cluster.agents[0]!.httpPort, '/files/browse'],
      [() => services.services.port, '/v2/apps'], [() => services.services.port, '/v2/tasks'],
      [() => jobs.jobs.port, '/v1/jobs'], [() => jobs.jobs.port, '/v1/scheduler/jobs/search'],
    ];
    await fc.assert(fc.asyncProperty(fc.constantFrom(...reads), oddQuery, async ([port, path], query) => {
      const answer = await send(port(), 'GET', `${path}?${query}`, undefined, undefined);
      expect([`${path}?${query}`, answer.status < 500]).toEqual([`${path}?${query}`, true]);
    }), { numRuns: RUNS });
  });

  it('gRPC: random bytes as every scheduler call: a status other than INTERNAL, and the master still answers', async () => {
    const passthrough = (b: Buffer) => b;
    const raw: Record<string, { path: string; requestStream: false; responseStream: false; requestSerialize: typeof passthrough;
      requestDeserialize: typeof passthrough; responseSerialize: typeof passthrough; responseDeserialize: typeof passthrough }> = {};
    const unary = Object.entries(schedulerService).filter(([, d]) => !(d as { responseStream: boolean }).responseStream);
    for (const [name, def] of unary) {
      raw[name] = { path: (def as { path: string }).path, requestStream: false, responseStream: false, requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough };
    }
    const Raw = makeGenericClientConstructor(raw, 'RawScheduler');
    const client = new Raw(cluster.grpcAddr, channelCredentials(clientIdentity())) as unknown as Record<string, (b: Buffer, cb: (e: ServiceError | null) => void) => void>;
    const names = Object.keys(raw);
    await fc.assert(fc.asyncProperty(fc.constantFrom(...names), fc.uint8Array({ maxLength: 300 }), async (name, bytes) => {
      const err = await new Promise<ServiceError | null>((resolve) => client[name]!.call(client, Buffer.from(bytes), resolve));
      expect([name, err?.code === GrpcStatus.INTERNAL]).toEqual([name, false]);
    }), { numRuns: RUNS });
    (client as unknown as { close(): void }).close();
    expect((await snapshot()).agents).toEqual([cluster.agents[0]!.agentId]);
  });

  it('NATS: random bytes on every subject the master listens on: no crash, no agent added or lost', async () => {
    const before = await snapshot();
    const subj = subjects();
    // As an agent's credential: the most an authenticated agent can put on the master's subjects.
    const { nc, owner } = await cluster.natsAs();
    const requests = [subj.register(owner), subj.heartbeat(owner), subj.unregister(owner)];
    const publishes = [subj.status(owner), subj.usage(owner)];
    await fc.assert(fc.asyncProperty(fc.constantFrom(...requests, ...publishes), fc.uint8Array({ maxLength: 300 }), async (subject, bytes) => {
      if (requests.includes(subject)) await nc.request(subject, bytes, { timeout: 5000 });   // answered, whatever it was
      else nc.publish(subject, bytes);
    }), { numRuns: RUNS });
    await nc.flush();
    await nc.close();
    const after = await snapshot();
    expect(after.agents).toEqual(before.agents);
    expect(after.frameworks).toEqual(before.frameworks);
  });

  it("NATS: random bytes on every subject an agent listens on (only the master's user may publish there): no crash, no task run, the agent stays", async () => {
    const subj = subjects();
    const agent = cluster.agents[0]!;
    const owner = 'local-agent';
    const { nc } = await cluster.natsAs('master', 'master');
    const targets = [subj.run(owner, agent.agentId), subj.kill(owner, agent.agentId), subj.ack(owner, agent.agentId)];
    await fc.assert(fc.asyncProperty(fc.constantFrom(...targets), fc.uint8Array({ maxLength: 300 }), async (subject, bytes) => {
      nc.publish(subject, bytes);
    }), { numRuns: RUNS });
    await nc.flush();
    await nc.close();
    // Still registered, still answering, and running nothing the bytes could have asked for.
    const view = await agentState(agent);
    expect(view.tasks.filter((t) => !isTerminal(t.state as TaskState))).toEqual([]);
    expect((await snapshot()).agents).toEqual([agent.agentId]);
  });
});
