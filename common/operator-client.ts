/**
 * The master's HTTP API as a client sees it: where the master is, and JSON requests to it with
 * the client's identity. The `agora` command speaks to operators' endpoints through it; the
 * SDK uses it to find the master's gRPC port and to read a task's sandbox through the master.
 *
 * People name a master by its HTTP address (`host:5050`, as with Mesos); the gRPC port
 * frameworks need is read from the master itself, so one address is enough everywhere.
 * `AGORA_MASTER` sets it for every command; the default is the local cluster of `agora up`.
 */
import { doorRequest, schemeFor } from './security/https';
import { clientConfigPath, clientIdentity, currentContext, readClientConfig, type ClientIdentity } from './security/client-config';

/** The master of `agora up` on this machine: where a framework looks when told nothing. */
export const DEFAULT_MASTER = '127.0.0.1:5050';

/** A master's operator API address, parsed. */
export interface MasterAddress {
  /** `https://host:port` of the master's operator API (`http://` on an open cluster). */
  httpUrl: string;
  host: string;
  httpPort: number;
  /**
   * Who is asking, from the client config (`~/.agora/config`, or `AGORA_CONFIG`): sent with
   * every request, and used for the gRPC connection. Absent when there is no config.
   */
  identity?: ClientIdentity;
}

/**
 * Parses `host:port`, `https://host:port` or `http://host:port` (default: AGORA_MASTER, then
 * the client config's master, then DEFAULT_MASTER), with the client config's identity; throws
 * for another scheme. Without a scheme: HTTPS when the identity trusts the cluster's CA (a
 * locked cluster), HTTP otherwise.
 */
export function masterAddress(raw: string | undefined = process.env.AGORA_MASTER, identity?: ClientIdentity): MasterAddress {
  // One read of the client config for both what it says: where the master is, and who we are.
  const path = clientConfigPath();
  const config = readClientConfig(path);
  const text = (raw && raw.trim()) || (config && currentContext(config, path)?.master) || DEFAULT_MASTER;
  identity ??= config && clientIdentity({ path, config });
  const url = new URL(/^[a-z]+:\/\//.test(text) ? text : `${schemeFor(identity?.ca)}://${text}`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`master address '${text}' must be host:port, https://host:port or http://host:port`);
  const httpPort = url.port ? Number(url.port) : 5050;
  return { httpUrl: `${url.protocol}//${url.hostname}:${httpPort}`, host: url.hostname, httpPort, ...(identity ? { identity } : {}) };
}

/** The master at `host:httpPort`, as `identity` (HTTPS when it trusts a CA): no client config is read. */
export function masterAt(host: string, httpPort: number, identity?: ClientIdentity): MasterAddress {
  return { httpUrl: `${schemeFor(identity?.ca)}://${host}:${httpPort}`, host, httpPort, ...(identity ? { identity } : {}) };
}

/**
 * The master refused a request, or could not be asked: `status` is its HTTP status (0 when it
 * could not be reached or sent no JSON), `reason` its own words (the `error` of its JSON body).
 */
export class MasterRequestError extends Error {
  override readonly name = 'MasterRequestError';
  constructor(readonly status: number, readonly reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** GET a JSON document from the master; rejects with a MasterRequestError. */
export async function getJson<T>(addr: MasterAddress, path: string, timeoutMs = 10_000): Promise<T> {
  return (await requestJson<T>(addr.httpUrl, addr, 'GET', path, timeoutMs)).value;
}

/** POST to the master (an operator's action) and read its JSON answer. */
export async function postJson<T>(addr: MasterAddress, path: string, timeoutMs = 10_000): Promise<T> {
  return (await requestJson<T>(addr.httpUrl, addr, 'POST', path, timeoutMs)).value;
}

/** PUT a JSON body to the master and read its JSON answer. */
export async function putJson<T>(addr: MasterAddress, path: string, body: unknown, timeoutMs = 10_000): Promise<T> {
  return (await requestJson<T>(addr.httpUrl, addr, 'PUT', path, timeoutMs, JSON.stringify(body))).value;
}

/** How many standby redirects a request follows: masters that keep pointing elsewhere are an election in flux. */
const MAX_REDIRECTS = 3;

/**
 * The answer, and the base URL of the master that gave it: a standby master answers 307 with
 * the leader's URL, which is followed (the same method and body, the same identity).
 */
function requestJson<T>(base: string, addr: MasterAddress, method: 'GET' | 'POST' | 'PUT', path: string, timeoutMs: number, body?: string, hops = 0): Promise<{ value: T; base: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = body !== undefined ? { 'content-type': 'application/json' } : {};
    const req = doorRequest(`${base}${path}`, { method, timeout: timeoutMs, headers, identity: addr.identity }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => {
        const status = res.statusCode ?? 500;
        const location = res.headers.location;
        if ((status === 307 || status === 308) && location && hops < MAX_REDIRECTS) {
          const to = new URL(location);
          requestJson<T>(`${to.protocol}//${to.host}`, addr, method, path, timeoutMs, body, hops + 1).then(resolve, reject);
          return;
        }
        if (status >= 300 && status < 400) {
          reject(new MasterRequestError(status, errorOf(text), `master ${base}${path} answered ${status} (sent elsewhere too often: ${location ?? 'nowhere'})`));
          return;
        }
        if (status >= 400) {
          reject(new MasterRequestError(status, errorOf(text), `master ${base}${path} answered ${status}: ${text.slice(0, 300)}`));
          return;
        }
        try {
          resolve({ value: JSON.parse(text) as T, base });
        } catch (err) {
          reject(new MasterRequestError(0, 'invalid JSON', `master sent invalid JSON for ${path}: ${(err as Error).message}`, { cause: err }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`master ${base} did not answer ${path} within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new MasterRequestError(0, err.message, `cannot reach the master at ${base}: ${err.message}`, { cause: err })));
    req.end(body);
  });
}

/** The `error` of a JSON error body, else the body's start. */
function errorOf(body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    if (typeof error === 'string') return error;
  } catch { /* not JSON: the raw text */ }
  return body.slice(0, 300);
}

/** The master's gRPC address (`host:port`), read from its state. */
export async function grpcAddress(addr: MasterAddress): Promise<string> {
  const { value: state, base } = await requestJson<{ master: { grpcPort: number } }>(addr.httpUrl, addr, 'GET', '/api/v1/state', 10_000);
  // A standby sent us to the leader: its host, not the one we asked.
  return `${new URL(base).hostname}:${state.master.grpcPort}`;
}
