/**
 * The services framework's HTTP server: Marathon's v2 REST API (api-routes.ts), its event
 * stream, /ping, /metrics, and the web UI, on the frameworks' shared server
 * (../shared/http.ts: JSON bodies, 400 `Invalid JSON`, typed refusals).
 */
import type { ServerResponse } from 'http';
import type { Logger } from '../../common/log';
import type { HttpDoor } from '../../common/security/http-door';
import { openEventStream } from '../../common/sse';
import { startHttp as startServer, type Handler, type HttpServer } from '../shared/http';
import type { MarathonEvent } from './events';

export type { Handler, HttpServer, Reply, Request } from '../shared/http';

export interface EventSource {
  subscribe(listener: (e: MarathonEvent) => void): () => void;
  emit(eventType: string, body: Record<string, unknown>): void;
}

/** Bytes a `/v2/events` client may leave unread before its stream is cut (it opens a new one). */
export const DEFAULT_MAX_EVENT_BACKLOG_BYTES = 16 * 1024 * 1024;

export interface ServicesHttpOptions {
  host: string;
  port: number;
  route: Handler;
  events: EventSource;
  log: Logger;
  keepAliveMs?: number;
  /** Credentials, CSRF and content-type rules in front of every route and the stream. */
  door?: HttpDoor;
  /** See DEFAULT_MAX_EVENT_BACKLOG_BYTES. */
  maxEventBacklogBytes?: number;
}

/**
 * `route` answers everything but `/v2/events`, which streams `events` as SSE: each event as
 * `event: <type>` and `data: <json>`, filtered by `?event_type=` (repeatable). A client that
 * leaves more than `maxEventBacklogBytes` unread is cut (common/sse.ts).
 */
export function startHttp(o: ServicesHttpOptions): Promise<HttpServer> {
  const limits = { keepAliveMs: o.keepAliveMs ?? 15_000, maxBacklogBytes: o.maxEventBacklogBytes ?? DEFAULT_MAX_EVENT_BACKLOG_BYTES, log: o.log };
  return startServer({
    host: o.host, port: o.port, route: o.route, log: o.log, ...(o.door ? { door: o.door } : {}),
    stream: (req, url, res, open) => {
      if (url.pathname !== '/v2/events' || req.method !== 'GET') return false;
      eventStream(o.events, url, res, open, limits);
      return true;
    },
  });
}

function eventStream(
  events: EventSource, url: URL, res: ServerResponse, streams: Set<ServerResponse>,
  limits: { keepAliveMs: number; maxBacklogBytes: number; log: Logger },
): void {
  const only = new Set(url.searchParams.getAll('event_type'));
  let unsubscribe = (): void => undefined;
  const remoteAddress = res.socket?.remoteAddress ?? '';
  const onClose = (): void => {
    unsubscribe();
    events.emit('event_stream_detached', { remoteAddress });
  };
  const writeFrame = openEventStream(res, {
    ...limits, streams, onClose, name: 'GET /v2/events', resume: 'open the stream again',
  });
  const write = (e: MarathonEvent): void => {
    if (only.size > 0 && !only.has(e.eventType)) return;
    writeFrame(`event: ${e.eventType}\ndata: ${JSON.stringify(e)}\n\n`);
  };
  // Subscribed in the same turn of the event loop as the headers are flushed: a client that
  // sees the response open and then sends a change gets every event of it (\`agora app --wait\`).
  unsubscribe = events.subscribe(write);
  events.emit('event_stream_attached', { remoteAddress });
}
