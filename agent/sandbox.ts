/**
 * The sandbox: one directory per run of a task, where its `stdout` and `stderr` land and
 * where it may write its own files. Layout under the work directory:
 *
 *   agents/<agentId>/frameworks/<frameworkId>/tasks/<taskId>/runs/<containerId>/
 *
 * Ids become path components, so only ids that cannot climb out of the tree are accepted;
 * reading a file resolves symbolic links and refuses anything outside the sandbox (a task
 * may plant a link to /etc/shadow in its own directory).
 */
import { mkdirSync, promises as fsp, writeFileSync, type Stats } from 'fs';
import { isAbsolute, join, relative, resolve, sep } from 'path';

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

/** Creates the run directory with empty `stdout` and `stderr`, so they can be read at once. */
export function createSandbox(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stdout'), '', { flag: 'a' });
  writeFileSync(join(dir, 'stderr'), '', { flag: 'a' });
}

export type SandboxFile =
  | { ok: true; path: string; size: number }
  | { ok: false; status: 400 | 404; error: string };

type Refusal = { ok: false; status: 400 | 404; error: string };
type Resolved = { ok: true; root: string; real: string; stat: Stats } | Refusal;

/**
 * Resolves `rel` inside `dir`, following links, and refuses what lies outside. `''` is the
 * sandbox itself. `what` names the parameter in errors.
 */
async function resolveInside(dir: string, rel: string, what: string): Promise<Resolved> {
  if (rel.includes('\0')) return { ok: false, status: 400, error: `${what} must not contain NUL` };
  const outside: Refusal = { ok: false, status: 400, error: `'${rel}' is outside the sandbox` };
  // First by the name alone, so nothing is learned about files outside, not even that
  // they exist; then by the resolved path, which catches links.
  const root = resolve(dir);
  const named = resolve(dir, rel);
  if (isAbsolute(rel) || (named !== root && !named.startsWith(root + sep))) return outside;
  let realRoot: string;
  let real: string;
  try {
    realRoot = await fsp.realpath(dir);
    real = await fsp.realpath(join(realRoot, rel));
  } catch {
    return { ok: false, status: 404, error: `no '${rel}' in the sandbox` };
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return outside;
  return { ok: true, root: realRoot, real, stat: await fsp.stat(real) };
}

/** Resolves `file` inside `dir`, following links, and refuses what lies outside or is no file. */
export async function sandboxFile(dir: string, file: string): Promise<SandboxFile> {
  if (!file) return { ok: false, status: 400, error: 'file must name a file in the sandbox, e.g. stdout' };
  const r = await resolveInside(dir, file, 'file');
  if (!r.ok) return r.status === 404 ? { ok: false, status: 404, error: `no file '${file}' in the sandbox` } : r;
  if (!r.stat.isFile()) return { ok: false, status: 400, error: `'${file}' is not a regular file` };
  return { ok: true, path: r.real, size: r.stat.size };
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
  | Refusal;

/** Listings are cut at this many entries: a task may fill a directory with millions. */
export const MAX_BROWSE_ENTRIES = 10_000;

/**
 * The entries of directory `rel` of the sandbox `dir` (`''`: the sandbox itself), sorted by
 * name, with the same refusals as `sandboxFile`. An entry that vanishes while it is being
 * looked at is left out.
 */
export async function listSandboxDir(dir: string, rel: string, max = MAX_BROWSE_ENTRIES): Promise<SandboxListing> {
  const r = await resolveInside(dir, rel, 'path');
  if (!r.ok) return r.status === 404 ? { ok: false, status: 404, error: `no directory '${rel}' in the sandbox` } : r;
  if (!r.stat.isDirectory()) return { ok: false, status: 400, error: `'${rel}' is not a directory` };
  const base = relative(r.root, r.real).split(sep).join('/');
  const names: string[] = [];
  let truncated = false;
  const d = await fsp.opendir(r.real);
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
    const st = await fsp.lstat(join(r.real, name)).catch(() => undefined);
    if (!st) continue;
    entries.push({
      name, path: base ? `${base}/${name}` : name, type: entryType(st), size: st.size, mode: modeString(st), mtime: Math.floor(st.mtimeMs),
    });
  }
  return { ok: true, path: base, entries, truncated };
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

/** Reads up to `length` bytes at `offset` of a file of `size` bytes (past the end: nothing). */
export async function readChunk(path: string, offset: number, length: number, size: number): Promise<string> {
  const n = Math.max(0, Math.min(length, size - offset));
  if (n === 0) return '';
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, offset);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}
