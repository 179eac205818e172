/**
 * `fetch` as the test cluster's admin: the client config's identity (`AGORA_CONFIG`, set by
 * `testSecurity()`) in an Authorization header, as the CLI sends it. Tests of the door
 * itself use plain `fetch`, which sends no credentials.
 */
import { authHeaders } from '../../common/security/client-config';

export function authedFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
}
