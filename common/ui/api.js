// A web UI's one call to its server's REST API. Shared by every Agora web UI, served to each
// under /ui/shared/api.js; each UI's own api.js adds the paths and the refusal shape it shows.

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
