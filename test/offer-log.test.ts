/**
 * The durable offer log against a real cluster (nats-server with JetStream, master, one
 * process agent) and two SDK frameworks: one launches a task, the other declines with a
 * reason. The lines land in the JetStream stream, and `GET /api/v1/offers` reads them back —
 * whole, from a point in time, filtered, a page at a time — and `/summary` counts them.
 */
import { authedFetch, base } from './support/http';
import type { OfferLogEntry, OfferLogPage, OfferLogSummary } from '../common/operator-types';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { startCluster, eventually, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

const HOUR_MS = 3_600_000;
const REASON = 'needs a GPU; this agent has none';

describe('the offer log in JetStream', () => {
  let cluster: TestCluster;
  let a: Scheduler;
  let b: Scheduler;
  let all: OfferLogEntry[];

  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await authedFetch(`${base(cluster.masterAddr)}${path}`);
    return { status: res.status, body: await res.json() as T };
  };
  const page = async (query: string): Promise<OfferLogPage> => {
    const { status, body } = await get<OfferLogPage>(`/api/v1/offers${query}`);
    expect(status).toBe(200);
    expect(body.source).toBe('jetstream');
    return body;
  };
  const ids = (entries: OfferLogEntry[]) => entries.map((e) => `${e.type} ${e.offerId}`);

  beforeAll(async () => {
    cluster = await startCluster({ containerizer: 'process', resources: 'cpus:2;mem:1024;disk:2048;ports:[31000-31099]' });
    // A takes part of the only agent and filters the rest away for an hour; then B, alone
    // left to be offered it, declines it for an hour: after that nothing is offered, so the
    // log holds exactly these four lines.
    a = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'launcher' } });
    const offerA = await new EventLog(a).offer();
    await a.launch(offerA, [task({ id: 'sleeper', command: 'sleep 600', cpus: 0.5, mem: 64, process: true }, offerA)], { refuseMs: HOUR_MS });
    b = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'picky' } });
    const offerB = await new EventLog(b).offer();
    await b.decline([offerB.id], { refuseMs: HOUR_MS, reason: REASON });
    // Publishing is not awaited by the master: wait until the stream has all four.
    await eventually('four lines in the stream', async () => (await page('')).entries.length === 4);
    all = (await page('')).entries;
  });
  afterAll(async () => {
    await a?.kill('sleeper').catch(() => undefined);
    a?.close();
    b?.close();
    await cluster.stop();
  });

  it('holds exactly OFFERED, ACCEPTED (with the task) to one framework, then OFFERED, DECLINED (with the reason) to the other', async () => {
    const agentId = cluster.agents[0]!.agentId;
    expect(all.map((e) => [e.type, e.frameworkId])).toEqual([
      ['OFFERED', a.frameworkId], ['ACCEPTED', a.frameworkId], ['OFFERED', b.frameworkId], ['DECLINED', b.frameworkId],
    ]);
    const [offeredA, accepted, offeredB, declined] = all;
    expect(offeredA).toMatchObject({ agentId, role: '*', resources: 'cpus:2;disk:2048;mem:1024;ports:[31000-31099]' });
    expect(accepted).toMatchObject({ offerId: offeredA!.offerId, agentId, role: '*', taskIds: ['sleeper'], unused: 'cpus:1.5;disk:2048;mem:960;ports:[31000-31099]' });
    expect(offeredB).toMatchObject({ agentId, role: '*', resources: 'cpus:1.5;disk:2048;mem:960;ports:[31000-31099]' });
    expect(declined).toMatchObject({ offerId: offeredB!.offerId, refuseMs: HOUR_MS, reason: REASON });
    // JetStream sequences, in order: the cursor of a page.
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const subjects: string[] = [];
    const { nc } = await cluster.natsAs('master', 'master');
    const jsm = await nc.jetstreamManager();
    for (const seq of [1, 4]) subjects.push((await jsm.streams.getMessage('AGORA_OFFERS', { seq })).subject);
    await nc.close();
    expect(subjects).toEqual([`agora.offers.OFFERED.${a.frameworkId}`, `agora.offers.DECLINED.${b.frameworkId}`]);
  });

  it('replays from a point in time: an ISO time, or a duration ago', async () => {
    expect(ids((await page(`?since=${new Date(all[0]!.at).toISOString()}`)).entries)).toEqual(ids(all));
    expect(ids((await page('?since=10m')).entries)).toEqual(ids(all));
    expect(ids((await page(`?since=${new Date(all[2]!.at).toISOString()}`)).entries)).toEqual(ids(all.filter((e) => e.at >= all[2]!.at)));
    expect(ids((await page(`?until=${new Date(all[1]!.at).toISOString()}`)).entries)).toEqual(ids(all.filter((e) => e.at <= all[1]!.at)));
    expect((await page(`?since=${new Date(all[3]!.at + 60_000).toISOString()}`)).entries).toEqual([]);
  });

  it('filters by framework, agent, role and kind', async () => {
    const agentId = cluster.agents[0]!.agentId;
    expect(ids((await page(`?framework=${a.frameworkId}`)).entries)).toEqual(ids(all.slice(0, 2)));
    expect(ids((await page(`?framework=${b.frameworkId}&kind=declined`)).entries)).toEqual(ids(all.slice(3)));
    expect(ids((await page('?kind=OFFERED')).entries)).toEqual(ids([all[0]!, all[2]!]));
    expect(ids((await page(`?agent=${agentId}`)).entries)).toEqual(ids(all));
    expect((await page('?agent=agent-elsewhere')).entries).toEqual([]);
    expect(ids((await page('?role=*')).entries)).toEqual(ids(all));
    expect((await page('?role=analytics')).entries).toEqual([]);
    expect((await page('?kind=EXPIRED')).entries).toEqual([]);
  });

  it('pages with a cursor: two at a time, then the end', async () => {
    const first = await page('?limit=2');
    expect(ids(first.entries)).toEqual(ids(all.slice(0, 2)));
    expect(first.next).toBe('js:2');
    const second = await page(`?limit=2&cursor=${first.next}`);
    expect(ids(second.entries)).toEqual(ids(all.slice(2)));
    expect(second.next).toBeNull();
    const offered = await page('?kind=OFFERED&limit=1');
    expect(ids(offered.entries)).toEqual(ids([all[0]!]));
    expect(ids((await page(`?kind=OFFERED&limit=1&cursor=${offered.next}`)).entries)).toEqual(ids([all[2]!]));
  });

  it('summarizes per framework: received, accepted, declined with reasons, mean hold time', async () => {
    const { status, body } = await get<OfferLogSummary>('/api/v1/offers/summary');
    expect(status).toBe(200);
    const [offeredA, accepted, offeredB, declined] = all;
    const expected = [
      { frameworkId: a.frameworkId, offered: 1, accepted: 1, declined: 0, declineReasons: [], rescinded: 0, expired: 0, meanHeldMs: accepted!.at - offeredA!.at },
      { frameworkId: b.frameworkId, offered: 1, accepted: 0, declined: 1, declineReasons: [{ reason: REASON, count: 1 }], rescinded: 0, expired: 0, meanHeldMs: declined!.at - offeredB!.at },
    ].sort((x, y) => x.frameworkId.localeCompare(y.frameworkId));
    expect(body).toEqual({ source: 'jetstream', truncated: false, frameworks: expected });
    const one = await get<OfferLogSummary>(`/api/v1/offers/summary?framework=${b.frameworkId}`);
    expect(one.body.frameworks).toEqual(expected.filter((f) => f.frameworkId === b.frameworkId));
  });

  it('answers a bad parameter with a 400 that names it', async () => {
    for (const [query, param] of [
      ['since=yesterday', 'since'], ['until=3x', 'until'], ['limit=0', 'limit'], ['limit=5000', 'limit'], ['kind=LOST', 'kind'],
      ['cursor=42', 'cursor'], ['cursor=ring:3', 'cursor'], ['framework=', 'framework'], ['colour=red', 'colour'],
    ]) {
      const { status, body } = await get<{ error: string; param: string }>(`/api/v1/offers?${query}`);
      expect([query, status, body.param]).toEqual([query, 400, param]);
    }
    const summary = await get<{ param: string }>('/api/v1/offers/summary?limit=3');
    expect([summary.status, summary.body.param]).toEqual([400, 'limit']);
  });

  it('reports the log durable in /health and /metrics', async () => {
    expect((await get('/health')).body).toMatchObject({ status: 'ok', role: 'leader', epoch: 1, offerLog: 'durable' });
    const metrics = await (await authedFetch(`${base(cluster.masterAddr)}/metrics`)).text();
    expect(metrics).toContain('\nagora_offer_log_durable 1\n');
    expect(metrics).toContain('\nagora_offer_log_not_persisted_total 0\n');
  });

  // Last: it adds a line to the stream.
  it('skips a stray message someone published on its subjects, and still reads the lines after it', async () => {
    const { nc } = await cluster.natsAs('master', 'master');
    const js = nc.jetstream();
    await js.publish(`agora.offers.OFFERED.${a.frameworkId}`, 'not json');
    await js.publish(`agora.offers.OFFERED.${a.frameworkId}`, JSON.stringify({ ...all[0], offerId: 'offer-replayed' }));
    await nc.close();
    const read = await page(`?framework=${a.frameworkId}`);
    expect(read.entries.map((e) => [e.offerId, e.seq])).toEqual([[all[0]!.offerId, 1], [all[1]!.offerId, 2], ['offer-replayed', 6]]);
  });
});
