/**
 * The HTTP server under the frameworks' REST APIs: JSON bodies up to 1 MiB, a body that does
 * not parse answered `400 Invalid JSON` (nothing changes), typed refusals (`ApiError`) sent as
 * their status and body, a framework that is stopping or whose store is unavailable answered
 * 503, and streams (SSE) handed to their own handler. What each path means is the framework's `route`.
 */
import { type IncomingMessage, type Server, type ServerResponse } from 'http';
import { closeDoorServer, createDoorServer } from '../../common/security/https';
import type { AddressInfo } from 'net';
import type { Logger } from '../../common/log';
import { isFenced } from '../../common/fenced-redis';
import type { HttpDoor } from '../../common/security/http-door';

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

export type Handler = (req: Request) => Promise<Reply> | Reply;

/** A refusal in the API's own words: its HTTP status and JSON body. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, readonly body: { message: string; [k: string]: unknown }) {
    super(body.message);
  }
}

/** A step asked of a framework that is stopping: it was not taken (answered 503). */
export class StoppedError extends Error {
  override readonly name = 'StoppedError';
}

const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpServer {
  port: number;
  stop(): Promise<void>;
}

export interface HttpOptions {
  host: string;
  port: number;
  route: Handler;
  log: Logger;
  /**
   * Takes the requests that stream (SSE): returns true when it has taken `res`. Responses
   * it adds to `open` are ended when the server stops.
   */
  stream?: (req: IncomingMessage, url: URL, res: ServerResponse, open: Set<ServerResponse>) => boolean;
  /** Credentials, CSRF and content-type rules before any route or stream; open without it. */
  door?: HttpDoor;
  /**
   * What to answer, in words, when a route failed because the store is unavailable (503); undefined
   * for any other error. A store that is down is a retry for the caller, not an internal error.
   */
  unavailable?: (err: Error) => string | undefined;
}

export async function startHttp(o: HttpOptions): Promise<HttpServer> {
  const open = new Set<ServerResponse>();
  const server: Server = createDoorServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://framework');
    } catch {
      return send(res, { status: 400, body: { message: `the request target is not a valid path: ${req.url}` } });
    }
    if (!o.door) return serve(req, res, url);
    o.door.admit(req, res, url).then((a) => { if (a.admitted) serve(req, res, url); }).catch((err: Error) => {
      o.log.error('request failed at the door', { method: req.method, url: req.url, error: err.message });
      send(res, { status: 500, body: { message: `internal error: ${err.message}` } });
    });
    }, o.door?.tls);
  const serve = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    if (o.stream?.(req, url, res, open)) return;
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
      if (err instanceof StoppedError || isFenced(err)) return send(res, { status: 503, body: { message: err.message } });
      const down = o.unavailable?.(err);
      if (down !== undefined) {
        o.log.warn('request refused: the store is unavailable', { method: req.method, url: req.url, why: down });
        return send(res, { status: 503, body: { message: down }, headers: { 'retry-after': '2' } });
      }
      o.log.error('request failed', { method: req.method, url: req.url, error: err.message });
      send(res, { status: 500, body: { message: `internal error: ${err.message}` } });
    });
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => {
      for (const s of open) s.end();
      return closeDoorServer(server);
    },
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

/** `/ping`, as Marathon and Metronome answer it: `pong`, as text or (asked for) JSON. */
export function ping(req: Request): Reply {
  return (req.headers.accept ?? '').startsWith('application/json')
    ? { status: 200, body: 'pong' }
    : { status: 200, text: { contentType: 'text/plain; charset=utf-8', data: 'pong' } };
}
