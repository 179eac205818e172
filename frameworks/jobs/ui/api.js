// The REST API as the page uses it: one call that never throws for an HTTP answer, and the
// refusal it carries in the one shape the views show.

/**
 * `call('POST', '/v1/jobs', job)` → `{ ok, status, body }`. A string body is sent as it is
 * (the JSON editor's text, so that bad JSON gets the server's own 400). Only a network
 * failure rejects; `callSafe` turns that into an answer too.
 */
export async function call(method, path, body) {
  const init = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let parsed;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = { message: text }; }
  return { ok: res.ok, status: res.status, body: parsed };
}

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
