/**
 * The operator event journal: every change the master makes that an operator sees (tasks,
 * agents, frameworks, offers), numbered 1, 2, 3… in the order it happened, kept in a ring of
 * the last `capacity` so a client that lost its connection can resume after the last id it
 * saw, and handed to live listeners. Pure but for the clock: no HTTP here (operator-stream.ts
 * turns it into server-sent events).
 *
 * Why ids, not timestamps: two changes in one millisecond are common (a launch of 50 tasks),
 * and a client resuming must get exactly the ones it missed — no gap, no repeat. The ring is
 * bounded (TigerBeetle: bound every queue): a client away for longer than the ring lasts is
 * told so (`evicted`) and re-reads the state, rather than being replayed an unbounded past.
 */
import assert from 'node:assert/strict';
import type { Clock } from '../common/clock';
import { Listeners } from '../common/listeners';
import type { OperatorChange, OperatorEvent } from '../common/operator-types';
import type { OperatorEventSink } from './ports';

/** The events after an id, or why they cannot all be given. */
export type Resume =
  | { ok: true; events: OperatorEvent[] }
  /** `evicted`: some fell out of the ring; `ahead`: the id is newer than any this journal gave. */
  | { ok: false; why: 'evicted' | 'ahead' };

export class OperatorJournal implements OperatorEventSink {
  /** The event with id k is in slot (k − 1) mod capacity: O(1) to append, no shifting. */
  private readonly slots: (OperatorEvent | undefined)[];
  private last = 0;
  private readonly listeners = new Listeners<OperatorEvent>();

  /** `epoch` names this journal: ids restart from 1 with each master, so a resume must name it. */
  constructor(readonly epoch: string, private readonly capacity: number, private readonly clock: Clock) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`operator event capacity must be a whole number ≥ 1, got ${capacity}`);
    if (!epoch || epoch.includes(':')) throw new RangeError(`journal epoch must be non-empty and without ':', got '${epoch}'`);
    this.slots = new Array<OperatorEvent | undefined>(capacity);
  }

  /** Numbers the change, keeps it, and tells the listeners, synchronously and in id order. */
  record(change: OperatorChange): OperatorEvent {
    const event: OperatorEvent = { ...change, id: this.last + 1, at: this.clock.now() };
    this.last = event.id;
    this.slots[(event.id - 1) % this.capacity] = event;
    this.listeners.emit(event);
    return event;
  }

  /** The newest id given, 0 before the first event. */
  lastId(): number {
    return this.last;
  }

  /** The oldest id still kept (lastId + 1 when empty). */
  firstId(): number {
    return Math.max(1, this.last - this.capacity + 1);
  }

  /** Every event with an id greater than `id`, oldest first, if the journal still has them all. */
  after(id: number): Resume {
    assert(Number.isInteger(id) && id >= 0, `an event id is a whole number ≥ 0, got ${id}`);
    if (id > this.last) return { ok: false, why: 'ahead' };
    if (id < this.firstId() - 1) return { ok: false, why: 'evicted' };
    const events: OperatorEvent[] = [];
    for (let k = id + 1; k <= this.last; k++) {
      const event = this.slots[(k - 1) % this.capacity];
      assert(event?.id === k, `journal slot of id ${k} holds ${event?.id}`);
      events.push(event);
    }
    return { ok: true, events };
  }

  /**
   * Calls `listener` with each event recorded from now on; returns the unsubscribe function.
   * A listener that throws is dropped: a broken operator connection must not fail a call.
   */
  subscribe(listener: (event: OperatorEvent) => void): () => void {
    return this.listeners.add(listener);
  }
}
