import { logger } from '../../common/log';
import type { MasterStateView } from '../../common/operator-types';
import { OfferLog } from '../offer-log';
import { followOfferLog, getJson } from '../../test/support/test-clients';
import { startHttp, type HttpHandle } from './http';

const emptyState: MasterStateView = {
  master: { id: 'master-1', hostname: 'h', httpPort: 0, grpcPort: 0, version: 'v', startedAt: 0 }, agents: [], frameworks: [], tasks: [], offers: [],
};

describe('HTTP operator API shell', () => {
  let ready = false;
  let http: HttpHandle;
  const offerLog = new OfferLog(10);

  beforeAll(async () => {
    http = await startHttp({ ready: () => ready, state: () => emptyState, offerLog, log: logger('test') }, { host: '127.0.0.1', port: 0 });
  });
  afterAll(() => http.stop());

  it('answers /health with 503 until the master is ready, then 200', async () => {
    ready = false;
    expect(await getJson(http.port, '/health')).toEqual({ status: 503, body: { status: 'starting' } });
    expect((await getJson(http.port, '/api/v1/state')).status).toBe(503);
    ready = true;
    expect(await getJson(http.port, '/health')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await getJson(http.port, '/api/v1/state')).toEqual({ status: 200, body: emptyState });
  });

  it('shows its epoch in /health, and says 503 fenced once a newer master fenced it', async () => {
    let fenced: string | undefined;
    const leadership = () => ({ role: 'leader' as const, epoch: 7, pid: 42, leader: 'm:5050', grpcPort: 5053 });
    const fencing = await startHttp({ ready: () => true, leadership, fenced: () => fenced, state: () => emptyState, offerLog, log: logger('test') }, { host: '127.0.0.1', port: 0 });
    try {
      expect(await getJson(fencing.port, '/health')).toEqual({ status: 200, body: { status: 'ok', role: 'leader', epoch: 7, pid: 42, leader: 'm:5050', grpcPort: 5053 } });
      fenced = 'a newer leader (epoch 8) has written under agora:epoch; this one (epoch 7) must stop';
      expect(await getJson(fencing.port, '/health')).toEqual({ status: 503, body: { status: 'fenced', role: 'leader', epoch: 7, pid: 42, leader: 'm:5050', grpcPort: 5053, why: fenced } });
    } finally {
      await fencing.stop();
    }
  });

  it('refuses a replay count that is not a whole number', async () => {
    ready = true;
    expect(await getJson(http.port, '/api/v1/offers/events?replay=abc')).toEqual({ status: 400, body: { error: "replay must be a whole number of events, got 'abc'" } });
  });

  it('replays the last N events, then follows live ones', async () => {
    ready = true;
    const base = { at: 1, frameworkId: 'fw-1', agentId: 'agent-1', role: '*', resources: 'cpus:1' };
    for (const offerId of ['o1', 'o2', 'o3']) offerLog.record({ type: 'OFFERED', offerId, ...base });
    const follow = await followOfferLog(http.port, 2);
    expect((await follow.events.take()).offerId).toBe('o2');
    expect((await follow.events.take()).offerId).toBe('o3');
    offerLog.record({ type: 'RESCINDED', offerId: 'o3', at: 2, frameworkId: 'fw-1', agentId: 'agent-1', role: '*', resources: 'cpus:1', reason: 'test' });
    expect(await follow.events.take()).toMatchObject({ type: 'RESCINDED', offerId: 'o3' });
    follow.close();
  });
});
