// A web UI's one call to its server's REST API. Shared by every Agora web UI, served to each
// under /ui/shared/api.js; each UI's own api.js adds its paths (and what its refusals add).

/**
 * `call('PUT', '/v2/apps/web', { instances: 2 })` → `{ ok, status, body }`. A string body is
 * sent as it is (the JSON editor's text, so that bad JSON gets the server's own 400). Only a
 * network failure rejects: an HTTP refusal is an answer the views show, not an exception.
 */
export async function call(method, path, body) {
  const init = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(path, init);
  // The session ended (signed out, expired, or its credential revoked): sign in again, then come back.
  if (res.status === 401) signIn();
  const text = await res.text();
  let parsed;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = { message: text }; }
  return { ok: res.ok, status: res.status, body: parsed };
}

/** Goes to this server's login page, which brings the browser back here once signed in. */
export function signIn() {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`);
}

/** `call`, with a network failure turned into an answer too, for the views that show one. */
export function callSafe(method, path, body) {
  return call(method, path, body).catch((err) => ({ ok: false, status: 0, body: { message: `no answer from the server: ${err.message}` } }));
}

/**
 * A refusal as the views show it: `{ status, message, details }`, the details by JSON path
 * (a 422's, or a 400's: where the JSON did not parse), whatever shape the body came in.
 */
export function problemOf(answer) {
  const b = answer.body ?? {};
  return {
    status: answer.status,
    message: typeof b.message === 'string' && b.message ? b.message : `HTTP ${answer.status}`,
    details: Array.isArray(b.details) ? b.details.filter((d) => d && typeof d.path === 'string')
      .map((d) => ({ path: d.path, errors: Array.isArray(d.errors) ? d.errors.map(String) : [String(d.errors ?? '')] })) : [],
  };
}
