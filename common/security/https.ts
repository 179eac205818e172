/**
 * HTTPS on every HTTP door, and the clients that knock on them. A server given the cluster's
 * TLS files serves HTTPS with its host certificate; without them (`--insecure`) plain HTTP.
 * A client speaks HTTPS when it trusts the cluster's CA (its identity has one, as every user
 * of a locked cluster's client config does), plain HTTP otherwise: the scheme follows from
 * the trust, so addresses stay `host:port` everywhere.
 */
import { createServer as createHttpServer, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestListener, type RequestOptions, type Server } from 'http';
import { createServer as createHttpsServer, request as httpsRequest } from 'https';
import { authorizationHeader, type ClientIdentity } from './client-config';
import type { TlsFiles } from './pki';

/** An HTTP server, or HTTPS with the host certificate when `tls` is given. */
export function createDoorServer(handler: RequestListener, tls?: TlsFiles): Server {
  return tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
}

/**
 * Stops a door server: no new connections, every open one cut (at once, or those still open
 * after `graceMs`, so requests under way may finish), resolved once all are gone. Node's
 * `closeAllConnections` sees only connections the HTTP layer has: over HTTPS one still in its
 * TLS handshake at `close()` joins the HTTP layer afterwards and is served for as long as its
 * client keeps it busy, and `close()` waits for it. A health check every 200 ms over a kept-alive
 * connection held a standby master's stop, and so its start as the elected leader, for good
 * (test/chaos). Such a connection is cut as its handshake ends.
 */
export function closeDoorServer(server: Server, graceMs = 0): Promise<void> {
  server.on('secureConnection', (socket: { destroy(): void }) => socket.destroy());
  return new Promise((resolve) => {
    const cut = graceMs > 0 ? setTimeout(() => server.closeAllConnections(), graceMs) : undefined;
    server.close(() => { clearTimeout(cut); resolve(); });
    if (cut) server.closeIdleConnections();
    else server.closeAllConnections();
  });
}

/** `https` when the client trusts a CA (a locked cluster), `http` otherwise. */
export const schemeFor = (ca: Buffer | undefined): 'https' | 'http' => (ca ? 'https' : 'http');

/** `scheme://hostport` for a client that trusts `ca` (or nothing). */
export const doorUrl = (hostPort: string, ca: Buffer | undefined): string => `${schemeFor(ca)}://${hostPort}`;

/**
 * `http.request` or `https.request` by the URL's scheme, as `identity` when one is given: its
 * credentials in an `Authorization` header, and over HTTPS its CA (the cluster's) trusted,
 * the server's certificate checked against the host it connects to. Without an identity the
 * request carries no credentials of anyone's.
 */
export function doorRequest(url: string, options: RequestOptions & { identity?: ClientIdentity }, callback: (res: IncomingMessage) => void): ClientRequest {
  const { identity, ...rest } = options;
  const headers = { ...(rest.headers as Record<string, string> | undefined), ...(identity ? { authorization: authorizationHeader(identity) } : {}) };
  if (url.startsWith('https:')) return httpsRequest(url, { ...rest, headers, ...(identity?.ca ? { ca: identity.ca } : {}) }, callback);
  return httpRequest(url, { ...rest, headers }, callback);
}
