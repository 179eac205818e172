/**
 * A run's output, read by the jobs framework from the agent that ran the attempt (its
 * `/files/read`), and served under the framework's own address: the UI links a run's stdout
 * without knowing where agents are or needing to reach them from the browser.
 *
 * Bounded: at most `maxBytes` are read, the end of the file (where a failure shows); the
 * bytes left out at the start are counted, not silently dropped.
 */
import type { ClientIdentity } from '../../common/security/client-config';
import { doorRequest, doorUrl } from '../../common/security/https';
import { ApiError } from '../shared/http';

/** The agent's cut for one read (agent/api/http.ts MAX_READ_BYTES). */
const PAGE_BYTES = 1024 * 1024;
/** The most a logs request reads: the file's last 8 MiB. */
export const MAX_LOG_BYTES = 8 * PAGE_BYTES;
const AGENT_TIMEOUT_MS = 10_000;

export interface SandboxFile {
  /** The agent's HTTP address, host:port. */
  agent: string;
  frameworkId: string;
  taskId: string;
  file: 'stdout' | 'stderr';
  /** The framework's own identity towards agents, when their doors are locked (HTTPS, its credentials). */
  identity?: ClientIdentity;
}

/** The file's text as it is now (its last `maxBytes`), and how many bytes before those were left out. */
export async function readSandboxFile(s: SandboxFile, maxBytes = MAX_LOG_BYTES): Promise<{ text: string; skippedBytes: number }> {
  const query = `framework_id=${encodeURIComponent(s.frameworkId)}&task_id=${encodeURIComponent(s.taskId)}&file=${s.file}`;
  // The size first: a file that grows while it is read is served up to where it was.
  const { offset: size } = await agentJson<{ offset: number }>(s, `/files/read?${query}&offset=-1`);
  const from = Math.max(0, size - maxBytes);
  let text = '';
  for (let at = from; at < size; at += PAGE_BYTES) {
    const length = Math.min(PAGE_BYTES, size - at);
    const { data } = await agentJson<{ data: string }>(s, `/files/read?${query}&offset=${at}&length=${length}`);
    if (!data) break;   // the file shrank meanwhile
    text += data;
  }
  return { text, skippedBytes: from };
}

/** A JSON answer of the agent; its refusal (404: no such task or file) kept as ours, in words. */
function agentJson<T>(s: SandboxFile, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = doorRequest(`${doorUrl(s.agent, s.identity?.ca)}${path}`, { timeout: AGENT_TIMEOUT_MS, identity: s.identity }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status === 200) {
          try { resolve(JSON.parse(body) as T); } catch (err) { reject(new ApiError(502, { message: `the agent at ${s.agent} sent invalid JSON: ${(err as Error).message}` })); }
          return;
        }
        let why = body.slice(0, 300);
        try { why = (JSON.parse(body) as { error?: string }).error ?? why; } catch { /* not JSON: the raw text */ }
        reject(new ApiError(status === 404 ? 404 : 502, {
          message: `the ${s.file} of task ${s.taskId} cannot be read: the agent at ${s.agent} answered ${status}: ${why}`,
        }));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${AGENT_TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(new ApiError(502, { message: `the ${s.file} of task ${s.taskId} cannot be read: cannot reach the agent at ${s.agent}: ${err.message}` })));
    req.end();
  });
}
