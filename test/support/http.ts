/**
 * Tests' HTTP clients for the doors. A locked cluster's doors speak HTTPS with the test CA
 * (from the client config `testSecurity()` points `AGORA_CONFIG` at); an open one's plain
 * HTTP. `base`, `request`, `get` and `doorFetch` choose by whether there is a CA to trust, as
 * the CLI does; `authedFetch` also sends the config's identity, as the CLI does. Tests of the
 * door itself use `doorFetch`, which sends no credentials.
 */
import { get as httpGet, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'http';
import { get as httpsGet, request as httpsRequest } from 'https';
import { Agent, fetch as undiciFetch } from 'undici';
import { authHeaders, clientIdentity, type ClientIdentity } from '../../common/security/client-config';
import { doorUrl } from '../../common/security/https';

const ca = (): Buffer | undefined => clientIdentity()?.ca;

/** `https://host:port` on a locked cluster, `http://host:port` on an open one. */
export const base = (hostPort: string): string => doorUrl(hostPort, ca());

/** `http.request` with an options object, over HTTPS trusting the test CA when there is one. */
export function request(options: RequestOptions, callback?: (res: IncomingMessage) => void): ClientRequest {
  const trusted = ca();
  return trusted ? httpsRequest({ ...options, ca: trusted }, callback) : httpRequest(options, callback);
}

/** `http.get` likewise. */
export function get(options: RequestOptions, callback?: (res: IncomingMessage) => void): ClientRequest {
  const trusted = ca();
  return trusted ? httpsGet({ ...options, ca: trusted }, callback) : httpGet(options, callback);
}

const agents = new WeakMap<Buffer, Agent>();

/** `fetch` that trusts the test CA (no credentials of its own). */
export function doorFetch(url: string, init: RequestInit = {}, trust: Buffer | undefined = ca()): Promise<Response> {
  if (!trust) return fetch(url, init);
  let dispatcher = agents.get(trust);
  // Idle connections close at once: a pool kept alive would hold jest open after the tests.
  if (!dispatcher) agents.set(trust, dispatcher = new Agent({ connect: { ca: trust }, keepAliveTimeout: 10, keepAliveMaxTimeout: 10 }));
  return undiciFetch(url, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher }) as unknown as Promise<Response>;
}

/** `doorFetch` as the client config's identity (the test cluster's admin), as the CLI sends it. */
export function authedFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return doorFetch(url, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
}

/** `fetch` as one identity over a pool of connections of its own; `close()` ends the pool. */
export interface DoorClient {
  /** `https://hostPort` + `path` when the identity trusts a CA (a locked cluster), else `http://`. */
  url(hostPort: string, path?: string): string;
  fetch(url: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A client of a cluster's doors as `identity`: its credentials on every request, its CA
 * trusted, and connections kept alive `keepAliveMs` between requests, so that a client that
 * polls (a health check every 200 ms) does not make a TLS handshake each time. Its owner
 * closes it; idle connections would hold the process open otherwise.
 */
export function doorClient(identity: ClientIdentity, keepAliveMs = 4000): DoorClient {
  const dispatcher = new Agent({ ...(identity.ca ? { connect: { ca: identity.ca } } : {}), keepAliveTimeout: keepAliveMs, keepAliveMaxTimeout: keepAliveMs });
  const headers = authHeaders(identity);
  return {
    url: (hostPort, path = '') => `${doorUrl(hostPort, identity.ca)}${path}`,
    fetch: (url, init = {}) => undiciFetch(url, {
      ...(init as Parameters<typeof undiciFetch>[1]), dispatcher, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
    }) as unknown as Promise<Response>,
    close: () => dispatcher.close(),
  };
}
