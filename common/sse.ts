/**
 * A server-sent event stream on an HTTP response: headers, a comment line every
 * `keepAliveMs` so proxies keep an idle stream open, a bound on what the client may leave
 * unread, and clean-up when the client goes. `streams` holds the open ones, so a stopping
 * server can end them.
 *
 * The bound: a client that stops reading (a stuck browser tab, a suspended laptop, a consumer
 * that blocks) would otherwise make the server hold every later event for it, without
 * limit. Once more than `maxBacklogBytes` wait in the response's buffer (beyond what the
 * kernel's socket buffers already hold), the stream is cut. Cut, not ended: ending queues
 * behind the unread bytes and holds them until a stalled peer times out. The client loses
 * only the frames it never had whole, and a stream with ids resumes after the last it had.
 * What the stream opens with (a replay of what the client missed) is not counted until the
 * client has read it: a client catching up on more than the bound is served, not cut.
 */
import type { ServerResponse } from 'http';
import type { Logger } from './log';

export interface EventStreamOptions {
  keepAliveMs: number;
  streams: Set<ServerResponse>;
  /** Called when the client goes (or the server ends or cuts the stream). */
  onClose: () => void;
  headers?: Record<string, string>;
  /** Bytes the client may leave unread before the stream is cut. */
  maxBacklogBytes: number;
  /** Where a cut is told, as a warning naming the stream, the unread bytes and how to resume. */
  log: Logger;
  /** The stream's name in the warning, e.g. `GET /api/v1/events`. */
  name: string;
  /** How its client gets back what it missed, for the warning (e.g. "resume with Last-Event-ID"). */
  resume?: string;
}

/** Writes one whole frame (`event: …\ndata: …\n\n`) to the stream, or cuts it when its backlog is over the bound. */
export type FrameWriter = (frame: string) => void;

/** Opens the stream; every frame, the keep-alive comments too, goes through the returned writer. */
export function openEventStream(res: ServerResponse, o: EventStreamOptions): FrameWriter {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...o.headers });
  res.flushHeaders();
  // What is written in the turn that opens the stream (a replay: the events a resuming client
  // missed, or asked for) is a burst, not bytes the client left unread: it counts against the
  // bound only once the client has read it (the buffer drained, or empty when next written).
  let opening = true;
  let burst = 0;
  setImmediate(() => { opening = false; });
  res.on('drain', () => { burst = 0; });
  const write: FrameWriter = (frame) => {
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength === 0) burst = 0;
    res.write(frame);
    if (opening) burst = res.writableLength;
    if (res.writableLength <= o.maxBacklogBytes + burst) return;
    o.log.warn(`event stream cut: its client left more than maxEventBacklogBytes unread${o.resume ? `; it may ${o.resume}` : ''}`, {
      stream: o.name, unreadBytes: res.writableLength, maxEventBacklogBytes: o.maxBacklogBytes, remoteAddress: res.socket?.remoteAddress,
    });
    res.destroy();
  };
  const keepAlive = setInterval(() => write(': keep-alive\n\n'), o.keepAliveMs);
  keepAlive.unref();
  o.streams.add(res);
  res.on('close', () => {
    clearInterval(keepAlive);
    o.onClose();
    o.streams.delete(res);
  });
  return write;
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
