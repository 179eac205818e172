/**
 * A task's sandbox through the master (`GET /api/v1/files/read|browse|follow`): the request is
 * relayed to the agent that runs (or ran) the task, with the agent's own query parameters
 * (`framework_id`, `task_id`, `file`, `path`, `offset`, `length`, `container_id`), and its
 * answer streamed back as it comes, a follow included. A browser on the master's page, the
 * CLI and frameworks (through the SDK) read a task's output this one way, without reaching
 * agents themselves, and without the agents serving other origins.
 *
 * `agent_id`, the master's own: where the task ran, for a task the master no longer holds (it
 * keeps the latest completed tasks only, and none from before a failover); the agent then
 * finds the sandbox or answers 404. A task the master holds goes to its own agent whatever
 * `agent_id` says. Who may read is decided before this (api/http.ts): a framework its own
 * tasks, anyone else with `access_sandboxes`.
 *
 *   400 framework_id or task_id missing    404 no such task (or its agent is gone)
 *   502 the agent cannot be reached         otherwise the agent's own status and body
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { ClientIdentity } from '../../common/security/client-config';
import { doorRequest, doorUrl } from '../../common/security/https';
import type { Logger } from '../../common/log';

export const FILES_PATHS = ['/api/v1/files/read', '/api/v1/files/browse', '/api/v1/files/follow'];

export interface SandboxLookup {
  /**
   * The HTTP address of the agent holding the task's sandbox, or undefined if unknown;
   * `agentId` is where the caller says it ran, for a task the master no longer holds.
   */
  sandboxOf(frameworkId: string, taskId: string, agentId?: string): { hostname: string; port: number } | undefined;
  /** The master's own identity towards agents (HTTPS trusting its CA, its credentials): the caller's are never passed on. */
  agentIdentity?: ClientIdentity;
  log: Logger;
}

/** How long the agent may take to start answering; a follow then streams for as long as it lasts. */
const CONNECT_TIMEOUT_MS = 10_000;

function refuse(res: ServerResponse, status: number, error: string): void {
  const text = JSON.stringify({ error });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function relayFiles(deps: SandboxLookup, url: URL, req: IncomingMessage, res: ServerResponse): void {
  const frameworkId = url.searchParams.get('framework_id');
  const taskId = url.searchParams.get('task_id');
  if (!frameworkId || !taskId) return refuse(res, 400, 'framework_id and task_id are required');
  const agentId = url.searchParams.get('agent_id') || undefined;
  const agent = deps.sandboxOf(frameworkId, taskId, agentId);
  if (!agent) {
    return refuse(res, 404, `no task ${taskId} of framework ${frameworkId} is known to the master${agentId ? `, nor is agent ${agentId}` : ''}`);
  }
  // The agent's parameters only: agent_id was the master's.
  const query = new URLSearchParams(url.searchParams);
  query.delete('agent_id');
  const target = `${url.pathname.slice('/api/v1'.length)}?${query}`;
  const where = `${agent.hostname}:${agent.port}`;
  const id = deps.agentIdentity;
  const upstream = doorRequest(`${doorUrl(where, id?.ca)}${target}`, { method: req.method, identity: id, timeout: CONNECT_TIMEOUT_MS }, (answer) => {
    // Once the agent answers, a quiet follow is normal: only the client's leaving ends it.
    upstream.setTimeout(0);
    const headers: Record<string, string> = { 'cache-control': 'no-cache' };
    const type = answer.headers['content-type'];
    if (type) headers['content-type'] = type;
    res.writeHead(answer.statusCode ?? 502, headers);
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)));
  upstream.on('error', (err) => {
    if (res.headersSent) { res.destroy(); return; }
    deps.log.warn('cannot relay a sandbox request to its agent', { agent: where, error: err.message });
    refuse(res, 502, `cannot reach the agent at ${where} holding task ${taskId}'s sandbox: ${err.message}`);
  });
  // The browser left (a follow closed): the agent's follow ends with it.
  res.on('close', () => upstream.destroy());
  upstream.end();
}
