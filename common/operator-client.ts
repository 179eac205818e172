/**
 * The master's HTTP API as a client sees it: where the master is, and JSON requests to it with
 * the client's identity. The `agora` command speaks to operators' endpoints through it; the
 * SDK uses it to find the master's gRPC port and to read a task's sandbox through the master.
 *
 * People name a master by its HTTP address (`host:5050`, as with Mesos); the gRPC port
 * frameworks need is read from the master itself, so an HTTP address is enough everywhere.
 * Replicated masters are named as a list (`m1:5050,m2:5050,m3:5050`, master-list.ts): a
 * request goes to the first that answers, and a standby sends it on to the leader.
 * `AGORA_MASTER` sets it for every command; the default is the local cluster of `agora up`.
 */
import { doorRequest, schemeFor } from './security/https';
import { parseMasterList, type MasterEndpoint } from './master-list';
import { clientConfigPath, clientIdentity, currentContext, readClientConfig, type ClientIdentity } from './security/client-config';

/** The master of `agora up` on this machine: where a framework looks when told nothing. */
export const DEFAULT_MASTER = '127.0.0.1:5050';

/**
 * The masters a client may ask, parsed: the first one's address, and the whole list in
 * `endpoints` (a list of one for a single master). Requests go to the first that answers.
 */
export interface MasterAddress extends MasterEndpoint {
  /** Every master named, in the order given; the first is the one above. */
  endpoints: readonly MasterEndpoint[];
  /**
   * Who is asking, from the client config (`~/.agora/config`, or `AGORA_CONFIG`): sent with
   * every request, and used for the gRPC connection. Absent when there is no config.
   */
  identity?: ClientIdentity;
}

/**
 * Parses one address or a comma-separated list of them, each `host:port`, `https://host:port`
 * or `http://host:port` (default: AGORA_MASTER, then the client config's master, then
 * DEFAULT_MASTER), with the client config's identity; throws MasterAddressError for an empty
 * or bad entry. Without a scheme: HTTPS when the identity trusts the cluster's CA (a locked
 * cluster), HTTP otherwise.
 */
export function masterAddress(raw: string | undefined = process.env.AGORA_MASTER, identity?: ClientIdentity): MasterAddress {
  // One read of the client config for both what it says: where the masters are, and who we are.
  const path = clientConfigPath();
  const config = readClientConfig(path);
  const text = (raw && raw.trim()) || (config && currentContext(config, path)?.master) || DEFAULT_MASTER;
  identity ??= config && clientIdentity({ path, config });
  const endpoints = parseMasterList(text, schemeFor(identity?.ca));
  return { ...endpoints[0]!, endpoints, ...(identity ? { identity } : {}) };
}

/** The master at `host:httpPort`, as `identity` (HTTPS when it trusts a CA): no client config is read. */
export function masterAt(host: string, httpPort: number, identity?: ClientIdentity): MasterAddress {
  const endpoint = { httpUrl: `${schemeFor(identity?.ca)}://${host}:${httpPort}`, host, httpPort };
  return { ...endpoint, endpoints: [endpoint], ...(identity ? { identity } : {}) };
}

/** One master asked, and why it did not do: its URL and its error. */
export interface MasterAttempt {
  master: string;
  error: MasterRequestError;
}

/**
 * The master refused a request, or could not be asked: `status` is its HTTP status (0 when it
 * could not be reached or sent no JSON), `reason` its own words (the `error` of its JSON body).
 * When a list of masters was asked and none answered, `attempts` says what each said, in order
 * (and `status` and `reason` are the last one's).
 */
export class MasterRequestError extends Error {
  override readonly name = 'MasterRequestError';
  readonly attempts: readonly MasterAttempt[];
  constructor(readonly status: number, readonly reason: string, message: string, options?: { cause?: unknown; attempts?: readonly MasterAttempt[] }) {
    super(message, options);
    this.attempts = options?.attempts ?? [];
  }
}

/** GET a JSON document from the master; rejects with a MasterRequestError. */
export async function getJson<T>(addr: MasterAddress, path: string, timeoutMs = 10_000): Promise<T> {
  return (await requestJson<T>(addr, 'GET', path, timeoutMs)).value;
}

/**
 * GET a JSON document, and the `host:port` of the master that answered it: the leader, when a
 * standby sent the request on. What goes to the leader alone (a relayed sandbox stream) goes there.
 */
export async function getJsonFrom<T>(addr: MasterAddress, path: string, timeoutMs = 10_000): Promise<{ value: T; master: string }> {
  const { value, base } = await requestJson<T>(addr, 'GET', path, timeoutMs);
  return { value, master: new URL(base).host };
}

/**
 * The leading master alone, found through the list (a standby sends the question on to it): for
 * a stream a client holds open with the leader, which a redirect would not carry.
 */
export async function leadingMaster(addr: MasterAddress): Promise<MasterAddress> {
  const { base } = await requestJson<unknown>(addr, 'GET', '/api/v1/state', 10_000);
  const url = new URL(base);
  const endpoint = { httpUrl: base, host: url.hostname, httpPort: Number(url.port) };
  return { ...endpoint, endpoints: [endpoint], ...(addr.identity ? { identity: addr.identity } : {}) };
}

/** POST to the master (an operator's action) and read its JSON answer. */
export async function postJson<T>(addr: MasterAddress, path: string, timeoutMs = 10_000): Promise<T> {
  return (await requestJson<T>(addr, 'POST', path, timeoutMs)).value;
}

/** PUT a JSON body to the master and read its JSON answer. */
export async function putJson<T>(addr: MasterAddress, path: string, body: unknown, timeoutMs = 10_000): Promise<T> {
  return (await requestJson<T>(addr, 'PUT', path, timeoutMs, JSON.stringify(body))).value;
}

/** How many standby redirects a request follows: masters that keep pointing elsewhere are an election in flux. */
const MAX_REDIRECTS = 3;

type Method = 'GET' | 'POST' | 'PUT';
/** A master's answer, or its failure; `elsewhere`: another master of the list may do better. */
type Outcome<T> = { ok: true; value: T; base: string } | { ok: false; error: MasterRequestError; elsewhere: boolean };

/**
 * The answer, and the base URL of the master that gave it, from the first master of the list
 * that answers. The next is asked only when one could not be reached (refused, reset, timed
 * out) or is a standby that knows no leader: an answer of the leader, a refusal included, is
 * final. Each master is asked once, so a call lasts at most `timeoutMs` per master.
 */
async function requestJson<T>(addr: MasterAddress, method: Method, path: string, timeoutMs: number, body?: string): Promise<{ value: T; base: string }> {
  const attempts: MasterAttempt[] = [];
  for (const endpoint of addr.endpoints) {
    const outcome = await requestAt<T>(endpoint.httpUrl, addr, method, path, timeoutMs, body);
    if (outcome.ok) return outcome;
    if (!outcome.elsewhere) throw outcome.error;
    attempts.push({ master: endpoint.httpUrl, error: outcome.error });
  }
  const last = attempts[attempts.length - 1]!;
  if (attempts.length === 1) throw last.error;
  const said = attempts.map((a) => `${a.master}: ${a.error.reason}`).join('; ');
  throw new MasterRequestError(last.error.status, last.error.reason, `none of the ${attempts.length} masters answered ${method} ${path} (${said})`, { attempts });
}

/**
 * One master's answer: a standby master answers 307 with the leader's URL, which is followed
 * (the same method and body, the same identity).
 */
function requestAt<T>(base: string, addr: MasterAddress, method: Method, path: string, timeoutMs: number, body?: string, hops = 0): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    const fail = (error: MasterRequestError, elsewhere = false): void => resolve({ ok: false, error, elsewhere });
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
          void requestAt<T>(`${to.protocol}//${to.host}`, addr, method, path, timeoutMs, body, hops + 1).then(resolve);
          return;
        }
        if (status >= 300 && status < 400) {
          return fail(new MasterRequestError(status, errorOf(text), `master ${base}${path} answered ${status} (sent elsewhere too often: ${location ?? 'nowhere'})`));
        }
        if (status >= 400) {
          return fail(new MasterRequestError(status, errorOf(text), `master ${base}${path} answered ${status}: ${text.slice(0, 300)}`), status === 503 && isStandby(text));
        }
        try {
          resolve({ ok: true, value: JSON.parse(text) as T, base });
        } catch (err) {
          fail(new MasterRequestError(0, 'invalid JSON', `master sent invalid JSON for ${path}: ${(err as Error).message}`, { cause: err }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`master ${base} did not answer ${path} within ${timeoutMs} ms`)));
    req.on('error', (err) => fail(new MasterRequestError(0, err.message, `cannot reach the master at ${base}: ${err.message}`, { cause: err }), true));
    req.end(body);
  });
}

/** A standby's 503 says so in its body (`role: standby`): it knows no leader, another master may. */
function isStandby(body: string): boolean {
  try {
    return (JSON.parse(body) as { role?: unknown }).role === 'standby';
  } catch {
    return false;
  }
}

/** The `error` of a JSON error body, else the body's start. */
function errorOf(body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    if (typeof error === 'string') return error;
  } catch { /* not JSON: the raw text */ }
  return body.slice(0, 300);
}

/** The leading master's gRPC address (`host:port`), read from its state through the first master that answers. */
export async function grpcAddress(addr: MasterAddress): Promise<string> {
  const { value: state, base } = await requestJson<{ master: { grpcPort: number } }>(addr, 'GET', '/api/v1/state', 10_000);
  // A standby sent us to the leader: its host, not the one we asked.
  return `${new URL(base).hostname}:${state.master.grpcPort}`;
}
