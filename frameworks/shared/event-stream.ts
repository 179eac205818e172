/**
 * A framework's event stream (`/v2/events`, `/v1/events`): server-sent events, one frame per
 * event (`event: <type>`, `data: <json>`), a keep-alive comment every 15 s, and a client
 * that leaves more than `maxBacklogBytes` unread cut (common/sse.ts). Which events, and in
 * what words, is the framework's `EventFeed`.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { Logger } from '../../common/log';
import { openEventStream } from '../../common/sse';

/** Bytes an event stream's client may leave unread before its stream is cut (it opens a new one). */
export const DEFAULT_MAX_EVENT_BACKLOG_BYTES = 16 * 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;

/** One stream's client, as its feed sees it. */
export interface EventClient {
  /** The stream's URL (its query, e.g. Marathon's `?event_type=`). */
  url: URL;
  remoteAddress: string;
  /** Sends one event as a frame. */
  send(type: string, event: unknown): void;
}

/**
 * Starts feeding one client its events and returns what stops it (called when the client
 * goes). Called in the same turn of the event loop as the headers are flushed: a client that
 * sees the stream open and then sends a change gets every event of it (`agora app --wait`).
 */
export type EventFeed = (client: EventClient) => () => void;

export interface EventStreamOptions {
  /** The stream's path; GET only. */
  path: string;
  feed: EventFeed;
  log: Logger;
  /** See DEFAULT_MAX_EVENT_BACKLOG_BYTES. */
  maxBacklogBytes?: number;
}

/** The `stream` of a framework's HTTP server (http.ts) that serves `o.path`. */
export function eventStreamAt(o: EventStreamOptions) {
  return (req: IncomingMessage, url: URL, res: ServerResponse, open: Set<ServerResponse>): boolean => {
    if (url.pathname !== o.path || req.method !== 'GET') return false;
    let stop = (): void => undefined;
    const remoteAddress = res.socket?.remoteAddress ?? '';
    const write = openEventStream(res, {
      keepAliveMs: KEEP_ALIVE_MS, maxBacklogBytes: o.maxBacklogBytes ?? DEFAULT_MAX_EVENT_BACKLOG_BYTES, log: o.log,
      streams: open, onClose: () => stop(), name: `GET ${o.path}`, resume: 'open the stream again',
    });
    stop = o.feed({ url, remoteAddress, send: (type, event) => write(`event: ${type}\ndata: ${JSON.stringify(event)}\n\n`) });
    return true;
  };
}
