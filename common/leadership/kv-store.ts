/**
 * The lease key on a JetStream KV bucket: the only file of the election that speaks NATS.
 * Every write is a compare-and-set on the key's revision (`Nats-Expected-Last-Subject-Sequence`,
 * 0 for "never written"); reads and the watch are served by the stream's leader, never by a
 * direct get from a replica that may lag (the bucket is opened with `allow_direct: false`).
 */
import { StorageType, type KV, type KvEntry, type NatsConnection, type QueuedIterator } from 'nats';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { ElectionConfig } from './config';
import { ElectionError } from './errors';
import { decodeLease, encodeLease, holds, unreadableHolder, type LeaseValue, type Observation } from './lease-value';

/** A compare-and-set's answer: written at a revision, refused (another revision was there; `current` if it could be read), or unknown. */
export type WriteResult =
  | { kind: 'written'; revision: number }
  | { kind: 'refused'; current?: Observation }
  | { kind: 'failed'; error: string };

/** What the election needs of its store: a narrow seam, so the store is one file. */
export interface LeaseStore {
  write(expectRevision: number, value: LeaseValue): Promise<WriteResult>;
  /**
   * Deletes the key if its revision is still `expectRevision`, or a later one that still holds
   * the lease `session` won at `epoch` (a renewal that was in flight); false if it could not.
   */
  release(expectRevision: number, session: string, epoch: number): Promise<boolean>;
  /** The key as the stream's leader has it now (revision 0 if never written); undefined if it could not be read. */
  read(): Promise<Observation | undefined>;
  /**
   * Calls `observe` with the key as it is now (revision 0 if it was never written), then again
   * whenever it changes, until `close()`; every observation is read from the stream's leader.
   * Resolves once the first has been delivered.
   */
  watch(observe: (o: Observation) => void): Promise<void>;
  close(): Promise<void>;
}

/** nats.js's code for a compare-and-set that found another revision (JSStreamWrongLastSequenceErrF). */
const WRONG_LAST_SEQUENCE = 10071;
/** Creating a replicated stream waits on the meta leader and every replica: more than one write may take. */
const SETUP_TIMEOUT_MS = 10_000;
/** A failed read, or an ended watch, is tried again after a renewal interval, but never later than this. */
const MAX_RETRY_MS = 5000;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const code = (err: unknown): number | undefined => (err as { api_error?: { err_code?: number } }).api_error?.err_code;

/** Opens (creating it if needed) the bucket: history 1, file storage, the configured replicas. */
export async function openKvStore(nc: NatsConnection, config: ElectionConfig, clock: Clock, log: Logger): Promise<LeaseStore> {
  const options = { history: 1, replicas: config.replicas, storage: StorageType.File, allow_direct: false };
  try {
    const setup = await nc.jetstream({ timeout: SETUP_TIMEOUT_MS }).views.kv(config.bucket, options);
    const status = await setup.status();
    if (status.replicas !== config.replicas || status.history !== 1) {
      log.warn('the lease bucket exists with other settings than asked: keeping them', { bucket: config.bucket, replicas: status.replicas, history: status.history, asked: config.replicas });
    }
    // Writes and reads get the short timeout: an answer later than this is treated as lost.
    const kv = await nc.jetstream({ timeout: config.timing.requestTimeoutMs }).views.kv(config.bucket, { bindOnly: true, allow_direct: false });
    return new KvStore(nc, kv, config, clock, log);
  } catch (err) {
    throw new ElectionError(`cannot open the lease bucket ${config.bucket} (replicas ${config.replicas}): ${message(err)}`, { cause: err });
  }
}

class KvStore implements LeaseStore {
  private closed = false;
  private iterator: QueuedIterator<KvEntry> | undefined;
  private loop: Promise<void> = Promise.resolve();
  private observe: (o: Observation) => void = () => undefined;
  private reading = false;
  private again = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly config: ElectionConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async write(expectRevision: number, value: LeaseValue): Promise<WriteResult> {
    try {
      return { kind: 'written', revision: await this.kv.put(this.config.group, encodeLease(value), { previousSeq: expectRevision }) };
    } catch (err) {
      if (code(err) === WRONG_LAST_SEQUENCE) return { kind: 'refused', current: await this.read() };
      return { kind: 'failed', error: message(err) };
    }
  }

  async release(expectRevision: number, session: string, epoch: number): Promise<boolean> {
    let revision = expectRevision;
    // Once stepped down the leader sends no renewal, but one may still be in flight: a few tries cover it.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.kv.delete(this.config.group, { previousSeq: revision });
        return true;
      } catch (err) {
        const current = code(err) === WRONG_LAST_SEQUENCE && attempt < 3 ? await this.read() : undefined;
        if (!current?.holder || !holds(current.holder, current.revision, session, epoch)) {
          this.log.warn('could not delete the lease: followers take over after a lease instead', { error: message(err) });
          return false;
        }
        revision = current.revision;
      }
    }
  }

  watch(observe: (o: Observation) => void): Promise<void> {
    return new Promise((resolve) => {
      this.observe = (o) => {
        observe(o);
        resolve();
      };
      this.refresh();
      this.loop = this.watchLoop();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.iterator?.stop();
    await this.loop;
  }

  private retryMs(): number {
    return Math.min(this.config.timing.renewEveryMs, MAX_RETRY_MS);
  }

  async read(): Promise<Observation | undefined> {
    try {
      const entry = await this.kv.get(this.config.group);
      return entry ? this.observation(entry) : { revision: 0 };
    } catch {
      return undefined;
    }
  }

  private observation(entry: KvEntry): Observation {
    if (entry.operation !== 'PUT') return { revision: entry.revision };
    return { revision: entry.revision, holder: decodeLease(entry.value) ?? unreadableHolder(this.config.timing.leaseMs) };
  }

  /**
   * Reads the key from the stream's leader, and again if asked meanwhile: reads never overlap,
   * so observations arrive in order. A failed read is tried again a renewal interval later (at most 5 s).
   */
  private refresh(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void (async () => {
      let failed = false;
      do {
        this.again = false;
        const o = await this.read();
        if (this.closed) return;
        if (o) this.observe(o);
        else failed = true;
      } while (this.again);
      this.reading = false;
      if (failed) this.clock.setTimeout(() => this.refresh(), this.retryMs());
    })();
  }

  /**
   * The watch only says "the key changed": each change is then read from the stream's leader.
   * Its own revisions are not trusted: the watch is an ephemeral consumer that JetStream may
   * place on any replica, and a replica can lag, or (nats-server 2.9.10, after SIGKILLs) hold
   * the same message at another sequence than the leader. If NATS ends the watch (a long
   * disconnection), it is reopened a renewal interval (at most 5 s) later; meanwhile a follower still
   * learns of renewals when its claim is refused.
   */
  private async watchLoop(): Promise<void> {
    while (!this.closed && !this.nc.isClosed()) {
      try {
        this.iterator = await this.kv.watch({ key: this.config.group, headers_only: true });
        if (this.closed) this.iterator.stop();
        for await (const entry of this.iterator) if (entry.revision > 0) this.refresh();
      } catch (err) {
        this.log.warn('the lease watch failed; reopening it', { error: message(err) });
      }
      if (this.closed || this.nc.isClosed()) return;
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.retryMs()));
    }
  }
}
