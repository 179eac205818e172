/**
 * Offer-log queries, pure: the parameters of `GET /api/v1/offers` and `/summary` parsed into
 * an `OfferQuery` (or an error naming the bad parameter), the predicate an entry must pass,
 * and the per-framework summary folded over entries. The JetStream reader and the ring both
 * use these, so the two sources answer the same question the same way.
 */
import {
  OFFER_LOG_KINDS, type FrameworkOfferSummary, type OfferLogEntry, type OfferLogEvent, type OfferLogKind,
} from '../common/operator-types';

export const DEFAULT_QUERY_LIMIT = 100;
export const MAX_QUERY_LIMIT = 1000;
/** The most decline reasons a summary lists per framework. */
export const TOP_REASONS = 5;

export interface OfferQuery {
  frameworkId?: string;
  agentId?: string;
  role?: string;
  kind?: OfferLogKind;
  /** ms since the epoch, inclusive. */
  since?: number;
  /** ms since the epoch, inclusive. */
  until?: number;
  limit: number;
  /** Entries after this sequence number (the previous page's last one). */
  after?: number;
}

/** A query parameter that is not what it should be; the HTTP shell answers 400 with it. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
  constructor(readonly param: string, message: string) {
    super(`${param}: ${message}`);
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A point in time: an ISO-8601 time (`2026-11-22T07:00:00Z`), or a duration back from now
 * (`10m`, `90s`, `2h`, `1d`, `500ms`), as `agora offers --since 10m` passes it.
 */
export function parseTime(param: string, raw: string, now: number): number {
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(raw);
  if (d) return now - Number(d[1]) * (UNIT_MS[d[2]!] as number);
  // Date.parse accepts much that is not ISO ("1"); only a date-shaped string is taken.
  const at = /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(at)) throw new QueryError(param, `expected an ISO time (2026-11-22T07:00:00Z) or a duration ago (10m, 90s, 2h, 1d), got '${raw}'`);
  return at;
}

/** The cursor of a page is its source and the sequence of the last entry it read. */
export function formatCursor(source: 'jetstream' | 'ring', seq: number): string {
  return `${source === 'jetstream' ? 'js' : 'ring'}:${seq}`;
}

export function parseCursor(raw: string, source: 'jetstream' | 'ring'): number {
  const m = /^(js|ring):(\d+)$/.exec(raw);
  if (!m) throw new QueryError('cursor', `expected the 'next' of a previous answer (js:N or ring:N), got '${raw}'`);
  const from = m[1] === 'js' ? 'jetstream' : 'ring';
  if (from !== source) {
    throw new QueryError('cursor', `'${raw}' is a cursor into the ${from === 'ring' ? 'ring' : 'JetStream stream'}, but the log is now read from the ${source === 'ring' ? 'ring' : 'JetStream stream'}; start again without a cursor`);
  }
  return Number(m[2]);
}

const KNOWN_PARAMS = new Set(['framework', 'agent', 'role', 'kind', 'since', 'until', 'limit', 'cursor']);

/** The query of `GET /api/v1/offers?framework=&agent=&role=&kind=&since=&until=&limit=&cursor=`. */
export function parseOfferQuery(params: URLSearchParams, now: number, source: 'jetstream' | 'ring'): OfferQuery {
  for (const key of params.keys()) {
    if (!KNOWN_PARAMS.has(key)) throw new QueryError(key, `unknown parameter; known: ${[...KNOWN_PARAMS].join(', ')}`);
  }
  const text = (name: string): string | undefined => {
    const v = params.get(name);
    if (v === null) return undefined;
    if (v.trim() === '') throw new QueryError(name, 'is empty; leave it out to match everything');
    return v;
  };
  const q: OfferQuery = { limit: DEFAULT_QUERY_LIMIT };
  const framework = text('framework');
  if (framework !== undefined) q.frameworkId = framework;
  const agent = text('agent');
  if (agent !== undefined) q.agentId = agent;
  const role = text('role');
  if (role !== undefined) q.role = role;
  const kind = text('kind');
  if (kind !== undefined) {
    const upper = kind.toUpperCase() as OfferLogKind;
    if (!OFFER_LOG_KINDS.includes(upper)) throw new QueryError('kind', `expected one of ${OFFER_LOG_KINDS.join(', ')}, got '${kind}'`);
    q.kind = upper;
  }
  const since = text('since');
  if (since !== undefined) q.since = parseTime('since', since, now);
  const until = text('until');
  if (until !== undefined) q.until = parseTime('until', until, now);
  if (q.since !== undefined && q.until !== undefined && q.until < q.since) throw new QueryError('until', 'is before since');
  const limit = text('limit');
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_QUERY_LIMIT) {
      throw new QueryError('limit', `expected a whole number in 1..${MAX_QUERY_LIMIT}, got '${limit}'`);
    }
    q.limit = Number(limit);
  }
  const cursor = text('cursor');
  if (cursor !== undefined) q.after = parseCursor(cursor, source);
  return q;
}

/** Whether an event passes the query's filters (the time range included; the cursor is the reader's). */
export function matches(q: OfferQuery, e: OfferLogEvent): boolean {
  return (q.frameworkId === undefined || e.frameworkId === q.frameworkId)
    && (q.agentId === undefined || e.agentId === q.agentId)
    && (q.role === undefined || e.role === q.role)
    && (q.kind === undefined || e.type === q.kind)
    && (q.since === undefined || e.at >= q.since)
    && (q.until === undefined || e.at <= q.until);
}

interface Tally extends Omit<FrameworkOfferSummary, 'declineReasons' | 'meanHeldMs'> {
  reasons: Map<string, number>;
  heldMs: number;
  heldCount: number;
}

/**
 * Folds offer-log events into per-framework summaries. An offer's hold time is measured from
 * its OFFERED line to its end; offers whose OFFERED line was not seen (it fell out of the
 * retained log, or before `since`) count in the totals but not in the mean. Open offers are
 * remembered until they end, so memory is bounded by the offers outstanding at once.
 */
export class OfferSummarizer {
  private readonly tallies = new Map<string, Tally>();
  private readonly offeredAt = new Map<string, number>();

  add(e: OfferLogEvent): void {
    const t = this.tally(e.frameworkId);
    switch (e.type) {
      case 'OFFERED':
        t.offered += 1;
        this.offeredAt.set(e.offerId, e.at);
        return;
      case 'ACCEPTED': t.accepted += 1; break;
      case 'DECLINED':
        t.declined += 1;
        t.reasons.set(e.reason, (t.reasons.get(e.reason) ?? 0) + 1);
        break;
      case 'RESCINDED': t.rescinded += 1; break;
      case 'EXPIRED': t.expired += 1; break;
    }
    const start = this.offeredAt.get(e.offerId);
    if (start !== undefined) {
      this.offeredAt.delete(e.offerId);
      t.heldMs += e.at - start;
      t.heldCount += 1;
    }
  }

  /** One line per framework seen, by framework id. */
  result(): FrameworkOfferSummary[] {
    return [...this.tallies.values()].sort((a, b) => a.frameworkId.localeCompare(b.frameworkId)).map((t) => ({
      frameworkId: t.frameworkId, offered: t.offered, accepted: t.accepted, declined: t.declined,
      declineReasons: [...t.reasons].map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)).slice(0, TOP_REASONS),
      rescinded: t.rescinded, expired: t.expired,
      meanHeldMs: t.heldCount === 0 ? null : t.heldMs / t.heldCount,
    }));
  }

  private tally(frameworkId: string): Tally {
    let t = this.tallies.get(frameworkId);
    if (!t) {
      t = { frameworkId, offered: 0, accepted: 0, declined: 0, rescinded: 0, expired: 0, reasons: new Map(), heldMs: 0, heldCount: 0 };
      this.tallies.set(frameworkId, t);
    }
    return t;
  }
}

/** A page of the ring's entries (oldest first) answering the query; the ring is small, so a scan is fine. */
export function pageOf(entries: readonly OfferLogEntry[], q: OfferQuery): { entries: OfferLogEntry[]; lastSeq: number | undefined; more: boolean } {
  const out: OfferLogEntry[] = [];
  const after = q.after ?? 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.seq <= after || !matches(q, e)) continue;
    out.push(e);
    if (out.length === q.limit) {
      const more = entries.slice(i + 1).some((rest) => matches(q, rest));
      return { entries: out, lastSeq: e.seq, more };
    }
  }
  return { entries: out, lastSeq: out.at(-1)?.seq, more: false };
}
