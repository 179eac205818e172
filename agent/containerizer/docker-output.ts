/**
 * Moving a container's output into its sandbox files: waiting for the stream to end, closing
 * the files once everything is written, and appending what a file lacks of a container's
 * whole log (after an agent restart).
 */
import { createWriteStream, statSync, type WriteStream } from 'fs';
import { Writable } from 'stream';

export function drained(stream: NodeJS.ReadableStream, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const r = stream as NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean; destroy?(): void };
    if (r.readableEnded || r.destroyed) return resolve();
    const t = setTimeout(() => { r.destroy?.(); resolve(); }, timeoutMs);
    const done = () => { clearTimeout(t); resolve(); };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

export function closeFile(w: Writable | WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (w.closed) return resolve();
    w.once('close', () => resolve());
    w.once('error', () => resolve());
    w.end();
  });
}

/**
 * A sink for a container's whole log that appends to `path` only what the file does not hold
 * yet: the file holds a prefix of the log (it was streamed there until the agent stopped).
 */
export function appendMissing(path: string): Writable {
  let skip = 0;
  try {
    skip = statSync(path).size;
  } catch {
    // No file yet: everything is missing.
  }
  const file = createWriteStream(path, { flags: 'a' });
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        callback();
        return;
      }
      const rest = skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
      file.write(rest, callback);
    },
    final(callback) {
      file.end(() => callback());
    },
  });
}
