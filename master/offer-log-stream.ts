/**
 * Shell: the durable copy of the offer log, a JetStream stream `<PREFIX>_OFFERS` on subjects
 * `<prefix>.offers.<kind>.<frameworkId>`, with bounded retention (max bytes, max age; the
 * oldest lines go first). Operators can follow it live with any NATS client and replay it
 * from a point in time; the master reads it back for `GET /api/v1/offers`.
 *
 * The log must never cost an offer: `record` publishes without waiting for the ack, and a
 * failure (JetStream not enabled, the stream deleted, the server lost) only makes the log
 * *degraded* — the event is counted as not persisted, the in-memory ring still has it, and
 * the stream is set up again with backoff until it works. Lines published while degraded are
 * not backfilled: the ring keeps the recent past, and a gap is visible in the counter.
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type JetStreamClient, type NatsConnection } from 'nats';
import type { Clock, Timer } from '../common/clock';
import type { Logger } from '../common/log';
import type { OfferLogEntry, OfferLogEvent } from '../common/operator-types';
import { matches, OfferSummarizer, type OfferQuery } from './offer-log-query';
import type { OfferLogSink } from './ports';

export interface OfferLogStreamOptions {
  subjectPrefix: string;
  maxBytes: number;
  maxAgeMs: number;
  /** The stream's replicas (default 1): 3 on a 3-node NATS cluster, so it outlives a node. */
  replicas?: number;
  clock: Clock;
  log: Logger;
  /** First retry after a failed set-up; doubles up to `retryMaxMs`. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export interface OfferLogStatus {
  durable: boolean;
  /** Why the log is not durable; absent when it is. */
  why?: string;
  /** Events that reached the ring but not the stream, since the master started. */
  notPersisted: number;
}

/** What one read of the stream saw: the entries kept, the last sequence read, and whether more matching lines follow. */
export interface StreamRead {
  entries: OfferLogEntry[];
  lastSeq: number | undefined;
  more: boolean;
}

/** How many lines one query reads at most, matching or not: an agent or role filter cannot turn a request into a scan of 64 MiB. */
export const MAX_QUERY_SCAN = 10_000;
/** How many lines a summary folds at most; past it the answer says `truncated`. */
export const MAX_SUMMARY_SCAN = 200_000;
const FETCH_BATCH = 500;
const NS_PER_MS = 1_000_000;

/** A subject token cannot hold '.', '*', '>' or whitespace; master-made ids never do, but an id is not trusted to. */
function token(id: string): string {
  return id.replace(/[.*>\s]/g, '_') || '_';
}

/**
 * A line of the stream, or undefined if it is not one of ours: anyone with access may publish
 * on `<prefix>.offers.*.*`, and one stray message must not fail every query after it.
 */
function parseLine(data: Uint8Array, seq: number): OfferLogEntry | undefined {
  try {
    const e = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<OfferLogEvent> | null;
    if (!e || typeof e !== 'object' || typeof e.type !== 'string' || typeof e.at !== 'number' || typeof e.frameworkId !== 'string') return undefined;
    return { ...e, seq } as OfferLogEntry;
  } catch {
    return undefined;
  }
}

export class OfferLogStream implements OfferLogSink {
  readonly streamName: string;
  private js: JetStreamClient | undefined;
  private why: string | undefined = 'not set up yet';
  private notPersisted = 0;
  private retry: Timer | undefined;
  private retryMs: number;
  private stopped = false;

  constructor(private readonly nc: NatsConnection, private readonly opts: OfferLogStreamOptions) {
    this.streamName = `${opts.subjectPrefix.replace(/[.]/g, '_').toUpperCase()}_OFFERS`;
    this.retryMs = opts.retryInitialMs ?? 500;
  }

  subject(kind: string, frameworkId: string): string {
    return `${this.opts.subjectPrefix}.offers.${kind}.${frameworkId}`;
  }

  /** Sets the stream up (or fails, degraded, and retries); resolves either way, so the master starts regardless. */
  async start(): Promise<void> {
    await this.setUp();
  }

  stop(): void {
    this.stopped = true;
    this.retry?.cancel();
  }

  status(): OfferLogStatus {
    return this.why === undefined ? { durable: true, notPersisted: this.notPersisted } : { durable: false, why: this.why, notPersisted: this.notPersisted };
  }

  record(event: OfferLogEvent): void {
    const js = this.js;
    if (!js || this.why !== undefined) {
      this.notPersisted += 1;
      return;
    }
    js.publish(this.subject(event.type, token(event.frameworkId)), JSON.stringify(event)).catch((err: unknown) => {
      this.notPersisted += 1;
      this.degrade(`publishing to stream ${this.streamName} failed: ${(err as Error).message}`);
    });
  }

  /** One page of entries matching `q`, oldest first. Throws if JetStream cannot be read. */
  async query(q: OfferQuery): Promise<StreamRead> {
    const entries: OfferLogEntry[] = [];
    const read = await this.scan(q, MAX_QUERY_SCAN, (e) => {
      if (matches(q, e)) entries.push(e);
      return entries.length < q.limit;
    });
    return { entries, lastSeq: read.lastSeq, more: read.more };
  }

  /** The per-framework summary of the lines matching `q` (its limit and cursor ignored). */
  async summary(q: OfferQuery): Promise<{ summary: OfferSummarizer; truncated: boolean }> {
    const summary = new OfferSummarizer();
    // Frameworks' hold times need their OFFERED lines, so kind is not narrowed.
    const read = await this.scan({ ...q, kind: undefined, after: undefined }, MAX_SUMMARY_SCAN, (e) => {
      if (matches({ ...q, kind: undefined }, e)) summary.add(e);
      return true;
    });
    return { summary, truncated: read.more };
  }

  private async setUp(): Promise<void> {
    if (this.stopped) return;
    this.retry = undefined;
    try {
      const jsm = await this.nc.jetstreamManager();
      const config = {
        name: this.streamName,
        subjects: [`${this.opts.subjectPrefix}.offers.*.*`],
        retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, storage: StorageType.File,
        max_bytes: this.opts.maxBytes, max_age: this.opts.maxAgeMs * NS_PER_MS, num_replicas: this.opts.replicas ?? 1,
      };
      const exists = await jsm.streams.info(this.streamName).then(() => true, () => false);
      if (exists) await jsm.streams.update(this.streamName, config);
      else await jsm.streams.add(config);
      this.js = this.nc.jetstream();
      const was = this.why;
      this.why = undefined;
      this.retryMs = this.opts.retryInitialMs ?? 500;
      this.opts.log.info('offer log durable', { stream: this.streamName, was });
    } catch (err) {
      this.degrade(`cannot set up JetStream stream ${this.streamName}: ${(err as Error).message}`);
    }
  }

  private degrade(why: string): void {
    if (this.stopped) return;
    if (this.why === undefined) this.opts.log.warn('offer log degraded: kept in memory only', { why });
    this.why = why;
    if (this.retry) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? 30_000);
    this.retry = this.opts.clock.setTimeout(() => { void this.setUp(); }, delay);
  }

  /**
   * Reads the stream from the query's start (its cursor, else `since`, else the beginning)
   * through an ephemeral consumer filtered by kind and framework, calling `visit` on each
   * line until it says stop, `until` is passed, or `maxScan` lines were read.
   */
  private async scan(q: OfferQuery, maxScan: number, visit: (e: OfferLogEntry) => boolean): Promise<{ lastSeq: number | undefined; more: boolean }> {
    const jsm = await this.nc.jetstreamManager();
    const config: Partial<ConsumerConfig> = {
      ack_policy: AckPolicy.None, mem_storage: true, inactive_threshold: 30_000 * NS_PER_MS,
      filter_subject: this.subject(q.kind ?? '*', q.frameworkId === undefined ? '*' : token(q.frameworkId)),
      ...(q.after !== undefined ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: q.after + 1 }
        : q.since !== undefined ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(q.since).toISOString() }
          : { deliver_policy: DeliverPolicy.All }),
    };
    const info = await jsm.consumers.add(this.streamName, config);
    let pending = info.num_pending;
    let lastSeq: number | undefined;
    let scanned = 0;
    try {
      const consumer = await this.nc.jetstream().consumers.get(this.streamName, info.name);
      while (pending > 0 && scanned < maxScan) {
        // Asking for no more than are pending, the fetch ends when they arrive, not at `expires`.
        const batch = await consumer.fetch({ max_messages: Math.min(pending, FETCH_BATCH, maxScan - scanned), expires: 5000 });
        let got = 0;
        for await (const m of batch) {
          got += 1;
          scanned += 1;
          pending = m.info.pending;
          const entry = parseLine(m.data, m.seq);
          if (!entry) { lastSeq = m.seq; continue; }
          if (q.until !== undefined && entry.at > q.until) return { lastSeq, more: false };
          lastSeq = m.seq;
          if (!visit(entry)) {
            batch.stop();
            return { lastSeq, more: pending > 0 };
          }
        }
        if (got === 0) break;   // lines aged out between the count and the fetch
      }
      return { lastSeq, more: pending > 0 };
    } finally {
      await jsm.consumers.delete(this.streamName, info.name).catch(() => undefined);
    }
  }
}
