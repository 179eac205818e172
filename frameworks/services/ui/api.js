// The REST API as the page uses it: one call that never throws for an HTTP answer, and the
// refusal it carries in the one shape the views show.

/**
 * `call('PUT', '/v2/apps/web', { instances: 2 })` → `{ ok, status, body }`. A string body is
 * sent as it is (the JSON editor's text, so that bad JSON gets the server's own 400).
 * Only a network failure rejects.
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

/**
 * A refusal as the views show it: Marathon's message, the 422/400 details by JSON path, and
 * the deployments in the way of a 409.
 */
export function problemOf(answer) {
  const b = answer.body ?? {};
  return {
    status: answer.status,
    message: typeof b.message === 'string' ? b.message : `HTTP ${answer.status}`,
    details: Array.isArray(b.details) ? b.details.filter((d) => d && typeof d.path === 'string') : [],
    deployments: Array.isArray(b.deployments) ? b.deployments.map((d) => d.id).filter(Boolean) : [],
  };
}

/** The API path of an app: ids are already URL-safe (lowercase, digits, '-', '.', '/'). */
export const appPath = (id, sub = '') => `/v2/apps${id}${sub}`;
