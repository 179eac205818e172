/**
 * Waiting on a framework's event stream for the outcome of one thing — a deployment, a run —
 * by its id. The stream is open before the change is sent (the framework subscribes it
 * before it answers with the headers), so nothing is missed: outcomes that arrive before
 * anyone asks are kept (the newest 1000) for the ask that follows moments later.
 */
import { clientIdentity } from '../common/security/client-config';
import type { ClientRequest } from 'http';
import { doorRequest } from '../common/security/https';
import { frameFields, readEventFrames } from '../common/sse';

const KEEP = 1000;

export interface EventWatchOptions<T> {
  /** The stream's full URL. */
  url: string;
  /** Reads an outcome from an SSE frame's event name and data, or undefined for any other frame. */
  pick: (event: string | undefined, data: string) => { id: string; outcome: T } | undefined;
  /** The error for a stream that ended, or could not be opened, in the framework's words. */
  fail: (message: string) => Error;
  /** An error reaching the framework, as its client says it. */
  unreachable: (err: Error) => Error;
  /** What to say when the stream ends before `id`'s outcome. */
  endedBefore: (message: string, id: string) => Error;
}

export class EventWatch<T> {
  private readonly outcomes = new Map<string, T>();
  private readonly waiters = new Map<string, { resolve: (t: T) => void; reject: (e: Error) => void }>();
  private closed: Error | undefined;
  private req: ClientRequest | undefined;

  private constructor(private readonly o: EventWatchOptions<T>) {}

  static open<T>(o: EventWatchOptions<T>): Promise<EventWatch<T>> {
    const w = new EventWatch(o);
    return new Promise((resolve, reject) => {
      const id = clientIdentity();
      w.req = doorRequest(o.url, { headers: { accept: 'text/event-stream' }, identity: id }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(o.fail(`answered ${res.statusCode} for its event stream`));
          return;
        }
        resolve(w);
        readEventFrames(res, (frame) => w.frame(frame));
        res.on('close', () => w.end(o.fail('closed its event stream')));
      });
      // A wait lasts as long as what it waits for: no timeout, but a dead peer is noticed.
      w.req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
      w.req.on('error', (err) => {
        const e = o.unreachable(err);
        reject(e);
        w.end(e);
      });
      w.req.end();
    });
  }

  /** Resolves with `id`'s outcome; rejects if the stream ends first. */
  outcome(id: string): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.outcomes.has(id)) return resolve(this.outcomes.get(id)!);
      if (this.closed) return reject(this.o.endedBefore(this.closed.message, id));
      this.waiters.set(id, { resolve, reject });
    });
  }

  close(): void {
    this.closed ??= new Error('the wait was closed');
    this.req?.destroy();
  }

  private frame(text: string): void {
    const { event, data } = frameFields(text);
    if (!data) return;   // a keep-alive comment
    let found: { id: string; outcome: T } | undefined;
    try { found = this.o.pick(event, data); } catch { return; }
    if (!found) return;
    const waiter = this.waiters.get(found.id);
    if (waiter) {
      this.waiters.delete(found.id);
      waiter.resolve(found.outcome);
      return;
    }
    this.outcomes.set(found.id, found.outcome);
    if (this.outcomes.size > KEEP) this.outcomes.delete(this.outcomes.keys().next().value as string);
  }

  private end(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    for (const [id, w] of this.waiters) w.reject(this.o.endedBefore(err.message, id));
    this.waiters.clear();
  }
}
