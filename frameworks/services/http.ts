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

/**
 * `route` answers everything but `/v2/events`, which streams `events` as SSE: each event as
 * `event: <type>` and `data: <json>`, filtered by `?event_type=` (repeatable).
 */
export function startHttp(o: {
  host: string; port: number; route: Handler; events: EventSource; log: Logger; keepAliveMs?: number; door?: HttpDoor;
}): Promise<HttpServer> {
  return startServer({
    host: o.host, port: o.port, route: o.route, log: o.log, ...(o.door ? { door: o.door } : {}),
    stream: (req, url, res, open) => {
      if (url.pathname !== '/v2/events' || req.method !== 'GET') return false;
      eventStream(o.events, url, res, open, o.keepAliveMs ?? 15_000);
      return true;
    },
  });
}

function eventStream(events: EventSource, url: URL, res: ServerResponse, streams: Set<ServerResponse>, keepAliveMs: number): void {
  const only = new Set(url.searchParams.getAll('event_type'));
  const write = (e: MarathonEvent): void => {
    if (only.size > 0 && !only.has(e.eventType)) return;
    res.write(`event: ${e.eventType}\ndata: ${JSON.stringify(e)}\n\n`);
  };
  let unsubscribe = (): void => undefined;
  const remoteAddress = res.socket?.remoteAddress ?? '';
  const onClose = (): void => {
    unsubscribe();
    events.emit('event_stream_detached', { remoteAddress });
  };
  openEventStream(res, { keepAliveMs, streams, onClose, headers: { 'access-control-allow-origin': '*' } });
  // Subscribed in the same turn of the event loop as the headers are flushed: a client that
  // sees the response open and then sends a change gets every event of it (\`agora app --wait\`).
  unsubscribe = events.subscribe(write);
  events.emit('event_stream_attached', { remoteAddress });
}
