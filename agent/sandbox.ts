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
import { mkdirSync, promises as fsp, writeFileSync } from 'fs';
import { isAbsolute, join, resolve, sep } from 'path';

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

/** Resolves `file` inside `dir`, following links, and refuses what lies outside or is no file. */
export async function sandboxFile(dir: string, file: string): Promise<SandboxFile> {
  if (!file || file.includes('\0')) return { ok: false, status: 400, error: 'file must name a file in the sandbox, e.g. stdout' };
  const outside = { ok: false as const, status: 400 as const, error: `'${file}' is outside the sandbox` };
  // First by the name alone, so nothing is learned about files outside, not even that
  // they exist; then by the resolved path, which catches links.
  if (isAbsolute(file) || !resolve(dir, file).startsWith(resolve(dir) + sep)) return outside;
  let root: string;
  let real: string;
  try {
    root = await fsp.realpath(dir);
    real = await fsp.realpath(join(root, file));
  } catch {
    return { ok: false, status: 404, error: `no file '${file}' in the sandbox` };
  }
  if (!real.startsWith(root + sep)) return outside;
  const st = await fsp.stat(real);
  if (!st.isFile()) return { ok: false, status: 400, error: `'${file}' is not a regular file` };
  return { ok: true, path: real, size: st.size };
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
