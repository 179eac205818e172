/**
 * The services framework's HTTP server: Marathon's v2 REST API (api-routes.ts), its event
 * stream, /ping, /metrics, and the web UI. Bodies are JSON up to 1 MiB; a body that does not
 * parse is a 400 `Invalid JSON` and changes nothing.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import type { Logger } from '../../common/log';
import { openEventStream } from '../../common/sse';
import { ApiError } from './commands';
import type { MarathonEvent } from './events';
import { StoppedError } from './framework';

export interface Request {
  method: string;
  url: URL;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
  headers: IncomingMessage['headers'];
  /** The caller's address. */
  remoteAddress: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Sent as is with this content type, instead of JSON. */
  text?: { contentType: string; data: string };
  headers?: Record<string, string>;
}

export interface EventSource {
  subscribe(listener: (e: MarathonEvent) => void): () => void;
  emit(eventType: string, body: Record<string, unknown>): void;
}

export type Handler = (req: Request) => Promise<Reply> | Reply;

const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpServer {
  port: number;
  stop(): Promise<void>;
}

/**
 * `route` answers everything but `/v2/events`, which streams `events` as SSE: each event as
 * `event: <type>` and `data: <json>`, filtered by `?event_type=` (repeatable).
 */
export async function startHttp(o: { host: string; port: number; route: Handler; events: EventSource; log: Logger; keepAliveMs?: number }): Promise<HttpServer> {
  const streams = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://services');
    if (url.pathname === '/v2/events' && req.method === 'GET') return eventStream(o.events, url, res, streams, o.keepAliveMs ?? 15_000);
    readBody(req).then(async (raw) => {
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch (err) {
          return send(res, { status: 400, body: { message: 'Invalid JSON', details: [{ path: '/', errors: [(err as Error).message] }] } });
        }
      }
      send(res, await o.route({ method: req.method ?? 'GET', url, body, headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '' }));
    }).catch((err: Error) => {
      if (err instanceof ApiError) return send(res, { status: err.status, body: err.body });
      if (err instanceof BodyTooBig) return send(res, { status: 413, body: { message: err.message } });
      if (err instanceof StoppedError) return send(res, { status: 503, body: { message: err.message } });
      o.log.error('request failed', { method: req.method, url: req.url, error: err.message });
      send(res, { status: 500, body: { message: `internal error: ${err.message}` } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => {
      for (const s of streams) s.end();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

class BodyTooBig extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooBig(`the body is over ${MAX_BODY_BYTES} bytes`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').trim()));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: Reply): void {
  if (res.headersSent) return;
  const headers: Record<string, string | number> = { ...r.headers };
  let data = '';
  if (r.text) {
    headers['content-type'] = r.text.contentType;
    data = r.text.data;
  } else if (r.body !== undefined) {
    headers['content-type'] = 'application/json; charset=utf-8';
    data = JSON.stringify(r.body);
  }
  headers['content-length'] = Buffer.byteLength(data);
  res.writeHead(r.status, headers);
  res.end(data);
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
