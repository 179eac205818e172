/**
 * The agent's HTTP endpoints, for operators, the CLI and the master's UI:
 *
 *   GET /health                 200 {"healthy": true}
 *   GET /state                  the agent id, its resources and its tasks with their sandboxes
 *   GET /files/read?framework_id=F&task_id=T&file=stdout&offset=N&length=M[&container_id=C]
 *                               {"data": "<text>", "offset": N}; offset=-1 gives the size
 *                               as offset and no data, so a tail can start at the end
 *
 * Errors are JSON `{"error": "..."}`: 400 for bad parameters (including any path that leads
 * out of the sandbox), 404 for an unknown task or file, 405 for other methods.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import type { Logger } from '../../common/log';
import type { ResourceView } from '../../common/operator-types';
import { readChunk, sandboxFile } from '../sandbox';

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
  tasks: AgentTaskView[];
}

export interface AgentHttpDeps {
  state(): AgentStateView;
  /** The sandbox directory of a task's newest run (or of run `containerId`). */
  sandboxOf(frameworkId: string, taskId: string, containerId?: string): string | undefined;
  log: Logger;
}

export interface AgentHttpServer {
  port: number;
  close(): Promise<void>;
}

/** Reads larger than this are cut to it: a client pages through big files. */
export const MAX_READ_BYTES = 1024 * 1024;

export async function startHttp(host: string, port: number, deps: AgentHttpDeps): Promise<AgentHttpServer> {
  const server = createServer((req, res) => {
    handle(req, res, deps).catch((err) => {
      deps.log.error('http handler failed', { url: req.url, err });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: AgentHttpDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: `${req.method ?? ''} is not allowed: use GET` });
  switch (url.pathname) {
    case '/health': return send(res, 200, { healthy: true });
    case '/state': return send(res, 200, deps.state());
    case '/files/read': return readFile(url.searchParams, res, deps);
    default: return send(res, 404, { error: `no endpoint ${url.pathname}: try /health, /state or /files/read` });
  }
}

async function readFile(q: URLSearchParams, res: ServerResponse, deps: AgentHttpDeps): Promise<void> {
  const frameworkId = q.get('framework_id') ?? '';
  const taskId = q.get('task_id') ?? '';
  const file = q.get('file') ?? '';
  if (!frameworkId || !taskId || !file) return send(res, 400, { error: 'framework_id, task_id and file are required' });
  const offset = intParam(q.get('offset'), 0);
  const length = intParam(q.get('length'), MAX_READ_BYTES);
  if (offset === undefined || offset < -1) return send(res, 400, { error: 'offset must be an integer ≥ 0, or -1 for the size' });
  if (length === undefined || length < 0) return send(res, 400, { error: 'length must be an integer ≥ 0' });
  const dir = deps.sandboxOf(frameworkId, taskId, q.get('container_id') ?? undefined);
  if (!dir) return send(res, 404, { error: `no task ${taskId} of framework ${frameworkId} on this agent` });
  const found = await sandboxFile(dir, file);
  if (!found.ok) return send(res, found.status, { error: found.error });
  if (offset === -1) return send(res, 200, { data: '', offset: found.size });
  const data = await readChunk(found.path, offset, Math.min(length, MAX_READ_BYTES), found.size);
  return send(res, 200, { data, offset });
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
