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

/**
 * The client side: calls `onFrame` with each event of a server-sent stream (the text between
 * blank lines), however the chunks fall.
 */
export function readEventFrames(stream: NodeJS.ReadableStream, onFrame: (frame: string) => void): void {
  stream.setEncoding('utf8');
  let pending = '';
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let cut: number;
    while ((cut = pending.indexOf('\n\n')) >= 0) {
      const frame = pending.slice(0, cut);
      pending = pending.slice(cut + 2);
      onFrame(frame);
    }
  });
}

/** A frame's `event:` name and `data:` text (undefined when absent). */
export function frameFields(frame: string): { event?: string; data?: string } {
  const lines = frame.split('\n');
  return { event: lines.find((l) => l.startsWith('event: '))?.slice(7), data: lines.find((l) => l.startsWith('data: '))?.slice(6) };
}
