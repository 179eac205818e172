/**
 * A framework as a server, the skeleton `agora services` and `agora jobs` share: its store
 * (Redis under a prefix, or memory), the framework loaded over it, its HTTP API and UI behind
 * the door, and its subscription to the master. The API serves from the start; the
 * subscription is made, and made again, in the background (subscription.ts), so a framework
 * started before its master (or outliving it for a while) still answers, and catches up.
 *
 * What is a framework's own comes in as its `FrameworkServerSpec`: its store classes, how it
 * loads, its routes and event stream, its defaults. Of the framework object itself this file
 * uses only what keeps it subscribed (`Subscriber`), `step` (a look when its Redis is back) and `stop`.
 */
import type { ClientIdentity } from '../../common/security/client-config';
import type { ServerSecurity } from '../../common/security/security-dir';
import { lockedDoor } from '../../common/security/http-door';
import type { RedisLink } from '../../common/redis';
import { systemClock, type Clock } from '../../common/clock';
import type { EpochSource } from '../../common/fenced-redis';
import { logger, type Logger } from '../../common/log';
import type { FrameworkInfo } from '../../common/types';
import type { Scheduler } from '../sdk';
import { eventStreamAt, type EventFeed } from './event-stream';
import { defaultWebuiUrl, webuiUrlProblem, type FrameworkServerOptions } from './flags';
import { startHttp, type Handler } from './http';
import { keepSubscribed, type Subscriber, type Subscription } from './subscription';

export interface ServerOptions extends FrameworkServerOptions {
  /** The master's gRPC address, to skip looking it up. */
  grpcAddress?: string;
  /** Bytes an event stream's client may leave unread before its stream is cut (default 16 MiB). */
  maxEventBacklogBytes?: number;
  clock?: Clock;
  log?: Logger;
  /**
   * The HTTP door's keys: every API call, stream and UI page needs credentials (writes an
   * admin's). Without it the API is open to anyone who reaches the port (`--insecure`).
   */
  security?: ServerSecurity;
  /** Who this framework is to the master (gRPC and HTTP); default: the client config's user. */
  identity?: ClientIdentity;
  /** The address clients reach this server at (default host:port); the web UI's default URL is under it. */
  advertise?: string;
  /**
   * The epoch this framework writes its Redis store at (default 1: no election). An election
   * supplies it later; a write refused as fenced stops the framework (runtime.ts).
   */
  epoch?: EpochSource;
  /** Told once when a write is refused as fenced (a newer leader has written): the framework has stopped acting; the process should exit. */
  fenced?: (err: Error) => void;
  /** As one of several replicas (replica.ts): `GET /v2/leader` names this one, `DELETE /v2/leader` gives its lease up. */
  leadership?: LeaderControl;
}

/** What the leading replica's API says of its leadership, and how it gives it up (Marathon's abdication). */
export interface LeaderControl {
  /** host:port of this replica's HTTP, as the lease names it. */
  self(): string;
  /** Gives the lease up, after the answer is sent: another replica takes over. */
  abdicate(): void;
}

/** A framework as this skeleton runs it: kept subscribed, nudged (a step, and the look after it), and stopped. */
export type ServedFramework = Subscriber & { stop(): Promise<void>; step(fn: () => undefined): Promise<unknown> };

export interface FrameworkStore {
  close(): Promise<void>;
  /** Its Redis connection, when it has one that can go down (common/redis.ts). */
  readonly link?: RedisLink;
}

/** Whether the store takes writes now: `/metrics` says so. */
export interface StoreHealth {
  available: boolean;
  /** Why not, while not. */
  why?: string;
  /** "Redis at …", or "memory". */
  where: string;
}

/** Where an agent serves HTTP (its sandboxes' files), as the master knows it. */

/** What a framework's routes may ask of the server around them. */
export interface ServerContext<F> {
  framework: F;
  log: Logger;
  /** The name it subscribes under, and its role. */
  name: string;
  role: string;
  /** The master's HTTP address, as the framework's info names it. */
  master: string;
  failoverTimeoutMs: number;
  host: string;
  /** The port bound (0 until it is). */
  port(): number;
  /** Where browsers reach the web UI. */
  webuiUrl(): string;
  /** Whether the framework is subscribed to a master now. */
  connected(): boolean;
  /** The live master connection, if any: the SDK's reads (sandbox files) go through it. */
  scheduler(): Scheduler | undefined;
  /** Whether the store takes writes now. */
  store(): StoreHealth;
}

export interface FrameworkServerSpec<S extends FrameworkStore, F extends ServedFramework> {
  /** 'services', 'jobs': the log's name, and the door's (its cookie's). */
  kind: string;
  /** Who the door's login page says it is, e.g. "the Agora jobs framework". */
  title: string;
  defaults: { port: number; name: string; redisPrefix: string };
  stores: { redis(url: string, prefix: string, o: { epoch: EpochSource }): Promise<S>; memory(): S };
  /** Loads the framework over its store. */
  load(store: S, env: { clock: Clock; log: Logger; role: string; fenced?: (err: Error) => void }): Promise<F>;
  /** Its REST API and UI, and its event stream. */
  serve(ctx: ServerContext<F>): { route: Handler; events?: { path: string; feed: EventFeed } };
  /** What it subscribes with beyond its name, role, failover timeout and web UI (capabilities). */
  frameworkInfo?: Partial<Pick<FrameworkInfo, 'capabilities'>>;
}

export interface FrameworkServer<F> {
  port: number;
  framework: F;
  /** Resolves once subscribed to the master for the first time. */
  subscribed: Promise<string>;
  stop(): Promise<void>;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;
/**
 * Kept in memory, the state dies with the process, and a new one could never claim the old
 * tasks: the master should not keep them for a week, only across a short loss of connection.
 */
const MEMORY_FAILOVER_MS = 60_000;

export async function startFrameworkServer<S extends FrameworkStore, F extends ServedFramework>(
  spec: FrameworkServerSpec<S, F>, o: ServerOptions,
): Promise<FrameworkServer<F>> {
  const log = o.log ?? logger(spec.kind);
  const webuiProblem = o.webuiUrl === undefined ? undefined : webuiUrlProblem(o.webuiUrl);
  if (webuiProblem) throw new Error(`webuiUrl ${webuiProblem}`);
  const store = o.redisUrl ? await spec.stores.redis(o.redisUrl, o.redisPrefix ?? spec.defaults.redisPrefix, { epoch: o.epoch ?? 1 }) : spec.stores.memory();
  const framework = await spec.load(store, { clock: o.clock ?? systemClock, log, role: o.role ?? '*', ...(o.fenced ? { fenced: o.fenced } : {}) });
  const door = o.security && lockedDoor(o.security.credentials, { kind: spec.kind, tls: o.security.tls, port: o.port ?? spec.defaults.port, title: spec.title, log });
  const live: Live = { port: 0 };
  const ctx = context(spec, o, { framework, store, log, live });
  const served = spec.serve(ctx);
  const { events } = served;
  const route = o.leadership ? leaderRoutes(o.leadership, served.route) : served.route;
  const unwatch = watchStore(store, framework);
  const http = await startHttp({
    ...(door ? { door } : {}), host: ctx.host, port: o.port ?? spec.defaults.port, log, route,
    unavailable: (err) => store.link?.unavailable(`the ${spec.kind} store`, err)?.message,
    ...(events ? { stream: eventStreamAt({ ...events, log, maxBacklogBytes: o.maxEventBacklogBytes }) } : {}),
  }).catch(async (err: Error) => {
    unwatch();
    door?.close();
    await framework.stop();
    await store.close();   // a taken port: nothing may stay open behind the error
    throw err;
  });
  live.port = http.port;
  // The web UI's default URL holds the port, known only now that it is bound (0 picks one).
  const subscription = live.subscription = keepSubscribed(framework, {
    master: o.master, grpcAddress: o.grpcAddress, log, ...(o.identity ? { credentials: o.identity } : {}),
    framework: { name: ctx.name, roles: [ctx.role], failoverTimeoutMs: ctx.failoverTimeoutMs, webuiUrl: ctx.webuiUrl(), ...spec.frameworkInfo },
  });
  let stopped: Promise<void> | undefined;
  return {
    port: http.port, framework, subscribed: subscription.subscribed,
    stop: () => stopped ??= (async () => {
      unwatch();
      subscription.close();
      await framework.stop();
      await http.stop();
      door?.close();
      await store.close();
    })(),
  };
}

/**
 * Redis back: the framework looks at once (a step, and the look after it) rather than at the
 * end of its backoff after failed writes (up to 30 s), so what waited for the store is stored
 * now. Status updates it could not store were not acknowledged: their agents send them again.
 * The function returned stops watching.
 */
function watchStore(store: FrameworkStore, framework: ServedFramework): () => void {
  return store.link?.onChange((status) => {
    if (status.available) framework.step(() => undefined).catch(() => undefined);
  }) ?? (() => undefined);
}

/**
 * `/v2/leader` on the leading replica, before the framework's own routes: GET names this replica,
 * DELETE abdicates (Marathon's answer shape), after the answer has been sent.
 */
function leaderRoutes(l: LeaderControl, route: Handler): Handler {
  return (req) => {
    if (req.url.pathname !== '/v2/leader') return route(req);
    if (req.method === 'GET' || req.method === 'HEAD') return { status: 200, body: { leader: l.self() } };
    if (req.method === 'DELETE') {
      setImmediate(() => l.abdicate());
      return { status: 200, body: { message: `Leadership abdicated by ${l.self()}` } };
    }
    return { status: 405, body: { message: `${req.method} /v2/leader: use GET (who leads) or DELETE (abdicate)` }, headers: { allow: 'GET, DELETE' } };
  };
}

/** What the server learns as it starts: its port once bound, its subscription once made. */
interface Live { port: number; subscription?: Subscription }

function storeHealth(store: FrameworkStore): StoreHealth {
  if (!store.link) return { available: true, where: 'memory' };
  const { available, why } = store.link.now();
  return { available, ...(why !== undefined && !available ? { why } : {}), where: store.link.where };
}

function context<F>(spec: { defaults: { name: string } }, o: ServerOptions,
  { framework, store, log, live }: { framework: F; store: FrameworkStore; log: Logger; live: Live }): ServerContext<F> {
  const host = o.host ?? '0.0.0.0';
  const scheme = o.security ? 'https' : 'http';
  return {
    framework, log, name: o.name ?? spec.defaults.name, role: o.role ?? '*', host, port: () => live.port,
    master: o.master ?? process.env.AGORA_MASTER ?? '127.0.0.1:5050',
    failoverTimeoutMs: o.failoverTimeoutMs ?? (o.redisUrl ? WEEK_MS : MEMORY_FAILOVER_MS),
    // For browsers, not this machine's clients: a wildcard bind names the machine, not 127.0.0.1.
    webuiUrl: () => o.webuiUrl ?? (o.advertise ? `${scheme}://${o.advertise}/ui/` : defaultWebuiUrl(host, live.port, undefined, scheme)),
    connected: () => live.subscription?.scheduler()?.connected ?? false,
    scheduler: () => live.subscription?.scheduler(),
    store: () => storeHealth(store),
  };
}
