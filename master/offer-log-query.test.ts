import type { OfferLogEntry, OfferLogEvent } from '../common/operator-types';
import { OfferSummarizer, pageOf, parseOfferQuery, parseTime, QueryError } from './offer-log-query';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const base = { frameworkId: 'fw-a', agentId: 'agent-1', role: '*', resources: 'cpus:1' };
const offered = (offerId: string, at: number, over: Partial<OfferLogEvent> = {}): OfferLogEvent => ({ type: 'OFFERED', at, offerId, ...base, ...over } as OfferLogEvent);

describe('offer-log query parameters', () => {
  it('takes a time as ISO or as a duration ago', () => {
    expect(parseTime('since', '2026-11-22T07:00:00Z', NOW)).toBe(Date.parse('2026-11-22T07:00:00Z'));
    expect(parseTime('since', '10m', NOW)).toBe(NOW - 600_000);
    expect(parseTime('since', '1.5h', NOW)).toBe(NOW - 5_400_000);
    expect(parseTime('until', '500ms', NOW)).toBe(NOW - 500);
    expect(() => parseTime('since', '1', NOW)).toThrow(QueryError);
  });

  it('defaults the limit to 100, upper-cases the kind, and reads a cursor of its own source only', () => {
    expect(parseOfferQuery(new URLSearchParams(''), NOW, 'ring')).toEqual({ limit: 100 });
    expect(parseOfferQuery(new URLSearchParams('kind=declined&cursor=js:7&limit=3'), NOW, 'jetstream')).toEqual({ kind: 'DECLINED', after: 7, limit: 3 });
    expect(() => parseOfferQuery(new URLSearchParams('cursor=js:7'), NOW, 'ring')).toThrow(/cursor: 'js:7' is a cursor into the JetStream stream, but the log is now read from the ring/);
    expect(() => parseOfferQuery(new URLSearchParams('since=1h&until=2h'), NOW, 'ring')).toThrow('until: is before since');
  });
});

describe('the ring page', () => {
  const entries: OfferLogEntry[] = [
    { ...offered('o1', 1), seq: 1 }, { ...offered('o2', 2, { frameworkId: 'fw-b' }), seq: 2 },
    { ...offered('o3', 3), seq: 3 }, { ...offered('o4', 4, { frameworkId: 'fw-b' }), seq: 4 },
  ];

  it('says there is more only when a later entry matches', () => {
    expect(pageOf(entries, { limit: 1, frameworkId: 'fw-a' })).toMatchObject({ lastSeq: 1, more: true });
    expect(pageOf(entries, { limit: 1, frameworkId: 'fw-a', after: 1 })).toMatchObject({ lastSeq: 3, more: false });
    expect(pageOf(entries, { limit: 5, frameworkId: 'fw-b' }).entries.map((e) => e.offerId)).toEqual(['o2', 'o4']);
  });
});

describe('the offer summary', () => {
  it('counts every end, lists reasons most frequent first, and averages hold times over offers it saw offered', () => {
    const s = new OfferSummarizer();
    const end = (type: string, offerId: string, at: number, extra: object = {}) => ({ type, at, offerId, ...base, ...extra } as OfferLogEvent);
    s.add(offered('o1', 1000));
    s.add(offered('o2', 1000));
    s.add(offered('o3', 1000));
    s.add(offered('o4', 1000));
    s.add(end('DECLINED', 'o1', 1100, { refuseMs: 5000, reason: 'too small' }));
    s.add(end('DECLINED', 'o2', 1300, { refuseMs: 5000, reason: 'no GPU' }));
    s.add(end('EXPIRED', 'o3', 4000, { timeoutMs: 3000 }));
    s.add(end('RESCINDED', 'o4', 1600, { reason: 'agent gone' }));
    s.add(end('DECLINED', 'o0', 1700, { refuseMs: 5000, reason: 'no GPU' }));   // offered before the window: no hold time
    expect(s.result()).toEqual([{
      frameworkId: 'fw-a', offered: 4, accepted: 0, declined: 3, rescinded: 1, expired: 1,
      declineReasons: [{ reason: 'no GPU', count: 2 }, { reason: 'too small', count: 1 }],
      meanHeldMs: (100 + 300 + 3000 + 600) / 4,
    }]);
  });
});
