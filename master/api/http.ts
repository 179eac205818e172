/**
 * The master's HTTP operator API (node `http`, JSON):
 *   GET /health                 200 {"status":"ok"} once the master serves, 503 before; with
 *                               offerLog "durable" or "degraded" (and why) when it has a durable log,
 *                               and registry "available" or "unavailable" (registryWhy, and the
 *                               registryPendingWrites waiting for it); with leadership, its role,
 *                               epoch, pid, HTTP address (`leader`) and `grpcPort`;
 *                               503 {"status":"fenced", "epoch", "why"} once a newer master fenced it
 *   GET /state, /api/v1/state   MasterStateView (common/operator-types.ts)
 *   GET /api/v1/offers/events   the offer log as server-sent events, one OfferLogEvent JSON
 *                               per event; ?replay=N sends the last N logged events first
 *   GET /api/v1/offers[/summary] offer-log queries and summaries (api/http-offers.ts)
 *   GET /api/v1/events          the operator event stream (master/operator-stream.ts), server-sent
 *                               events as Mesos's operator SUBSCRIBE: SUBSCRIBED {epoch, lastId}
 *                               first; then TASK_ADDED, TASK_UPDATED, AGENT_ADDED, AGENT_UPDATED,
 *                               AGENT_REMOVED, FRAMEWORK_ADDED, FRAMEWORK_UPDATED, FRAMEWORK_REMOVED
 *                               and OFFER (with its `kind`), each with `id: <epoch>:<n>`; HEARTBEAT
 *                               every operatorHeartbeatIntervalMs. `Last-Event-ID` (or
 *                               ?lastEventId=) resumes after that event, or sends RESYNC when it is
 *                               no longer kept; ?types=A,B sends only those types
 *   GET /metrics                Prometheus text exposition (0.0.4), rendered by master/metrics.ts
 *   GET /api/v1/weights         role weights, {"role": weight}
 *   PUT /api/v1/weights         sets the weights of the roles in the JSON body, all or nothing
 *   POST /api/v1/agents/ID/gone an operator's word that agent ID is gone for good (Mesos
 *                               MARK_AGENT_GONE): its tasks end TASK_GONE_BY_OPERATOR
 *   GET /api/v1/files/read|browse|follow  a task's sandbox, relayed from its agent (api/http-files.ts):
 *                               a framework's principal reads its own tasks', others need access_sandboxes
 *   GET /ui/…                   the master's web UI (master/ui, with common/ui under /ui/shared/);
 *                               GET / redirects there
 * Anything else is a 404 (or 405 for another method) with a JSON error body.
 */
import { type IncomingMessage, type Server, type ServerResponse } from 'http';
import { closeDoorServer, createDoorServer } from '../../common/security/https';
import type { ClientIdentity } from '../../common/security/client-config';
import type { Logger } from '../../common/log';
import { openEventStream } from '../../common/sse';
import type { MasterStateView, OfferLogEvent } from '../../common/operator-types';
import { CallError } from '../errors';
import type { RegistryHealth } from '../registry-writes';
import { METRICS_CONTENT_TYPE } from '../metrics';
import { uiFiles } from '../../common/ui-files';
import type { Action } from '../../common/security/acl';
import type { Principal } from '../../common/security/credentials';
import type { HttpDoor } from '../../common/security/http-door';
import { FILES_PATHS, relayFiles, type SandboxLookup } from './http-files';
import { offersQuery, offersSummary, type OfferQueryDeps } from './http-offers';
import { parseTypes, type FollowOptions } from '../operator-stream';

export interface HttpDeps {
  ready(): boolean;
  /**
   * What `/health` says of leadership: this master leads, in which epoch, as which process, at
   * which address, and its gRPC port (a framework given a list of masters keeps each one's).
   */
  leadership?(): { role: 'leader'; epoch: number; pid: number; leader: string; grpcPort: number };
  /** Why the master was fenced (it stopped acting: a newer one leads), or undefined. */
  fenced?(): string | undefined;
  state(): MasterStateView;
  /** Whether the registry takes writes; `/health` says so when given. */
  registry?(): RegistryHealth;
  /** The `/metrics` text; without it, /metrics is not served. */
  metrics?(): string;
  /** Without it, agents cannot be marked gone over HTTP. */
  markAgentGone?(agentId: string): Promise<void>;
  /** Without these, /api/v1/weights is not served. */
  weights?: { get(): Record<string, number>; update(update: Record<string, unknown>): Promise<void> };
  /** Without it, /api/v1/events is not served. */
  operatorEvents?: { follow(o: Pick<FollowOptions, 'lastEventId' | 'types' | 'write'>): () => void };
  offerLog: {
    recent(n: number): OfferLogEvent[];
    subscribe(listener: (event: OfferLogEvent) => void): () => void;
  };
  /** Without it, /api/v1/files/… (a task's sandbox, relayed) is not served. */
  sandboxOf?: SandboxLookup['sandboxOf'];
  /**
   * The principal a framework the master knows belongs to: that principal reads the sandboxes
   * of the framework's tasks without `access_sandboxes`. Without it, every sandbox read needs it.
   */
  frameworkPrincipal?(frameworkId: string): string | undefined;
  /** Without it, /api/v1/offers and /api/v1/offers/summary are not served. */
  offerQueries?: OfferQueryDeps;
  /** Authentication, CSRF and content-type rules in front of every route; every route is open without it. */
  door?: HttpDoor;
  /** The master's own identity towards agents, for the sandbox relay. */
  agentIdentity?: ClientIdentity;
  /**
   * Whether `principal` may do `action` on `object` (the ACLs): a refusal message, or
   * undefined. Without it, the door's admin/viewer split is all there is.
   */
  authorize?(principal: Principal, action: Action, object?: string): string | undefined;
  log: Logger;
}

export interface HttpOptions {
  host: string;
  port: number;
  /** How often an idle event stream gets a comment line, so proxies keep it open. */
  keepAliveMs?: number;
  /**
   * Bytes of operator events a client may leave unread before its stream is ended (it
   * resumes with Last-Event-ID): a stalled client must not grow the master's memory without
   * bound. Room for a whole replayed journal (10 000 events of about 1 kB) and more.
   */
  maxEventBacklogBytes?: number;
  /**
   * The same bound for GET /api/v1/offers/events, whose client cannot resume (it asks for a
   * ?replay= instead): 16 MiB by default, some thousands of offer-log events.
   */
  maxOfferEventBacklogBytes?: number;
}

export interface HttpHandle {
  port: number;
  stop(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function text(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** `?replay=N`: N a whole number; absent means 0. */
function replayCount(url: URL): number | string {
  const raw = url.searchParams.get('replay');
  if (raw === null || raw === '') return 0;
  if (!/^\d+$/.test(raw)) return `replay must be a whole number of events, got '${raw}'`;
  return Number(raw);
}

function offerEvents(deps: HttpDeps, url: URL, res: ServerResponse, streams: Set<ServerResponse>, limits: StreamLimits): void {
  const replay = replayCount(url);
  if (typeof replay === 'string') return json(res, 400, { error: replay });
  let unsubscribe = (): void => undefined;
  const writeFrame = openEventStream(res, {
    keepAliveMs: limits.keepAliveMs, streams, onClose: () => unsubscribe(), maxBacklogBytes: limits.maxOfferEventBacklogBytes,
    log: deps.log, name: 'GET /api/v1/offers/events', resume: 'follow again with ?replay=N',
  });
  const write = (event: OfferLogEvent) => writeFrame(`data: ${JSON.stringify(event)}\n\n`);
  for (const event of deps.offerLog.recent(replay)) write(event);
  if (res.destroyed) return;   // cut while replaying
  unsubscribe = deps.offerLog.subscribe(write);
}

/**
 * A degraded offer log is still 200: the master allocates and serves without JetStream, and a
 * load balancer must not take it out of service for that; operators read `offerLog` and `why`.
 * An unavailable registry is 200 too, for the same reason: the master serves all that needs
 * no registry write, and `registry`, `registryWhy` and `registryPendingWrites` say the rest.
 */
function health(deps: HttpDeps, res: ServerResponse): void {
  const fenced = deps.fenced?.();
  if (fenced) return json(res, 503, { status: 'fenced', ...deps.leadership?.(), why: fenced });
  if (!deps.ready()) return json(res, 503, { status: 'starting' });
  const log = deps.offerQueries?.stream?.status();
  const registry = deps.registry?.();
  json(res, 200, {
    status: 'ok',
    ...deps.leadership?.(),
    ...(log ? (log.durable ? { offerLog: 'durable' } : { offerLog: 'degraded', why: log.why }) : {}),
    ...(registry ? registryHealth(registry) : {}),
  });
}

function registryHealth(r: RegistryHealth): Record<string, unknown> {
  return {
    registry: r.available ? 'available' : 'unavailable',
    ...(r.why !== undefined ? { registryWhy: `${r.where}: ${r.why}` } : {}),
    ...(r.pendingWrites > 0 ? { registryPendingWrites: r.pendingWrites } : {}),
  };
}

/** How a refused operator call is answered: bad input 400, unknown 404, the registry down 503 (logged as a warning), else 500. */
function refused(deps: HttpDeps, res: ServerResponse, what: string, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof CallError ? err.code : undefined;
  const status = code === 'INVALID_ARGUMENT' ? 400 : code === 'NOT_FOUND' ? 404 : code === 'UNAVAILABLE' ? 503 : 500;
  if (status === 503) deps.log.warn(`${what} refused`, { error: message });
  else if (status === 500) deps.log.error(`${what} failed`, { error: message });
  json(res, status, { error: message });
}

interface StreamLimits {
  keepAliveMs: number;
  maxEventBacklogBytes: number;
  maxOfferEventBacklogBytes: number;
}

function operatorEvents(
  deps: HttpDeps, follow: NonNullable<HttpDeps['operatorEvents']>['follow'], req: IncomingMessage, url: URL, res: ServerResponse,
  streams: Set<ServerResponse>, { keepAliveMs, maxEventBacklogBytes }: StreamLimits,
): void {
  const types = parseTypes(url.searchParams.get('types'));
  if ('error' in types) return json(res, 400, { error: types.error });
  // A browser's EventSource resends the header on its own; a fresh one can only pass the query.
  const header = req.headers['last-event-id'];
  const lastEventId = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('lastEventId') ?? undefined;
  let stop = (): void => undefined;
  const write = openEventStream(res, {
    keepAliveMs, streams, onClose: () => stop(), maxBacklogBytes: maxEventBacklogBytes,
    log: deps.log, name: 'GET /api/v1/events', resume: 'resume with Last-Event-ID',
  });
  stop = follow({ lastEventId, types: types.types, write });
}

const GONE = /^\/api\/v1\/agents\/([^/]+)\/gone$/;

const uiFile = uiFiles('master/ui');

/** `/` → `/ui/`; `/ui/…` → the UI's files. True when it answered. */
function ui(url: URL, req: IncomingMessage, res: ServerResponse): boolean {
  if (url.pathname !== '/' && url.pathname !== '/ui' && !url.pathname.startsWith('/ui/')) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    json(res, 405, { error: `${url.pathname} answers GET only, not ${req.method}` });
    return true;
  }
  if (url.pathname === '/' || url.pathname === '/ui') {
    res.writeHead(302, { location: '/ui/' });
    res.end();
    return true;
  }
  const rel = url.pathname.slice('/ui/'.length) || 'index.html';
  let file;
  try {
    file = uiFile(decodeURIComponent(rel));
  } catch {
    json(res, 400, { error: `the path is not valid percent-encoding: ${url.pathname}` });
    return true;
  }
  if (!file) {
    json(res, 404, { error: `no such file in the web UI: ${url.pathname}` });
    return true;
  }
  res.writeHead(200, { 'content-type': file.contentType, 'content-length': Buffer.byteLength(file.data), 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : file.data);
  return true;
}

function route(deps: HttpDeps, req: IncomingMessage, res: ServerResponse, streams: Set<ServerResponse>, limits: StreamLimits,
  url: URL, principal: Principal | undefined): void {
  // The ACLs, after the door: a refusal names the principal, the action and the object.
  const refused = (action: Action, object?: string): boolean => {
    const why = principal && deps.authorize?.(principal, action, object);
    if (why) json(res, 403, { error: why, principal: principal?.name, action, ...(object !== undefined ? { object } : {}) });
    return !!why;
  };
  const gone = GONE.exec(url.pathname);
  if (gone && deps.markAgentGone) {
    const agentId = decodeURIComponent(gone[1]!);
    if (req.method === 'POST' && refused('mark_agent_gone', agentId)) return;
    return markGone(deps, deps.markAgentGone, agentId, req, res);
  }
  if (url.pathname === '/api/v1/weights' && deps.weights) {
    if (req.method === 'GET' && refused('view')) return;
    return weightsRoute(deps, deps.weights, req, res, (roles) => roles.some((role) => refused('update_weights', role)));
  }
  if (ui(url, req, res)) return;
  const queries = deps.offerQueries ? ['/api/v1/offers', '/api/v1/offers/summary'] : [];
  const known = ['/health', '/state', '/api/v1/state', '/api/v1/offers/events', ...queries, ...(deps.metrics ? ['/metrics'] : []),
    ...(deps.operatorEvents ? ['/api/v1/events'] : []), ...(deps.sandboxOf ? FILES_PATHS : [])];
  if (!known.includes(url.pathname)) return json(res, 404, { error: `no such endpoint: ${url.pathname}` });
  if (req.method !== 'GET') return json(res, 405, { error: `${url.pathname} answers GET only, not ${req.method}` });
  if (url.pathname === '/health') return health(deps, res);
  if (!deps.ready()) return json(res, 503, { error: 'the master is starting' });
  if (FILES_PATHS.includes(url.pathname) ? !ownSandbox(deps, url, principal) && refused('access_sandboxes') : refused('view')) return;
  const reply = (status: number, body: unknown) => json(res, status, body);
  if (url.pathname === '/api/v1/offers' && deps.offerQueries) return offersQuery(deps.offerQueries, url.searchParams, reply);
  if (url.pathname === '/api/v1/offers/summary' && deps.offerQueries) return offersSummary(deps.offerQueries, url.searchParams, reply);
  if (url.pathname === '/api/v1/offers/events') return offerEvents(deps, url, res, streams, limits);
  if (url.pathname === '/api/v1/events' && deps.operatorEvents) return operatorEvents(deps, deps.operatorEvents.follow, req, url, res, streams, limits);
  if (FILES_PATHS.includes(url.pathname) && deps.sandboxOf) {
    return relayFiles({ sandboxOf: deps.sandboxOf, ...(deps.agentIdentity ? { agentIdentity: deps.agentIdentity } : {}), log: deps.log }, url, req, res);
  }
  if (url.pathname === '/metrics' && deps.metrics) return text(res, 200, METRICS_CONTENT_TYPE, deps.metrics());
  json(res, 200, deps.state());
}

/**
 * A framework reading its own tasks' sandboxes: it launched them, and what they write is its
 * business, as their status updates are. It asks with the principal its framework belongs to
 * (the SDK's sandbox reads); another framework's tasks need `access_sandboxes` like anyone's.
 */
function ownSandbox(deps: HttpDeps, url: URL, principal: Principal | undefined): boolean {
  const frameworkId = url.searchParams.get('framework_id');
  return principal?.kind === 'framework' && !!frameworkId && deps.frameworkPrincipal?.(frameworkId) === principal.name;
}

/** An operator's body is small; anything bigger is refused before it is parsed. */
const MAX_BODY_BYTES = 64 * 1024;

function weightsRoute(deps: HttpDeps, weights: NonNullable<HttpDeps['weights']>, req: IncomingMessage, res: ServerResponse,
  refusedRoles: (roles: string[]) => boolean): void {
  if (req.method === 'GET') return json(res, 200, weights.get());
  if (req.method !== 'PUT') return json(res, 405, { error: `/api/v1/weights answers GET and PUT, not ${req.method}` });
  if (!deps.ready()) return json(res, 503, { error: 'the master is starting' });
  let body = '';
  let tooBig = false;
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    if (tooBig) return;   // drained, not kept
    body += chunk;
    if (body.length > MAX_BODY_BYTES) {
      tooBig = true;
      json(res, 413, { error: `the body is over ${MAX_BODY_BYTES} bytes` });
    }
  });
  req.on('end', () => {
    if (tooBig) return;
    let update: unknown;
    try {
      update = JSON.parse(body);
    } catch (err) {
      return json(res, 400, { error: `the body is not JSON: ${(err as Error).message}; send {"role": weight, ...}` });
    }
    if (typeof update !== 'object' || update === null || Array.isArray(update)) {
      return json(res, 400, { error: 'the body must be a JSON object: {"role": weight, ...}' });
    }
    if (refusedRoles(Object.keys(update))) return;
    weights.update(update as Record<string, unknown>).then(() => json(res, 200, weights.get()), (err: unknown) => refused(deps, res, 'updating weights', err));
  });
}

function markGone(deps: HttpDeps, mark: (agentId: string) => Promise<void>, agentId: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST') return json(res, 405, { error: `marking an agent gone is a POST, not ${req.method}` });
  if (!deps.ready()) return json(res, 503, { error: 'the master is starting' });
  mark(agentId).then(() => json(res, 200, { agentId, status: 'GONE' }), (err: unknown) => refused(deps, res, `marking agent ${agentId} gone`, err));
}

export function startHttp(deps: HttpDeps, options: HttpOptions): Promise<HttpHandle> {
  const streams = new Set<ServerResponse>();
  const limits: StreamLimits = {
    keepAliveMs: options.keepAliveMs ?? 15_000,
    maxEventBacklogBytes: options.maxEventBacklogBytes ?? 64 * 1024 * 1024,
    maxOfferEventBacklogBytes: options.maxOfferEventBacklogBytes ?? 16 * 1024 * 1024,
  };
  const failed = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    deps.log.error('HTTP request failed', { url: req.url, error: err instanceof Error ? err.message : String(err) });
    if (!res.headersSent) json(res, 500, { error: 'internal error' });
    else res.end();
  };
  const server: Server = createDoorServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://master');
    } catch {
      return json(res, 400, { error: `the request target is not a valid path: ${req.url}` });
    }
    if (!deps.door) {
      try {
        route(deps, req, res, streams, limits, url, undefined);
      } catch (err) {
        failed(req, res, err);
      }
      return;
    }
    deps.door.admit(req, res, url).then((a) => {
      if (a.admitted) route(deps, req, res, streams, limits, url, a.principal);
    }).catch((err: unknown) => failed(req, res, err));
    }, deps.door?.tls);
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve HTTP on ${options.host}:${options.port}: ${err.message}`, { cause: err })));
    server.listen(options.port, options.host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      resolve({ port, stop: () => stop(server, streams) });
    });
  });
}

/**
 * Event streams never end on their own, so they are ended before the server closes. A keep-alive
 * connection busy with a request when `close()` is called stays open, and `close()` waits for it,
 * for as long as its client sends requests: a /health check every 200 ms kept a deposed master
 * from ever exiting (test/chaos). So the connections still open after `graceMs` are cut.
 */
function stop(server: Server, streams: Set<ServerResponse>, graceMs = 1000): Promise<void> {
  for (const res of streams) res.end();
  return closeDoorServer(server, graceMs);
}
