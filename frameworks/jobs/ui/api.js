// The REST API as the page uses it: `call`, `callSafe` and `problemOf` (/ui/shared/api.js),
// a text file, and the API's paths.
export { call, callSafe, problemOf } from '/ui/shared/api.js';

/** A text file (a run's stdout): `{ ok, status, text }`. */
export async function text(path) {
  const res = await fetch(path, { headers: { accept: 'text/plain' } });
  return { ok: res.ok, status: res.status, text: await res.text() };
}

const enc = encodeURIComponent;
export const jobPath = (id, sub = '') => `/v1/jobs/${enc(id)}${sub}`;
export const runPath = (jobId, runId, sub = '') => `/v1/jobs/${enc(jobId)}/runs/${enc(runId)}${sub}`;
export const logPath = (jobId, runId, file, attempt) => runPath(jobId, runId, `/logs?file=${file}${attempt !== undefined ? `&attempt=${attempt}` : ''}`);
