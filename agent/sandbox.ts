/**
 * The sandbox: one directory per run of a task, where its `stdout` and `stderr` land and
 * where it may write its own files. Layout under the work directory:
 *
 *   agents/<agentId>/frameworks/<frameworkId>/tasks/<taskId>/runs/<containerId>/
 *
 * Ids become path components, so only ids that cannot climb out of the tree are accepted.
 * Files and directories in a sandbox are opened through sandbox-open.ts, which refuses
 * anything outside it however the task arranged its links (a task may plant a link to
 * /etc/shadow in its own directory, or swap one in while the agent looks).
 */
import { chmodSync, mkdirSync, promises as fsp, statSync, writeFileSync, type Stats } from 'fs';
import type { FileHandle } from 'fs/promises';
import { join } from 'path';
import { openInSandbox, type SandboxRefusal } from './sandbox-open';

const SAFE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Why an id cannot name a sandbox directory, or undefined when it can. */
export function unsafeIdReason(kind: string, id: string): string | undefined {
  if (!id) return `${kind} id is empty`;
  if (id.length > 200) return `${kind} id is longer than 200 characters`;
  if (!SAFE_ID.test(id)) return `${kind} id '${id}' may hold only letters, digits, '_', '.', '-' and must not start with '.' or '-'`;
  return undefined;
}

export function sandboxPath(workDir: string, agentId: string, frameworkId: string, taskId: string, containerId: string): string {
  for (const [kind, id] of [['agent', agentId], ['framework', frameworkId], ['task', taskId], ['container', containerId]] as const) {
    const why = unsafeIdReason(kind, id);
    if (why) throw new Error(why);
  }
  return join(workDir, 'agents', agentId, 'frameworks', frameworkId, 'tasks', taskId, 'runs', containerId);
}

/**
 * Process tasks run as another user (nobody) under a root agent, and must reach their
 * sandboxes inside the work directory: it gets the search bit for others (not the read bit,
 * so they cannot list it). The directories above it are the operator's to open.
 * `processUser` '' runs them as the agent's own user: nothing to open.
 */
export function letTasksThrough(workDir: string, processUser: string | undefined): void {
  if (process.getuid?.() !== 0 || processUser === '') return;
  const mode = statSync(workDir).mode & 0o7777;
  if ((mode & 0o001) === 0) chmodSync(workDir, mode | 0o011);
}

/** Creates the run directory with empty `stdout` and `stderr`, so they can be read at once. */
export function createSandbox(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stdout'), '', { flag: 'a' });
  writeFileSync(join(dir, 'stderr'), '', { flag: 'a' });
}

export type SandboxFile =
  | { ok: true; file: FileHandle; size: number }
  | SandboxRefusal;

/**
 * Opens `file` inside `dir` for reading (sandbox-open.ts: no link the task planted leads
 * out, and no swap between a check and the open does either). The caller reads through
 * `file`, never by name again, and closes it.
 */
export async function sandboxFile(dir: string, file: string): Promise<SandboxFile> {
  if (!file) return { ok: false, status: 400, reason: 'bad-path', error: 'file must name a file in the sandbox, e.g. stdout' };
  const r = await openInSandbox(dir, file, 'file');
  return r.ok ? { ok: true, file: r.handle, size: r.stat.size } : r;
}

export interface SandboxEntry {
  name: string;
  /** Relative to the sandbox, with '/' between components; links inside are resolved. */
  path: string;
  /** What the entry itself is: a link is reported as a link, not as what it points to. */
  type: 'file' | 'directory' | 'link' | 'other';
  size: number;
  /** As `ls -l` shows it, e.g. `-rw-r--r--`, `drwxr-xr-x`, `lrwxrwxrwx`. */
  mode: string;
  /** Last modification, ms since the epoch. */
  mtime: number;
}

export type SandboxListing =
  | { ok: true; path: string; entries: SandboxEntry[]; truncated: boolean }
  | SandboxRefusal;

/** Listings are cut at this many entries: a task may fill a directory with millions. */
export const MAX_BROWSE_ENTRIES = 10_000;

/**
 * The entries of directory `rel` of the sandbox `dir` (`''`: the sandbox itself), sorted by
 * name, with the same refusals as `sandboxFile`. The directory is read and its entries
 * looked at through the descriptor that was checked, so a swap after the check changes
 * nothing; entries are `lstat`ed, never followed. An entry that vanishes while it is being
 * looked at is left out.
 */
export async function listSandboxDir(dir: string, rel: string, max = MAX_BROWSE_ENTRIES): Promise<SandboxListing> {
  const r = await openInSandbox(dir, rel, 'directory');
  if (!r.ok) return r;
  try {
    // The directory the descriptor holds, wherever it is now (Linux): the names below are looked up in it.
    const at = `/proc/self/fd/${r.handle.fd}`;
    const names: string[] = [];
    let truncated = false;
    const d = await fsp.opendir(at);
    try {
      for await (const e of d) {
        if (names.length >= max) { truncated = true; break; }
        names.push(e.name);
      }
    } finally {
      await d.close().catch(() => undefined);   // closed already when the loop ran to its end
    }
    names.sort();
    const entries: SandboxEntry[] = [];
    for (const name of names) {
      const st = await fsp.lstat(`${at}/${name}`).catch(() => undefined);
      if (!st) continue;
      entries.push({
        name, path: r.path ? `${r.path}/${name}` : name, type: entryType(st), size: st.size, mode: modeString(st), mtime: Math.floor(st.mtimeMs),
      });
    }
    return { ok: true, path: r.path, entries, truncated };
  } finally {
    await r.handle.close();
  }
}

function entryType(st: Stats): SandboxEntry['type'] {
  if (st.isSymbolicLink()) return 'link';
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'file';
  return 'other';
}

/** The permission string of `ls -l`. */
export function modeString(st: Pick<Stats, 'mode' | 'isDirectory' | 'isSymbolicLink' | 'isFile'>): string {
  const kind = st.isSymbolicLink() ? 'l' : st.isDirectory() ? 'd' : st.isFile() ? '-' : '?';
  const m = st.mode;
  const bits = ['r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x'].map((c, i) => ((m >> (8 - i)) & 1 ? c : '-'));
  if (m & 0o4000) bits[2] = bits[2] === 'x' ? 's' : 'S';
  if (m & 0o2000) bits[5] = bits[5] === 'x' ? 's' : 'S';
  if (m & 0o1000) bits[8] = bits[8] === 'x' ? 't' : 'T';
  return kind + bits.join('');
}

/** Reads up to `length` bytes at `offset` of an open file of `size` bytes (past the end: nothing). */
export async function readChunk(file: FileHandle, offset: number, length: number, size: number): Promise<string> {
  const n = Math.max(0, Math.min(length, size - offset));
  if (n === 0) return '';
  const buf = Buffer.alloc(n);
  const { bytesRead } = await file.read(buf, 0, n, offset);
  return buf.subarray(0, bytesRead).toString('utf8');
}
