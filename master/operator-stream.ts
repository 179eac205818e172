/**
 * One operator's connection to the event journal, as server-sent event frames: SUBSCRIBED,
 * then what it missed (after its Last-Event-ID) or a RESYNC, then every new event, with a
 * HEARTBEAT every interval. Writes through a `write(frame)` function and times with the
 * injected clock, so it is tested without a socket or a wait; api/http.ts wires it to a
 * response.
 *
 * Ordering: the replay is read and the live listener added in one synchronous step, so no
 * event can fall between them (Node runs nothing else in between): resuming gives exactly
 * the events after the client's id, each once.
 */
import type { Clock } from '../common/clock';
import {
  OPERATOR_EVENT_TYPES, type OperatorControlEvent, type OperatorEvent, type OperatorEventType,
} from '../common/operator-types';
import type { OperatorJournal } from './operator-events';

export interface FollowOptions {
  /** The `Last-Event-ID` header as sent, if any: `<epoch>:<id>`, as the `id:` lines give it. */
  lastEventId?: string;
  /** Only these journaled types are sent; all when undefined. Control events always are. */
  types?: ReadonlySet<OperatorEventType>;
  heartbeatIntervalMs: number;
  clock: Clock;
  write(frame: string): void;
}

/** The `id:` line's value: the journal's epoch and the event's id, so a resume names both. */
export function eventIdText(epoch: string, id: number): string {
  return `${epoch}:${id}`;
}

function frame(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Where to resume from: the id after which events are owed, or why none can be trusted. An id
 * of another epoch was given by another master (ids restarted), so its number means nothing.
 */
export function parseLastEventId(text: string, epoch: string): { id: number } | { reason: string } {
  const cut = text.lastIndexOf(':');
  const [given, num] = cut < 0 ? ['', text] : [text.slice(0, cut), text.slice(cut + 1)];
  if (!/^\d+$/.test(num) || cut < 0) return { reason: `Last-Event-ID '${text}' is not of the form <epoch>:<id> the id: lines give` };
  if (given !== epoch) return { reason: `Last-Event-ID '${text}' is from another master (this one's epoch is ${epoch}): its events are not kept here` };
  return { id: Number(num) };
}

/** `?types=A,B`: the set, or what is wrong with it. Absent or empty means every type. */
export function parseTypes(raw: string | null): { types?: ReadonlySet<OperatorEventType> } | { error: string } {
  if (raw === null || raw.trim() === '') return {};
  const names = raw.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const unknown = names.filter((t) => !(OPERATOR_EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) return { error: `unknown event type(s) ${unknown.join(', ')}; known: ${OPERATOR_EVENT_TYPES.join(', ')}` };
  return { types: new Set(names as OperatorEventType[]) };
}

/** Starts following; the function returned stops (the listener and the heartbeat go). */
export function followJournal(journal: OperatorJournal, o: FollowOptions): () => void {
  const { epoch } = journal;
  const control = (event: OperatorControlEvent, id?: string): void => o.write(frame(event.type, event, id));
  const send = (event: OperatorEvent): void => {
    if (!o.types || o.types.has(event.type)) o.write(frame(event.type, event, eventIdText(epoch, event.id)));
  };
  const lastId = journal.lastId();
  control({ type: 'SUBSCRIBED', epoch, lastId, heartbeatIntervalMs: o.heartbeatIntervalMs });
  if (o.lastEventId !== undefined && o.lastEventId !== '') {
    const from = parseLastEventId(o.lastEventId, epoch);
    const resume = 'id' in from ? journal.after(from.id) : undefined;
    if (resume?.ok) {
      for (const event of resume.events) send(event);
    } else {
      const reason = 'reason' in from ? from.reason : resume?.why === 'ahead'
        ? `event ${from.id} is newer than this master's last (${lastId}): re-read /api/v1/state`
        : `events after ${from.id} are no longer kept (the oldest is ${journal.firstId()}): re-read /api/v1/state`;
      // With an id: the client's Last-Event-ID moves past the gap it has now been told of,
      // so a reconnect after it re-read the state does not hear of the same gap again.
      control({ type: 'RESYNC', epoch, lastId, reason }, eventIdText(epoch, lastId));
    }
  }
  const unsubscribe = journal.subscribe(send);
  const heartbeat = o.clock.setInterval(() => control({ type: 'HEARTBEAT', at: o.clock.now() }), o.heartbeatIntervalMs);
  return () => {
    unsubscribe();
    heartbeat.cancel();
  };
}
