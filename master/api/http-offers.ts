/**
 * The offer-log queries of the operator HTTP API:
 *   GET /api/v1/offers?framework=&agent=&role=&kind=&since=&until=&limit=&cursor=
 *       OfferLogPage: matching entries oldest first, `next` the cursor of the next page
 *   GET /api/v1/offers/summary?framework=&agent=&role=&since=&until=
 *       OfferLogSummary: per framework, offers received, accepted, declined (top reasons),
 *       rescinded, expired, mean hold time
 * Read from the JetStream stream while the log is durable, from the in-memory ring when it is
 * degraded (or the stream fails mid-read); `source` says which. A bad parameter is a 400
 * naming it.
 */
import type { Logger } from '../../common/log';
import type { OfferLogEntry, OfferLogPage, OfferLogSource, OfferLogSummary } from '../../common/operator-types';
import { formatCursor, OfferSummarizer, pageOf, parseOfferQuery, QueryError, matches, type OfferQuery } from '../offer-log-query';
import type { OfferLogStatus, StreamRead } from '../offer-log-stream';

export interface OfferQueryDeps {
  now(): number;
  /** The ring's entries, oldest first. */
  ring(): readonly OfferLogEntry[];
  /** The durable copy; without it, every answer comes from the ring. */
  stream?: {
    status(): OfferLogStatus;
    query(q: OfferQuery): Promise<StreamRead>;
    summary(q: OfferQuery): Promise<{ summary: OfferSummarizer; truncated: boolean }>;
  };
  log: Logger;
}

type Reply = (status: number, body: unknown) => void;

function sourceOf(deps: OfferQueryDeps): OfferLogSource {
  return deps.stream?.status().durable ? 'jetstream' : 'ring';
}

function badRequest(reply: Reply, err: unknown): void {
  if (!(err instanceof QueryError)) throw err;
  reply(400, { error: err.message, param: err.param });
}

function ringPage(deps: OfferQueryDeps, params: URLSearchParams): OfferLogPage {
  const q = parseOfferQuery(params, deps.now(), 'ring');
  const page = pageOf(deps.ring(), q);
  return { source: 'ring', entries: page.entries, next: page.more && page.lastSeq !== undefined ? formatCursor('ring', page.lastSeq) : null };
}

export function offersQuery(deps: OfferQueryDeps, params: URLSearchParams, reply: Reply): void {
  const source = sourceOf(deps);
  let q: OfferQuery;
  try {
    if (source === 'ring') return reply(200, ringPage(deps, params));
    q = parseOfferQuery(params, deps.now(), 'jetstream');
  } catch (err) {
    return badRequest(reply, err);
  }
  deps.stream!.query(q).then(
    (read) => reply(200, {
      source: 'jetstream', entries: read.entries,
      next: read.more && read.lastSeq !== undefined ? formatCursor('jetstream', read.lastSeq) : null,
    } satisfies OfferLogPage),
    (err: unknown) => {
      // The stream failed between the status check and the read: the ring still answers.
      deps.log.warn('reading the offer-log stream failed; answering from the ring', { error: (err as Error).message });
      try {
        reply(200, ringPage(deps, params));
      } catch (e) {
        badRequest(reply, e);
      }
    },
  );
}

const SUMMARY_PARAMS = new Set(['framework', 'agent', 'role', 'since', 'until']);

function ringSummary(deps: OfferQueryDeps, q: OfferQuery): OfferLogSummary {
  const s = new OfferSummarizer();
  for (const e of deps.ring()) if (matches(q, e)) s.add(e);
  return { source: 'ring', truncated: false, frameworks: s.result() };
}

export function offersSummary(deps: OfferQueryDeps, params: URLSearchParams, reply: Reply): void {
  let q: OfferQuery;
  try {
    for (const key of params.keys()) {
      if (!SUMMARY_PARAMS.has(key)) throw new QueryError(key, `not a summary parameter; known: ${[...SUMMARY_PARAMS].join(', ')}`);
    }
    q = parseOfferQuery(params, deps.now(), 'ring');
  } catch (err) {
    return badRequest(reply, err);
  }
  if (sourceOf(deps) === 'ring') return reply(200, ringSummary(deps, q));
  deps.stream!.summary(q).then(
    ({ summary, truncated }) => reply(200, { source: 'jetstream', truncated, frameworks: summary.result() } satisfies OfferLogSummary),
    (err: unknown) => {
      deps.log.warn('reading the offer-log stream failed; summarizing the ring', { error: (err as Error).message });
      reply(200, ringSummary(deps, q));
    },
  );
}
