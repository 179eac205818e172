/**
 * Following a sandbox file as it grows (`GET /files/follow`): the response is the file's
 * bytes from an offset on, as chunked plain text, and it ends once the run that writes the
 * file is over and everything it wrote has been sent — or when the client goes away.
 *
 * A follower wakes when the file changes (`fs.watch`), when its run ends (the agent tells
 * `RunEnds`), and on a slow poll in case the filesystem does not report changes (some
 * network and overlay filesystems do not). Whether the run is over is read *before* the
 * file is read to its end: if it was over then, nothing can be written after, so the bytes
 * read are all there will ever be.
 *
 * The file comes already open (sandbox.ts `sandboxFile`, checked inside the sandbox) and is
 * read through that one descriptor until the end, never reopened by name: a link the task
 * swaps in for the file afterwards leads the follower nowhere.
 */
import { watch, type FSWatcher } from 'fs';
import type { FileHandle } from 'fs/promises';
import type { ServerResponse } from 'http';

/** How much is read and written at a time; the response's backpressure bounds the rest. */
const CHUNK_BYTES = 64 * 1024;

/** Tells followers that a run ended, by its container id; one listener per follower. */
export class RunEnds {
  private readonly waiting = new Map<string, Set<() => void>>();

  ended(containerId: string): void {
    for (const wake of this.waiting.get(containerId) ?? []) wake();
  }

  /** Calls `wake` when run `containerId` ends; returns the way to stop listening. */
  listen(containerId: string, wake: () => void): () => void {
    let set = this.waiting.get(containerId);
    if (!set) this.waiting.set(containerId, set = new Set());
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) this.waiting.delete(containerId);
    };
  }

  /** Followers still listening, for tests and metrics. */
  get size(): number {
    let n = 0;
    for (const s of this.waiting.values()) n += s.size;
    return n;
  }
}

export interface FollowSpec {
  /** The file, open and checked inside the sandbox; `followFile` closes it. */
  file: FileHandle;
  /** Where to start; already checked to be ≥ 0. */
  offset: number;
  containerId: string;
  /** Whether the run is over now (its container gone, its output all in the sandbox). */
  runOver(): boolean;
  runEnds: RunEnds;
  pollMs: number;
  headOnly: boolean;
}

export async function followFile(res: ServerResponse, spec: FollowSpec): Promise<void> {
  const fh = spec.file;
  res.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // So a client that asked for the end (offset=-1) knows where it is, and can resume.
    'x-agora-offset': String(spec.offset),
    'x-agora-container-id': spec.containerId,
  });
  if (spec.headOnly) { res.end(); await fh.close(); return; }
  res.flushHeaders();   // the client learns at once that the stream is open

  let changed = true;
  // The client may have left while the file was looked up, before 'close' was listened to.
  let closed = res.destroyed || (res.socket?.destroyed ?? true);
  let wake: (() => void) | undefined;
  const signal = () => { changed = true; wake?.(); };
  const onClose = () => { closed = true; signal(); };
  res.on('close', onClose);
  const unlisten = spec.runEnds.listen(spec.containerId, signal);
  const poll = setInterval(signal, spec.pollMs);
  let watcher: FSWatcher | undefined;
  try {
    // The inode the descriptor holds, not whatever the name means by now.
    watcher = watch(`/proc/self/fd/${fh.fd}`, { persistent: false }, signal);
    watcher.on('error', () => undefined);   // e.g. the file was removed: the poll carries on
  } catch {
    // No watch here (e.g. out of inotify watches): the poll alone drives the follower.
  }
  try {
    let position = spec.offset;
    while (!closed) {
      const over = spec.runOver();
      changed = false;
      position = await copyFrom(fh, position, res, () => closed);
      if (over) break;
      if (!changed && !closed) await new Promise<void>((resolve) => { wake = resolve; });
      wake = undefined;
    }
    if (!closed) res.end();
  } finally {
    res.off('close', onClose);
    unlisten();
    clearInterval(poll);
    watcher?.close();
    await fh.close();
  }
}

/** Writes what the file holds past `position`, minding backpressure; the new position. */
async function copyFrom(fh: FileHandle, position: number, res: ServerResponse, gone: () => boolean): Promise<number> {
  for (;;) {
    if (gone()) return position;
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, position);
    if (bytesRead === 0) return position;
    position += bytesRead;
    if (!res.write(buf.subarray(0, bytesRead))) {
      await new Promise<void>((resolve) => {
        const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
}
