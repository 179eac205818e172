/**
 * A server-sent event stream on an HTTP response: headers, a comment line every
 * `keepAliveMs` so proxies keep an idle stream open, and clean-up when the client goes.
 * `streams` holds the open ones, so a stopping server can end them.
 */
import type { ServerResponse } from 'http';

export function openEventStream(res: ServerResponse, o: {
  keepAliveMs: number;
  streams: Set<ServerResponse>;
  /** Called when the client goes (or the server ends the stream). */
  onClose: () => void;
  headers?: Record<string, string>;
}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...o.headers });
  res.flushHeaders();
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), o.keepAliveMs);
  keepAlive.unref();
  o.streams.add(res);
  res.on('close', () => {
    clearInterval(keepAlive);
    o.onClose();
    o.streams.delete(res);
  });
}
