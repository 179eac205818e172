// The REST API as the page uses it: `call` and `callSafe` (/ui/shared/api.js), a refusal in
// the shape the views show, and an app's path.
import { problemOf as shared } from '/ui/shared/api.js';

export { call, callSafe } from '/ui/shared/api.js';

/** A refusal as the views show it (/ui/shared/api.js), and the deployments in the way of a 409. */
export function problemOf(answer) {
  const b = answer.body ?? {};
  return { ...shared(answer), deployments: Array.isArray(b.deployments) ? b.deployments.map((d) => d.id).filter(Boolean) : [] };
}

/** The API path of an app: ids are already URL-safe (lowercase, digits, '-', '.', '/'). */
export const appPath = (id, sub = '') => `/v2/apps${id}${sub}`;
