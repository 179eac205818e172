/**
 * One JSON call to a framework's REST API, as `agora app` and `agora job` make them: a body
 * sent as JSON, a 10 s answer bound, an error status turned into the client's refusal (its
 * body, or the first of its text), a success that is not JSON named for what it is (likely
 * not the framework asked for), and an unreachable framework said in the client's words.
 */
import { clientIdentity } from '../common/security/client-config';
import type { IncomingHttpHeaders } from 'http';
import { doorRequest } from '../common/security/https';

const TIMEOUT_MS = 10_000;

export interface JsonCall {
  url: string;
  method: string;
  path: string;
  body?: unknown;
  /** The framework, for "is it the … framework?". */
  what: string;
  refusal: (status: number, body: unknown) => Error;
  unreachable: (err: Error) => Error;
  fail: (message: string) => Error;
}

export function callJson(c: JsonCall): Promise<{ status: number; body: unknown; headers: IncomingHttpHeaders }> {
  const data = c.body === undefined ? undefined : JSON.stringify(c.body);
  return new Promise((resolve, reject) => {
    const id = clientIdentity();
    const req = doorRequest(`${c.url}${c.path}`, {
      method: c.method, timeout: TIMEOUT_MS, identity: id,
      headers: { ...(data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          if (status < 400) return reject(c.fail(`${c.url} answered ${c.method} ${c.path} with something other than JSON: is it ${c.what}?`));
          parsed = { message: text.slice(0, 300) };
        }
        if (status >= 400) reject(c.refusal(status, parsed));
        else resolve({ status, body: parsed, headers: res.headers });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${c.method} ${c.path} within ${TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(c.unreachable(err)));
    req.end(data);
  });
}
