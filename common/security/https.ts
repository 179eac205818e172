/**
 * HTTPS on every HTTP door, and the clients that knock on them. A server given the cluster's
 * TLS files serves HTTPS with its host certificate; without them (`--insecure`) plain HTTP.
 * A client speaks HTTPS when it trusts the cluster's CA (its identity has one, as every user
 * of a locked cluster's client config does), plain HTTP otherwise: the scheme follows from
 * the trust, so addresses stay `host:port` everywhere.
 */
import { createServer as createHttpServer, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestListener, type RequestOptions, type Server } from 'http';
import { createServer as createHttpsServer, request as httpsRequest } from 'https';
import type { TlsFiles } from './pki';

/** An HTTP server, or HTTPS with the host certificate when `tls` is given. */
export function createDoorServer(handler: RequestListener, tls?: TlsFiles): Server {
  return tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
}

/** `https` when the client trusts a CA (a locked cluster), `http` otherwise. */
export const schemeFor = (ca: Buffer | undefined): 'https' | 'http' => (ca ? 'https' : 'http');

/** `scheme://hostport` for a client that trusts `ca` (or nothing). */
export const doorUrl = (hostPort: string, ca: Buffer | undefined): string => `${schemeFor(ca)}://${hostPort}`;

/**
 * `http.request` or `https.request` by the URL's scheme; over HTTPS it trusts `ca` (the
 * cluster's) and checks the server's certificate against the host it connects to.
 */
export function doorRequest(url: string, options: RequestOptions & { ca?: Buffer }, callback: (res: IncomingMessage) => void): ClientRequest {
  const { ca, ...rest } = options;
  if (url.startsWith('https:')) return httpsRequest(url, { ...rest, ...(ca ? { ca } : {}) }, callback);
  return httpRequest(url, rest, callback);
}
