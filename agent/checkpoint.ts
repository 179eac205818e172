/**
 * Checkpoints: small JSON files in the work directory that a restarted agent reads back.
 * A write goes to a temporary file, is flushed to disk, then renamed over the old one, so a
 * crash at any moment leaves either the old or the new checkpoint, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'fs';
import { dirname, join } from 'path';

let seq = 0;

/**
 * `sync: false` skips the flush to disk: the write still survives the agent dying (the page
 * cache does), not the machine losing power. For frequent writes whose loss a flushed
 * checkpoint covers.
 */
export function writeJsonAtomic(path: string, data: unknown, opts: { sync?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${seq++}`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(data, null, 1));
      if (opts.sync ?? true) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The parsed checkpoint, or undefined when there is none yet. A corrupt file throws. */
export function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as unknown;
}

/** Where the agent keeps its checkpoints, apart from the task sandboxes. */
export function metaDir(workDir: string): string {
  return join(workDir, 'meta');
}
