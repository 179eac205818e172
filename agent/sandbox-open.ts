/**
 * Opening a path inside a sandbox, safely against the task that owns it. The task controls
 * every name under its sandbox: it may plant a symbolic link (`stdout2 -> /etc/shadow`,
 * `d -> /`), and it may swap a checked regular file for such a link between any check the
 * agent makes by name and the agent's open. So nothing here is decided by name and then
 * opened by name again.
 *
 * Node has no `openat`, but Linux gives its equivalent: `/proc/self/fd/<fd>/<name>` looks
 * `<name>` up in the very directory descriptor `<fd>` holds, wherever that directory is now.
 * The path is walked one component at a time from a descriptor of the sandbox root:
 *
 *   - each component is opened with `O_NOFOLLOW` in the directory opened before it, so the
 *     kernel never follows a link the task made; `..` is never given to the kernel;
 *   - a link is followed here, by hand, only while its target stays inside: a relative
 *     target is walked on from the link's directory (its `..` pops a directory this walk
 *     opened), an absolute one must name the sandbox's own real path; anything else is
 *     refused ("a symbolic link inside the sandbox points outside it");
 *   - every descriptor opened is then checked, not its name: `fstat` says what it is (a
 *     regular file or a directory, else refused, so a FIFO or a device node is never read),
 *     and `readlink(/proc/self/fd/<fd>)`, the kernel's own name for the open file, must lie
 *     under the root's (a directory moved out while being walked is refused).
 *
 * Whatever was swapped in, what is checked is what was opened, and what is read is read
 * through that descriptor. `readlink` rather than `realpath` of the proc link: realpath
 * would resolve that name again by path, which is the race this module removes.
 *
 * A component is `lstat`ed before it is opened, so that a device or FIFO the task made is
 * refused without being opened (opening some devices has effects); the open itself uses
 * `O_NONBLOCK | O_NOCTTY` for the one that is swapped in after that look.
 */
import { constants, promises as fsp, type Stats } from 'fs';
import type { FileHandle } from 'fs/promises';
import { posix, resolve } from 'path';

/** As the kernel's MAXSYMLINKS: more links than this in one walk is a loop, or an attack. */
const MAX_LINKS = 40;
/** Directories deeper than this are refused: the walk holds one descriptor per level. */
const MAX_DEPTH = 256;
/** Longer request paths are refused before anything is opened (as PATH_MAX). */
const MAX_PATH_CHARS = 4096;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Why a path was refused; `error` says it in words for the HTTP answer. */
export type RefusalReason = 'bad-path' | 'outside' | 'missing' | 'wrong-type' | 'unreadable' | 'too-deep';

export interface SandboxRefusal {
  ok: false;
  status: 400 | 404;
  reason: RefusalReason;
  error: string;
}

export interface OpenedInSandbox {
  ok: true;
  /** Open for reading; the caller closes it. */
  handle: FileHandle;
  stat: Stats;
  /** Where it was found, relative to the sandbox, '/' between components (`''`: the sandbox itself). */
  path: string;
}

export type Wanted = 'file' | 'directory';

/**
 * Opens `rel` inside the sandbox directory `root`, as a regular file or a directory. `''`
 * and `.` are the sandbox itself.
 */
export async function openInSandbox(root: string, rel: string, want: Wanted): Promise<OpenedInSandbox | SandboxRefusal> {
  const refuse = refusals(rel, want);
  const parts = components(rel, want, refuse);
  if (!Array.isArray(parts)) return parts;

  let rootHandle: FileHandle;
  try {
    rootHandle = await fsp.open(root, OPEN_FLAGS | constants.O_DIRECTORY);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') return refuse.missing();   // removed, e.g. by garbage collection
    // The sandbox itself replaced by a link (a task running as the agent's user can do that).
    if (code === 'ELOOP' || code === 'ENOTDIR') return refuse.outside('the sandbox directory is not a directory');
    throw err;
  }
  const walk = new Walk(rootHandle);
  try {
    // Links may name the sandbox by its real path or by the one the agent gave it (AGORA_SANDBOX).
    return await walk.run(await fdPath(rootHandle), resolve(root), parts, refuse, want);
  } finally {
    await walk.closeAll();
  }
}

/** The components of a request path, or why it cannot be one. */
function components(rel: string, want: Wanted, refuse: Refusals): string[] | SandboxRefusal {
  if (rel.includes('\0')) return refuse.bad(`${want === 'file' ? 'file' : 'path'} must not contain NUL`);
  if (rel.length > MAX_PATH_CHARS) return refuse.bad(`'${rel.slice(0, 64)}…' is longer than ${MAX_PATH_CHARS} characters`);
  if (posix.isAbsolute(rel)) return refuse.outside('paths are relative to the sandbox, e.g. stdout');
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return refuse.climbs();
  return parts;
}

function refusals(rel: string, want: Wanted) {
  const noun = want === 'file' ? 'file' : 'directory';
  return {
    bad: (error: string): SandboxRefusal => ({ ok: false, status: 400, reason: 'bad-path', error }),
    outside: (why: string): SandboxRefusal => ({ ok: false, status: 400, reason: 'outside', error: `'${rel}' is outside the sandbox: ${why}` }),
    climbs: (): SandboxRefusal => ({
      ok: false, status: 400, reason: 'outside', error: `'${rel}' may lead outside the sandbox: '..' is not allowed; name it from the sandbox, e.g. sub/file`,
    }),
    missing: (): SandboxRefusal => ({ ok: false, status: 404, reason: 'missing', error: `no ${noun} '${rel}' in the sandbox` }),
    unreadable: (): SandboxRefusal => ({ ok: false, status: 404, reason: 'unreadable', error: `'${rel}' in the sandbox cannot be read by the agent (permission denied)` }),
    wrongType: (): SandboxRefusal => ({
      ok: false, status: 400, reason: 'wrong-type', error: `'${rel || '.'}' is not ${want === 'file' ? 'a regular file' : 'a directory'}`,
    }),
    tooDeep: (why: string): SandboxRefusal => ({ ok: false, status: 400, reason: 'too-deep', error: `'${rel}': ${why}` }),
  };
}

type Refusals = ReturnType<typeof refusals>;

/** The directories opened so far, the sandbox root first; each one checked inside it. */
class Walk {
  private readonly stack: FileHandle[];
  /** Handed to the caller: not closed with the rest. */
  private kept: FileHandle | undefined;

  constructor(root: FileHandle) {
    this.stack = [root];
  }

  async run(rootReal: string, rootNamed: string, parts: string[], refuse: Refusals, want: Wanted): Promise<OpenedInSandbox | SandboxRefusal> {
    const pending = [...parts];
    let links = 0;
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === '..') {
        // Only a link's target brings '..' here; the request's own were refused.
        if (this.stack.length === 1) return refuse.outside('a symbolic link inside the sandbox points outside it');
        await this.stack.pop()!.close();
        continue;
      }
      const last = pending.length === 0;
      const at = `/proc/self/fd/${this.top.fd}/${name}`;
      let seen: Stats;
      try {
        seen = await fsp.lstat(at);
      } catch (err) {
        return missingOr(err, refuse);
      }
      if (seen.isSymbolicLink()) {
        if (++links > MAX_LINKS) return refuse.tooDeep(`more than ${MAX_LINKS} symbolic links on the way (a loop?)`);
        const target = await fsp.readlink(at).catch(() => undefined);
        if (target === undefined) { pending.unshift(name); continue; }   // no longer a link: look again
        const inside = await this.enter(target, [rootReal, rootNamed]);
        if (!inside) return refuse.outside('a symbolic link inside the sandbox points outside it');
        pending.unshift(...inside);
        continue;
      }
      if (!fits(seen, last, want)) return last ? refuse.wrongType() : refuse.missing();
      let opened: FileHandle;
      try {
        opened = await fsp.open(at, OPEN_FLAGS);
      } catch (err) {
        // Swapped for a link since the lstat: count it, and follow it (or refuse it) above.
        if (errnoOf(err) === 'ELOOP' && ++links <= MAX_LINKS) { pending.unshift(name); continue; }
        return missingOr(err, refuse);
      }
      this.stack.push(opened);
      if (this.stack.length > MAX_DEPTH) return refuse.tooDeep(`deeper than ${MAX_DEPTH} directories`);
      // The checks that count: on the descriptor, whatever the name pointed to a moment ago.
      const stat = await opened.stat();
      if (!fits(stat, last, want)) return last ? refuse.wrongType() : refuse.missing();
      const real = await fdPath(opened);
      if (!within(real, rootReal)) return refuse.outside('what was opened lies outside it (moved while it was opened?)');
    }
    const top = this.top;
    const stat = await top.stat();
    // Checked as the end only now when nothing was opened after it: the root, or where a
    // link to '.' or a '..' left the walk.
    if (!fits(stat, true, want)) return refuse.wrongType();
    this.kept = top;
    const real = await fdPath(top);
    return { ok: true, handle: top, stat, path: real === rootReal ? '' : real.slice(rootReal.length + 1) };
  }

  /**
   * The components to walk for a link's target, after moving to where the target starts;
   * undefined when it starts outside the sandbox.
   */
  private async enter(target: string, rootNames: string[]): Promise<string[] | undefined> {
    let rest = target;
    if (posix.isAbsolute(target)) {
      const base = rootNames.find((name) => within(target, name));
      if (base === undefined) return undefined;
      rest = target.slice(base.length);
      while (this.stack.length > 1) await this.stack.pop()!.close();
    }
    return rest.split('/').filter((p) => p !== '' && p !== '.');
  }

  private get top(): FileHandle {
    return this.stack[this.stack.length - 1];
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.stack.filter((h) => h !== this.kept).map((h) => h.close().catch(() => undefined)));
  }
}

/** Whether `st` may be the component: a directory on the way, the wanted kind at the end. */
function fits(st: Stats, last: boolean, want: Wanted): boolean {
  if (!last || want === 'directory') return st.isDirectory();
  return st.isFile();
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root === '/' ? '/' : `${root}/`);
}

/** The kernel's name for what `handle` holds (Linux). */
async function fdPath(handle: FileHandle): Promise<string> {
  return fsp.readlink(`/proc/self/fd/${handle.fd}`);
}

function missingOr(err: unknown, refuse: Refusals): SandboxRefusal {
  const code = errnoOf(err);
  if (code === 'EACCES' || code === 'EPERM') return refuse.unreadable();
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return refuse.missing();
  if (code === 'ELOOP') return refuse.tooDeep(`more than ${MAX_LINKS} symbolic links on the way (a loop?)`);
  throw err;
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
