/**
 * The agent's HTTP endpoints, for operators, the CLI and the master's UI:
 *
 *   GET /health                 200 {"healthy": true}
 *   GET /state                  the agent id, its resources and its tasks with their sandboxes
 *   GET /files/read?framework_id=F&task_id=T&file=stdout&offset=N&length=M[&container_id=C]
 *                               {"data": "<text>", "offset": N}; offset=-1 gives the size
 *                               as offset and no data, so a tail can start at the end
 *   GET /files/browse?framework_id=F&task_id=T[&path=sub/dir][&container_id=C]
 *                               {"path", "entries": [{name, path, type, size, mode, mtime}],
 *                               "truncated"}: one directory of the sandbox
 *   GET /files/follow?framework_id=F&task_id=T&file=stdout[&offset=N][&container_id=C]
 *                               the file as it grows, chunked text/plain, ending once the
 *                               run is over and all it wrote was sent (follow.ts)
 *
 * Errors are JSON `{"error": "..."}`: 400 for bad parameters (including any path that leads
 * out of the sandbox, by '..' or by a symbolic link, however it was swapped in), 404 for an
 * unknown task, file or directory, 405 for other methods. Sandbox files are opened once,
 * checked on the open descriptor and read through it (../sandbox-open.ts).
 */
import { type IncomingMessage, type ServerResponse } from 'http';
import { closeDoorServer, createDoorServer } from '../../common/security/https';
import type { AddressInfo } from 'net';
import type { Logger } from '../../common/log';
import type { ResourceView } from '../../common/operator-types';
import type { ResourceStatistics } from '../../common/types';
import type { HttpDoor } from '../../common/security/http-door';
import { listSandboxDir, readChunk, sandboxFile } from '../sandbox';
import { followFile, RunEnds } from './follow';

export interface AgentTaskView {
  id: string;
  name: string;
  frameworkId: string;
  state: string;
  containerId: string;
  containerizer: string;
  sandbox: string;
  message: string;
  exitCode?: number;
  /** A live task's newest usage, as last sent to the master. */
  statistics?: ResourceStatistics;
}

export interface AgentStateView {
  agentId: string;
  hostname: string;
  port: number;
  attributes: Record<string, string>;
  resources: ResourceView;
  containerizers: string[];
  /** Whether process containers get cgroup limits here, and if not, why not. */
  isolation: { cgroups: 'v1' | 'v2' | 'none'; why: string };
  registered: boolean;
  /** Status updates sent and not yet acknowledged by their framework: a stuck one shows here. */
  unacknowledgedUpdates: number;
  /** Set while the agent takes no launches because its container engine does not answer: why. */
  degradedReason?: string;
  tasks: AgentTaskView[];
}

/** One run of a task, as the file endpoints need it. */
export interface AgentRunView {
  containerId: string;
  sandbox: string;
  /** The run's container is gone and all it wrote is in the sandbox: the files grow no more. */
  over: boolean;
}

export interface AgentHttpDeps {
  state(): AgentStateView;
  /** A task's newest run (or run `containerId`), if it has a sandbox. */
  runOf(frameworkId: string, taskId: string, containerId?: string): AgentRunView | undefined;
  /** Registers the listener told of every run that becomes `over`, by its container id. */
  onRunEnded(listener: (containerId: string) => void): void;
  log: Logger;
  /**
   * How often a follower looks at its file when nothing told it of a change: a safety net
   * for filesystems that do not report changes. Default 1 000 ms.
   */
  followPollMs?: number;
  /** Credentials in front of `/state` and `/files` (`/health` stays open); open without it. */
  door?: HttpDoor;
}

export interface AgentHttpServer {
  port: number;
  /** Responses of /files/follow still streaming. */
  readonly following: number;
  close(): Promise<void>;
}

/** Reads larger than this are cut to it: a client pages through big files. */
export const MAX_READ_BYTES = 1024 * 1024;

export async function startHttp(host: string, port: number, deps: AgentHttpDeps): Promise<AgentHttpServer> {
  const runEnds = new RunEnds();
  deps.onRunEnded((containerId) => runEnds.ended(containerId));
  const server = createDoorServer((req, res) => {
    admit(req, res, deps.door).then((admitted) => (admitted ? handle(req, res, deps, runEnds) : undefined)).catch((err) => {
      deps.log.error('http handler failed', { url: req.url, err });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
    }, deps.door?.tls);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as AddressInfo).port,
    get following() { return runEnds.size; },
    close: () => closeDoorServer(server),
  };
}

async function admit(req: IncomingMessage, res: ServerResponse, door: HttpDoor | undefined): Promise<boolean> {
  if (!door) return true;
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://agent');
  } catch {
    send(res, 400, { error: `the request target is not a valid path: ${req.url}` });
    return false;
  }
  return (await door.admit(req, res, url)).admitted;
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: AgentHttpDeps, runEnds: RunEnds): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: `${req.method ?? ''} is not allowed: use GET` });
  switch (url.pathname) {
    case '/health': return send(res, 200, { healthy: true });
    case '/state': return send(res, 200, deps.state());
    case '/files/read': return readFile(url.searchParams, res, deps);
    case '/files/browse': return browse(url.searchParams, res, deps);
    case '/files/follow': return follow(url.searchParams, req, res, deps, runEnds);
    default: return send(res, 404, { error: `no endpoint ${url.pathname}: try /health, /state, /files/read, /files/browse or /files/follow` });
  }
}

/** The run a file request names, or the error to answer: 400 without ids, 404 for no such run. */
function runFor(q: URLSearchParams, deps: AgentHttpDeps, also: string[]): AgentRunView | { status: 400 | 404; error: string } {
  const missing = ['framework_id', 'task_id', ...also].filter((name) => !q.get(name));
  if (missing.length > 0) return { status: 400, error: `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required` };
  const frameworkId = q.get('framework_id')!;
  const taskId = q.get('task_id')!;
  const containerId = q.get('container_id') || undefined;
  const run = deps.runOf(frameworkId, taskId, containerId);
  if (!run) return { status: 404, error: `no task ${taskId}${containerId ? ` run ${containerId}` : ''} of framework ${frameworkId} on this agent` };
  return run;
}

async function readFile(q: URLSearchParams, res: ServerResponse, deps: AgentHttpDeps): Promise<void> {
  const run = runFor(q, deps, ['file']);
  if ('error' in run) return send(res, run.status, { error: run.error });
  const offset = intParam(q.get('offset'), 0);
  const length = intParam(q.get('length'), MAX_READ_BYTES);
  if (offset === undefined || offset < -1) return send(res, 400, { error: 'offset must be an integer ≥ 0, or -1 for the size' });
  if (length === undefined || length < 0) return send(res, 400, { error: 'length must be an integer ≥ 0' });
  const file = q.get('file')!;
  const found = await sandboxFile(run.sandbox, file);
  if (!found.ok) return send(res, found.status, { error: found.error });
  try {
    if (offset === -1) return send(res, 200, { data: '', offset: found.size });
    const data = await readChunk(found.file, offset, Math.min(length, MAX_READ_BYTES), found.size);
    return send(res, 200, { data, offset });
  } finally {
    await found.file.close();
  }
}

async function browse(q: URLSearchParams, res: ServerResponse, deps: AgentHttpDeps): Promise<void> {
  const run = runFor(q, deps, []);
  if ('error' in run) return send(res, run.status, { error: run.error });
  const listing = await listSandboxDir(run.sandbox, q.get('path') ?? '');
  if (!listing.ok) return send(res, listing.status, { error: listing.error });
  return send(res, 200, { path: listing.path, entries: listing.entries, truncated: listing.truncated });
}

async function follow(q: URLSearchParams, req: IncomingMessage, res: ServerResponse, deps: AgentHttpDeps, runEnds: RunEnds): Promise<void> {
  const run = runFor(q, deps, ['file']);
  if ('error' in run) return send(res, run.status, { error: run.error });
  const offset = intParam(q.get('offset'), 0);
  if (offset === undefined || offset < -1) return send(res, 400, { error: 'offset must be an integer ≥ 0, or -1 for the end' });
  const found = await sandboxFile(run.sandbox, q.get('file')!);
  if (!found.ok) return send(res, found.status, { error: found.error });
  const { containerId } = run;
  const [frameworkId, taskId] = [q.get('framework_id')!, q.get('task_id')!];
  return followFile(res, {
    file: found.file,   // followFile closes it
    offset: offset === -1 ? found.size : offset,
    containerId,
    // A run the agent no longer keeps (pushed out of its history) writes nothing more.
    runOver: () => deps.runOf(frameworkId, taskId, containerId)?.over ?? true,
    runEnds,
    pollMs: deps.followPollMs ?? 1000,
    headOnly: req.method === 'HEAD',
  });
}

/** An integer parameter, the fallback when absent, undefined when malformed. */
function intParam(v: string | null, fallback: number): number | undefined {
  if (v === null || v === '') return fallback;
  if (!/^-?\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
