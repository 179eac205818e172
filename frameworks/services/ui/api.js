// The REST API as the page uses it: one call that never throws for an HTTP answer, and the
// refusal it carries in the one shape the views show.

/** `call(method, path, body)` → `{ ok, status, body }` (/ui/shared/api.js): only a network failure rejects. */
export { call } from '/ui/shared/api.js';

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
