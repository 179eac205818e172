/**
 * The offer log: what was offered to whom and what became of it. A bounded ring (old events
 * fall off) plus live subscribers, so the operator API can replay the recent past and then
 * follow. Subscribers are called synchronously; a throwing one is dropped, not propagated,
 * because an operator's broken connection must not fail an Accept.
 *
 * Each event gets the ring's own sequence number, so the ring can answer paginated queries
 * when the durable JetStream copy (offer-log-stream.ts) is unavailable.
 */
import type { OfferLogEntry, OfferLogEvent } from '../common/operator-types';
import { Listeners } from '../common/listeners';
import type { OfferLogSink } from './ports';

export type OfferLogListener = (event: OfferLogEvent) => void;

export class OfferLog implements OfferLogSink {
  private readonly ring: OfferLogEntry[] = [];
  private readonly listeners = new Listeners<OfferLogEvent>();
  private seq = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`offer log capacity must be ≥ 1, got ${capacity}`);
  }

  record(event: OfferLogEvent): void {
    this.ring.push({ ...event, seq: ++this.seq });
    if (this.ring.length > this.capacity) this.ring.shift();
    this.listeners.emit(event);
  }

  /** The last `n` events, oldest first. */
  recent(n = this.capacity): OfferLogEvent[] {
    return n <= 0 ? [] : this.ring.slice(-n).map(({ seq: _seq, ...event }) => event as OfferLogEvent);
  }

  /** Every event still in the ring with its sequence number, oldest first. */
  entries(): readonly OfferLogEntry[] {
    return this.ring;
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: OfferLogListener): () => void {
    return this.listeners.add(listener);
  }
}
