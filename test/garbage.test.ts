/**
 * Bad bytes from outside are answered or logged as errors, and nothing crashes: garbage on
 * the master's NATS subjects, undecodable and incomplete gRPC requests.
 */
import { clientIdentity } from '../common/security/client-config';
import { channelCredentials } from '../common/security/grpc-auth';
import { makeGenericClientConstructor, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import { pb } from '../common/proto';
import { subjects } from '../common/subjects';
import { subscribe, SchedulerCallError } from '../frameworks/sdk';
import { getJson, masterAddress } from '../common/operator-client';
import { startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

const GARBAGE = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x08, 0x96, 0x01, 0xde, 0xad]);

describe('garbage in', () => {
  let cluster: TestCluster;
  let nc: NatsConnection;
  let owner: string;

  beforeAll(async () => {
    cluster = await startCluster({ containerizer: 'process' });
    // As an agent's credential would: the worst bytes an authenticated agent can send.
    ({ nc, owner } = await cluster.natsAs());
  });
  afterAll(async () => {
    await nc.close();
    await cluster.stop();
  });

  it('answers garbage registration and heartbeat requests with an error, and logs garbage status updates', async () => {
    const subj = subjects();
    const reg = pb.RegisterAgentResponse.decode((await nc.request(subj.register(owner), GARBAGE, { timeout: 5000 })).data);
    expect(reg.error).toMatch(/malformed RegisterAgentRequest/);
    expect(reg.agentId).toBe('');
    const hb = await nc.request(subj.heartbeat(owner), GARBAGE, { timeout: 5000 });
    expect(pb.HeartbeatResponse.decode(hb.data).error).toMatch(/malformed AgentHeartbeat/);
    nc.publish(subj.status(owner), GARBAGE);
    await nc.flush();
    // no new agent was admitted and the real one is still there
    const state = await cluster.state();
    expect(state.agents.map((a) => a.id)).toEqual([cluster.agents[0]!.agentId]);
  });

  it('answers undecodable and nonsensical gRPC requests with INVALID_ARGUMENT saying why', async () => {
    const passthrough = (b: Buffer) => b;
    const Raw = makeGenericClientConstructor({
      Accept: { path: '/agora.v1.Scheduler/Accept', requestStream: false, responseStream: false,
        requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough },
    }, 'Raw');
    const raw = new Raw(cluster.grpcAddr, channelCredentials(clientIdentity())) as unknown as {
      Accept(req: Buffer, cb: (err: ServiceError | null) => void): void; close(): void;
    };
    const send = (bytes: Uint8Array) => new Promise<ServiceError | null>((resolve) => raw.Accept(Buffer.from(bytes), resolve));

    const undecodable = await send(GARBAGE);
    expect(undecodable?.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(undecodable?.details).toMatch(/malformed AcceptRequest/);

    // decodes fine, but asks for 'cpus' as a scalar and as a range at once
    const nonsense = pb.AcceptRequest.encode({
      frameworkId: 'fw-x', streamId: 's-x', offerIds: ['offer-x'],
      operations: [{ type: pb.Operation.Type.LAUNCH, launch: { taskInfos: [{ taskId: 't', resources: [
        { name: 'cpus', type: pb.ValueType.SCALAR, scalar: { value: 1 } },
        { name: 'cpus', type: pb.ValueType.RANGES, ranges: { range: [{ begin: 1, end: 2 }] } },
      ] }] } }],
    }).finish();
    const mixed = await send(nonsense);
    expect(mixed?.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(mixed?.details).toMatch(/operation 0: resource 'cpus' is a scalar in one place and a ranges in another/);

    const negative = pb.AcceptRequest.encode({
      frameworkId: 'fw-x', streamId: 's-x', offerIds: ['offer-x'],
      operations: [{ type: pb.Operation.Type.LAUNCH, launch: { taskInfos: [{ taskId: 't', resources: [
        { name: 'mem', type: pb.ValueType.SCALAR, scalar: { value: -64 } },
      ] }] } }],
    }).finish();
    expect((await send(negative))?.details).toMatch(/resource 'mem' has amount -64: it must be a number ≥ 0/);
    raw.close();
  });

  it('refuses calls from a framework that does not present its live stream', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'honest' } });
    const thief = s as unknown as { streamId: string };
    const real = thief.streamId;
    thief.streamId = 'stream-that-is-not-live';
    await expect(s.revive()).rejects.toThrow(SchedulerCallError);
    thief.streamId = real;
    await expect(s.revive()).resolves.toBeUndefined();
    s.close();
  });

  it('keeps serving: health is ok and a new framework still gets offered the agent', async () => {
    const health = await getJson<{ status: string }>(masterAddress(cluster.masterAddr), '/health');
    expect(health.status).toBe('ok');
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'after-garbage' } });
    const offer = await new EventLog(s).offer();
    expect(offer.agentId).toBe(cluster.agents[0]!.agentId);
    s.close();
  });
});
