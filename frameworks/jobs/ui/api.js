// The REST API as the page uses it: one call that never throws for an HTTP answer, and the
// refusal it carries in the one shape the views show.
import { call } from '/ui/shared/api.js';

/** `call(method, path, body)` → `{ ok, status, body }` (/ui/shared/api.js): only a network failure rejects. */
export { call };

/** `call`, with a network failure turned into an answer too, for the buttons that show one. */
export function callSafe(method, path, body) {
  return call(method, path, body).catch((err) => ({ ok: false, status: 0, body: { message: `no answer from the jobs framework: ${err.message}` } }));
}

/** A text file (a run's stdout): `{ ok, status, text }`. */
export async function text(path) {
  const res = await fetch(path, { headers: { accept: 'text/plain' } });
  return { ok: res.ok, status: res.status, text: await res.text() };
}

/** A refusal as the views show it: the message and the 422/400 details by JSON path. */
export function problemOf(answer) {
  const b = answer.body ?? {};
  return {
    status: answer.status,
    message: typeof b.message === 'string' && b.message ? b.message : `HTTP ${answer.status}`,
    details: Array.isArray(b.details) ? b.details.filter((d) => d && typeof d.path === 'string')
      .map((d) => ({ path: d.path, errors: Array.isArray(d.errors) ? d.errors.map(String) : [String(d.errors ?? '')] })) : [],
  };
}

const enc = encodeURIComponent;
export const jobPath = (id, sub = '') => `/v1/jobs/${enc(id)}${sub}`;
export const runPath = (jobId, runId, sub = '') => `/v1/jobs/${enc(jobId)}/runs/${enc(runId)}${sub}`;
export const logPath = (jobId, runId, file, attempt) => runPath(jobId, runId, `/logs?file=${file}${attempt !== undefined ? `&attempt=${attempt}` : ''}`);
