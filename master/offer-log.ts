/**
 * The offer log: what was offered to whom and what became of it. A bounded ring (old events
 * fall off) plus live subscribers, so the operator API can replay the recent past and then
 * follow. Subscribers are called synchronously; a throwing one is dropped, not propagated,
 * because an operator's broken connection must not fail an Accept.
 */
import type { OfferLogEvent } from '../common/operator-types';
import { Listeners } from '../common/listeners';
import type { OfferLogSink } from './ports';

export type OfferLogListener = (event: OfferLogEvent) => void;

export class OfferLog implements OfferLogSink {
  private readonly ring: OfferLogEvent[] = [];
  private readonly listeners = new Listeners<OfferLogEvent>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`offer log capacity must be ≥ 1, got ${capacity}`);
  }

  record(event: OfferLogEvent): void {
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    this.listeners.emit(event);
  }

  /** The last `n` events, oldest first. */
  recent(n = this.capacity): OfferLogEvent[] {
    return n <= 0 ? [] : this.ring.slice(-n);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: OfferLogListener): () => void {
    return this.listeners.add(listener);
  }
}
