/**
 * `agora logs <task-id> [-f|--follow] [--stderr] [--framework ID] [--offset N]`: a task's
 * stdout (or stderr) from its sandbox, through the master's relay — the one route to a task's
 * output, for the CLI as for the UIs and frameworks. The master finds the task's agent and
 * relays the file (`/api/v1/files/read`) or its stream as it grows (`/api/v1/files/follow`),
 * which ends once the task's run is over and all it wrote was sent. A follow outlives a
 * restart of the agent: it takes the stream up again at the byte where it stopped.
 */
import { clientIdentity } from '../common/security/client-config';
import { doorRequest, doorUrl } from '../common/security/https';
import type { MasterStateView, TaskView } from '../common/operator-types';
import { parseArgs, UsageError } from '../common/flags';
import { getJsonFrom, masterAddress, type MasterAddress } from '../common/operator-client';
import { table } from './table';

export interface LogsIo {
  /** The file's text, raw: chunks may end mid-line. */
  stdout: (chunk: string) => void;
  /** For people: why the command could not do what was asked. */
  stderr: (chunk: string) => void;
}

/** The task, the master or its agent cannot be found or reached; the message says which and why. */
export class LogsError extends Error {
  override readonly name = 'LogsError';
}

/** The agent's cut for one read (the relay passes it on); larger files are read page by page. */
const PAGE_BYTES = 1024 * 1024;

export async function logs(argv: string[], io: LogsIo): Promise<number> {
  const { flags, positional } = parseArgs(argv,
    { master: 'string', follow: 'boolean', stderr: 'boolean', framework: 'string', offset: 'number' },
    { positional: true, short: { f: 'follow' } });
  if (positional.length !== 1) throw new UsageError('agora logs needs exactly one task id, e.g. agora logs web-1');
  const offset = flags.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < -1) throw new UsageError(`--offset must be an integer ≥ 0, or -1 for the end; got ${offset}`);
  const taskId = positional[0]!;
  const addr = masterAddress(flags.master);
  // The master that answered: the leader, which relays the sandbox (a standby would only redirect).
  const { value: state, master } = await getJsonFrom<MasterStateView>(addr, '/api/v1/state');

  const found = findTask(state, addr, taskId, flags.framework);
  if ('choices' in found) {
    io.stderr(`agora: task ${taskId} is in ${found.choices.length} frameworks; choose one with --framework ID:\n`);
    io.stderr(`${table(['FRAMEWORK', 'NAME', 'STATE', 'AGENT'], found.choices.map((t) => [
      t.frameworkId, state.frameworks.find((f) => f.id === t.frameworkId)?.name ?? '', t.state, t.agentId,
    ]))}\n`);
    return 2;
  }
  const sandbox = sandboxFileRef(master, found.frameworkId, taskId, flags.stderr ? 'stderr' : 'stdout', found.agentId);
  if (flags.follow) await followSandboxFile(sandbox, offset, io.stdout);
  else await print(sandbox, offset, io.stdout);
  return 0;
}

/** The one task of that id (in that framework), or the frameworks to choose from. */
function findTask(state: MasterStateView, addr: MasterAddress, taskId: string, frameworkId: string | undefined): TaskView | { choices: TaskView[] } {
  const all = state.tasks.filter((t) => t.id === taskId);
  const matching = frameworkId === undefined ? all : all.filter((t) => t.frameworkId === frameworkId);
  if (matching.length === 1) return matching[0]!;
  if (matching.length > 1) return { choices: matching };
  if (all.length > 0) {
    throw new LogsError(`framework ${frameworkId ?? ''} has no task ${taskId}; it is in framework ${all.map((t) => t.frameworkId).join(', ')}`);
  }
  throw new LogsError(`the master at ${addr.httpUrl} knows no task ${taskId} (it lists live tasks and the latest finished ones; see agora tasks)`);
}

/** A file in the sandbox of a task's newest run, read through the master's relay. */
export interface SandboxRef {
  /** The master's HTTP address, host:port. */
  master: string;
  /** framework_id, task_id, file and agent_id (where it ran), URL-encoded. */
  query: string;
}

export function sandboxFileRef(master: string, frameworkId: string, taskId: string, file: string, agentId: string): SandboxRef {
  const q = new URLSearchParams({ framework_id: frameworkId, task_id: taskId, file, agent_id: agentId });
  return { master, query: q.toString() };
}

/** The relay's answers that say the agent is away for now (it restarts): tried again, not an end. */
const AWAY: ReadonlySet<number> = new Set([502, 503, 504]);

/** What the file holds now, from `offset`, page by page. */
async function print(s: SandboxRef, offset: number, write: (chunk: string) => void): Promise<void> {
  // The size first: a file that grows while it is read is printed up to where it was,
  // so a busy task's log cannot keep the command reading for ever.
  const { offset: size } = await relayJson<{ offset: number }>(s.master, `/api/v1/files/read?${s.query}&offset=-1`);
  let at = offset === -1 ? size : offset;
  while (at < size) {
    const length = Math.min(PAGE_BYTES, size - at);
    const { data } = await relayJson<{ data: string }>(s.master, `/api/v1/files/read?${s.query}&offset=${at}&length=${length}`);
    if (!data) return;   // the file shrank meanwhile
    write(data);
    at += length;
  }
}

export interface FollowOptions {
  /** Stops following (resolves) when aborted. */
  signal?: AbortSignal;
  /**
   * How long to keep trying to reach the agent again once it is lost (it restarts, the
   * connection drops) before giving up; default 2 minutes.
   */
  reconnectForMs?: number;
}

/**
 * Streams the file from `offset` (-1: its end) until the agent ends the stream, which it
 * does once the task's run is over and everything was sent. A stream cut before that (the
 * agent restarted, the network dropped, the relay answered 502/503/504 while the agent was
 * away) is taken up again where it stopped, by byte offset, so nothing is printed twice or
 * skipped; a refusal (404: no such task or run) ends it.
 */
export async function followSandboxFile(s: SandboxRef, offset: number, write: (chunk: string) => void, o: FollowOptions = {}): Promise<void> {
  let at = offset === -1 ? (await relayJson<{ offset: number }>(s.master, `/api/v1/files/read?${s.query}&offset=-1`)).offset : offset;
  const budgetMs = o.reconnectForMs ?? 120_000;
  let lostSince: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const outcome = await followOnce(s, at, (chunk) => {
      // Whole characters only (the decoder holds a split one back), so these are the bytes sent.
      at += Buffer.byteLength(chunk, 'utf8');
      lostSince = undefined;
      attempt = 0;
      write(chunk);
    }, o.signal);
    if (outcome === 'ended' || outcome === 'aborted') return;
    if (outcome.refused) throw outcome.error;
    lostSince ??= Date.now();
    if (Date.now() - lostSince > budgetMs) throw outcome.error;
    if (await pause(Math.min(2_000, 100 * 2 ** attempt), o.signal)) return;
  }
}

type FollowOutcome = 'ended' | 'aborted' | { error: LogsError; refused: boolean };

/** One `/api/v1/files/follow` request from byte `at`. */
function followOnce(s: SandboxRef, at: number, write: (chunk: string) => void, signal?: AbortSignal): Promise<FollowOutcome> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve('aborted');
    const id = clientIdentity();
    const path = `/api/v1/files/follow?${s.query}&offset=${at}`;
    const req = doorRequest(`${doorUrl(s.master, id?.ca)}${path}`, { identity: id }, (res) => {
      res.setEncoding('utf8');   // a character split between two chunks stays whole
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (d: string) => { body += d; });
        const status = res.statusCode ?? 0;
        res.on('end', () => resolve({ error: relayError(s.master, status, body), refused: !AWAY.has(status) }));
        return;
      }
      res.on('data', write);
      // A clean end means the run is over and everything was sent; a cut one does not.
      res.on('close', () => resolve(signal?.aborted ? 'aborted' : res.complete ? 'ended'
        : { error: new LogsError(`the stream from the master at ${s.master} closed before the task's run ended`), refused: false }));
    });
    const onAbort = () => req.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    // A follow may last as long as the task: no timeout, but a dead peer is noticed.
    req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
    req.on('error', (err) => resolve(signal?.aborted ? 'aborted' : { error: new LogsError(`cannot reach the master at ${s.master}: ${err.message}`), refused: false }));
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.end();
  });
}

/** Waits `ms`; true if aborted meanwhile. */
function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(false); }, ms);
    const onAbort = () => { clearTimeout(t); resolve(true); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function relayJson<T>(master: string, path: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const id = clientIdentity();
    const req = doorRequest(`${doorUrl(master, id?.ca)}${path}`, { timeout: timeoutMs, identity: id }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(relayError(master, res.statusCode ?? 0, body));
        try { resolve(JSON.parse(body) as T); } catch (err) { reject(new LogsError(`the master at ${master} sent invalid JSON: ${(err as Error).message}`)); }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new LogsError(`cannot reach the master at ${master}: ${err.message}`)));
    req.end();
  });
}

/** The refusal in its own words (the master's, or the agent's it relays): `{"error": "no file 'x' in the sandbox"}`. */
function relayError(master: string, status: number, body: string): LogsError {
  let why = body.slice(0, 300);
  try { why = (JSON.parse(body) as { error?: string }).error ?? why; } catch { /* not JSON: the raw text */ }
  return new LogsError(`the master at ${master} answered ${status}: ${why}`);
}
