/**
 * The offer log without JetStream: the master keeps allocating and keeps its ring, `/health`
 * (still 200) and `/metrics` say the log is degraded, and queries are answered from the ring.
 * And a stream lost under a running master: the lines meanwhile are counted as not persisted,
 * and the master sets the stream up again on its own.
 */
import { authedFetch, base } from './support/http';
import type { OfferLogPage, OfferLogSummary } from '../common/operator-types';
import { subscribe } from '../frameworks/sdk';
import { startCluster, eventually, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

const HOUR_MS = 3_600_000;

async function get<T>(cluster: TestCluster, path: string): Promise<{ status: number; body: T }> {
  const res = await authedFetch(`${base(cluster.masterAddr)}${path}`);
  return { status: res.status, body: await res.json() as T };
}

async function metric(cluster: TestCluster, name: string): Promise<number> {
  const text = await (await authedFetch(`${base(cluster.masterAddr)}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

describe('the offer log with NATS started without JetStream', () => {
  let cluster: TestCluster;
  beforeAll(async () => { cluster = await startCluster({ containerizer: 'process', natsOptions: { jetstream: false } }); });
  afterAll(async () => { await cluster.stop(); });

  it('keeps allocating, answers from the ring, and says the log is degraded', async () => {
    const health = await get<{ status: string; offerLog: string; why: string }>(cluster, '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', offerLog: 'degraded' });
    expect(health.body.why).toMatch(/^cannot set up JetStream stream AGORA_OFFERS: /);

    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'undaunted' } });
    const offer = await new EventLog(s).offer();
    await s.decline([offer.id], { refuseMs: HOUR_MS, reason: 'just looking' });

    const { body } = await get<OfferLogPage>(cluster, '/api/v1/offers');
    expect(body.source).toBe('ring');
    expect(body.entries.map((e) => [e.type, e.offerId, e.seq])).toEqual([['OFFERED', offer.id, 1], ['DECLINED', offer.id, 2]]);
    expect(body.next).toBeNull();
    const first = await get<OfferLogPage>(cluster, '/api/v1/offers?limit=1');
    expect([first.body.entries.map((e) => e.type), first.body.next]).toEqual([['OFFERED'], 'ring:1']);
    const wrongCursor = await get<{ param: string }>(cluster, '/api/v1/offers?cursor=js:1');
    expect([wrongCursor.status, wrongCursor.body.param]).toEqual([400, 'cursor']);

    const summary = await get<OfferLogSummary>(cluster, `/api/v1/offers/summary?framework=${s.frameworkId}`);
    expect(summary.body).toMatchObject({ source: 'ring', truncated: false, frameworks: [{ offered: 1, declined: 1, declineReasons: [{ reason: 'just looking', count: 1 }] }] });

    expect(await metric(cluster, 'agora_offer_log_durable')).toBe(0);
    expect(await metric(cluster, 'agora_offer_log_not_persisted_total')).toBe(2);
    s.close();
  });
});

describe('the offer log when its stream is lost under a running master', () => {
  let cluster: TestCluster;
  beforeAll(async () => { cluster = await startCluster({ containerizer: 'process' }); });
  afterAll(async () => { await cluster.stop(); });

  it('counts the line it could not keep, sets the stream up again, and keeps the next ones', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'steady' } });
    const events = new EventLog(s);
    const offer = await events.offer();
    await eventually('OFFERED in the stream', async () => (await get<OfferLogPage>(cluster, '/api/v1/offers')).body.entries.length === 1);

    const { nc } = await cluster.natsAs('master', 'master');
    await (await nc.jetstreamManager()).streams.delete('AGORA_OFFERS');
    await nc.close();
    await s.decline([offer.id], { refuseMs: HOUR_MS });
    // The DECLINED line finds no stream: counted, and the master sets the stream up again.
    await eventually('the lost line counted', async () => (await metric(cluster, 'agora_offer_log_not_persisted_total')) === 1);
    await eventually('the log durable again', async () => (await metric(cluster, 'agora_offer_log_durable')) === 1);
    expect((await get(cluster, '/health')).body).toMatchObject({ status: 'ok', role: 'leader', epoch: 1, offerLog: 'durable' });

    // Revive clears the hour's filter: the next offer lands in the new stream, as its first line.
    await s.revive();
    const again = await events.offer();
    await eventually('the new OFFERED in the new stream', async () => (await get<OfferLogPage>(cluster, '/api/v1/offers')).body.entries.length === 1);
    const { body } = await get<OfferLogPage>(cluster, '/api/v1/offers');
    expect(body.source).toBe('jetstream');
    expect(body.entries.map((e) => [e.type, e.offerId, e.seq])).toEqual([['OFFERED', again.id, 1]]);
    s.close();
  });
});
