/**
 * A standby master on real HTTP and gRPC ports: it says who leads, sends HTTP callers there
 * with a 307, and refuses every scheduler call UNAVAILABLE naming the leader's gRPC address.
 */
import { credentials, makeGenericClientConstructor, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { logger } from '../common/log';
import { schedulerService } from '../common/scheduler-service';
import { LEADER_METADATA_KEY, startStandby, type LeaderAddresses, type StandbyHandle } from './standby';

let leader: LeaderAddresses | undefined;
let standby: StandbyHandle;

beforeAll(async () => {
  standby = await startStandby({ leader: () => leader, host: '127.0.0.1', httpPort: 0, grpcPort: 0, log: logger('standby-test') });
});
afterAll(async () => { await standby?.stop(); });

const http = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${standby.httpPort}${path}`, { redirect: 'manual', ...init });

/** A Decline through a plain gRPC client: the error and its trailing metadata. */
function decline(): Promise<ServiceError & { metadata: Metadata }> {
  const Client = makeGenericClientConstructor(schedulerService, 'Scheduler');
  const client = new Client(`127.0.0.1:${standby.grpcPort}`, credentials.createInsecure()) as unknown as Record<string, (req: unknown, cb: (err: ServiceError | null) => void) => void>;
  return new Promise((resolve, reject) => {
    client.Decline!({ frameworkId: 'fw', streamId: 's', offerIds: [] }, (err) => {
      (client as unknown as { close(): void }).close();
      if (err) resolve(err as ServiceError & { metadata: Metadata });
      else reject(new Error('a standby answered a Decline'));
    });
  });
}

describe('a standby master while no leader is known', () => {
  it('is healthy as a standby, with no leader and its own gRPC port, and answers the API 503 as a standby', async () => {
    leader = undefined;
    const health = await http('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', role: 'standby', pid: process.pid, epoch: null, leader: null, grpcPort: standby.grpcPort });
    const state = await http('/api/v1/state');
    expect(state.status).toBe(503);
    expect(await state.json()).toEqual({ error: expect.stringMatching(/no leader is elected yet/) as unknown, role: 'standby' });
    const err = await decline();
    expect(err.code).toBe(14);   // UNAVAILABLE
    expect(err.metadata.get(LEADER_METADATA_KEY)).toEqual([]);
  });
});

describe('a standby master while another leads', () => {
  it('redirects every HTTP path to the leader with a 307, keeping the path and query', async () => {
    leader = { http: '127.0.0.1:5060', grpc: '127.0.0.1:5063', epoch: 7, pid: 4242 };
    const health = await http('/health');
    expect(await health.json()).toEqual({ status: 'ok', role: 'standby', pid: process.pid, epoch: 7, leader: '127.0.0.1:5060', grpcPort: standby.grpcPort });
    const put = await http('/api/v1/weights?x=1', { method: 'PUT', body: '{"prod":2}' });
    expect(put.status).toBe(307);
    expect(put.headers.get('location')).toBe('http://127.0.0.1:5060/api/v1/weights?x=1');
  });

  it('answers /metrics itself: not elected, and the epoch the leader leads in', async () => {
    leader = { http: '127.0.0.1:5060', grpc: '127.0.0.1:5063', epoch: 7, pid: 4242 };
    const metrics = await http('/metrics');
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^agora_master_elected 0$/m);
    expect(text).toMatch(/^agora_master_epoch 7$/m);
  });

  it('refuses scheduler calls UNAVAILABLE, naming the leader\'s gRPC address in the trailing metadata', async () => {
    leader = { http: '127.0.0.1:5060', grpc: '127.0.0.1:5063', epoch: 7, pid: 4242 };
    const err = await decline();
    expect(err.code).toBe(14);
    expect(err.details).toBe('this master is a standby; the leader is at 127.0.0.1:5063');
    expect(err.metadata.get(LEADER_METADATA_KEY)).toEqual(['127.0.0.1:5063']);
  });
});
