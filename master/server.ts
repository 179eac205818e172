/**
 * Starts a whole master: the core, its NATS shell towards agents, the gRPC scheduler API and
 * the HTTP operator API, wired together. The handle reports the ports actually bound and
 * stops everything it started, in the reverse order.
 */
import { randomUUID } from 'crypto';
import { connect, type NatsConnection } from 'nats';
import { systemClock } from '../common/clock';
import { logger, type Logger } from '../common/log';
import { natsServers, subjects, type Subjects } from '../common/subjects';
import type { MasterInfo } from '../common/types';
import { startGrpc, type GrpcHandle } from './api/grpc';
import { startHttp, type HttpDeps, type HttpHandle } from './api/http';
import { advertisedHost, resolveConfig, type MasterConfig, type MasterOptions } from './config';
import { EventLoopLag } from './event-loop-lag';
import { Master } from './master';
import { eventLoopLagFamilies, exposition, offerLogFamilies, registryFamilies, renderMetrics } from './metrics';
import { followAgentLink, natsAgentPort, serveAgents, type AgentSubscriptions } from './nats-agents';
import { natsIdentity, pushAccountUpdates, type AccountPusher, type NatsIdentity } from '../common/security/nats-client';
import { OfferLog } from './offer-log';
import { OfferLogStream } from './offer-log-stream';
import { OperatorJournal } from './operator-events';
import { eventIdText, followJournal } from './operator-stream';
import { InMemoryRegistry, type AgentRegistry } from './registry';
import { readRegistry, type Recovered } from './recovery';
import { RedisRegistry } from './registry-redis';
import type { ClientIdentity } from '../common/security/client-config';
import { lockedDoor, type HttpDoor } from '../common/security/http-door';
import type { LimitOptions } from '../common/security/limits';
import type { ServerSecurity } from '../common/security/security-dir';
import type { Authorizer } from './ports';
import { aclAuthorizer } from './authorizer';
import { CallError } from './errors';

export interface StartMasterOptions extends MasterOptions {
  /** Where admitted agents and frameworks are recorded; the caller closes it. Wins over `redisUrl`. */
  registry?: AgentRegistry;
  /**
   * A Redis registry at this URL (keys under `<subjectPrefix>:`), recovered from at start and
   * closed at stop; in memory when neither this nor `registry` is given.
   */
  redisUrl?: string;
  /**
   * The doors' keys: gRPC serves TLS and every call, request and stream must authenticate
   * against these credentials. Without it the master is open to anyone who reaches it
   * (`agora master --insecure`); the caller closes it.
   */
  security?: ServerSecurity;
  /** What authenticated principals may do; default: the ACLs of `security` (acls.json), everything without security. */
  authorizer?: Authorizer;
  /** Who the master is towards agents (the sandbox relay). */
  identity?: ClientIdentity;
  /** Per-principal gRPC call rate and open subscriptions; common/security/limits.ts's defaults when absent. */
  grpcLimits?: LimitOptions;
  /** The lease it leads under, when elected (master/node.ts; see MasterDeps.lease). */
  lease?: { check(): unknown };
}

export interface MasterHandle {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly info: MasterInfo;
  readonly config: MasterConfig;
  /** Closes framework streams, stops listening to agents, closes gRPC, HTTP, NATS and a registry it opened, clears timers. */
  stop(): Promise<void>;
}

export async function connectNats(config: MasterConfig, nats: NatsIdentity): Promise<NatsConnection> {
  try {
    // A master outlives NATS restarts: keep reconnecting rather than give up after a few tries.
    return await connect({ servers: natsServers(config.natsUrl), name: `agora-master@${config.hostname}`, maxReconnectAttempts: -1, ...nats.options });
  } catch (err) {
    throw new Error(`cannot connect to NATS at ${config.natsUrl}: ${(err as Error).message}`, { cause: err });
  }
}

/** The registry to use, and whether this master opened it (and so closes it). */
async function openRegistry(options: StartMasterOptions, config: MasterConfig): Promise<{ registry: AgentRegistry; owned: boolean }> {
  if (options.registry) return { registry: options.registry, owned: false };
  if (options.redisUrl) {
    return { registry: await RedisRegistry.connect(options.redisUrl, { keyPrefix: `${config.subjectPrefix}:`, epoch: config.epoch }), owned: true };
  }
  return { registry: new InMemoryRegistry(), owned: true };
}

/**
 * The operator event journal, fed by the master's changes and by every offer-log event. Its
 * epoch is fresh per master: ids restart at 1, so a client's Last-Event-ID from an earlier
 * master must not be mistaken for one of this master's.
 */
function operatorJournal(config: MasterConfig, offerLog: OfferLog): OperatorJournal {
  const journal = new OperatorJournal(randomUUID().slice(0, 8), config.operatorEventCapacity, config.clock);
  offerLog.subscribe((offer) => journal.record({ type: 'OFFER', kind: offer.type, offer }));
  return journal;
}

export async function startMaster(options: StartMasterOptions = {}): Promise<MasterHandle> {
  const config = resolveConfig(options);
  const log = logger('master');
  // Before anything is opened: a master that cannot judge must not start.
  const security = options.security;
  const authorizer = options.authorizer ?? (security && securityAuthorizer(security));
  const subj = subjects(config.subjectPrefix);
  const { registry, closeRegistry, nc, recovered } = await openStores(options, config, natsIdentity('master', subj, security, options.identity));
  const logs = await openOfferLogs(config, nc, log);
  const events = operatorJournal(config, logs.ring);
  const master = new Master({
    config, agentPort: natsAgentPort(nc, subj, (agentId): string => master.agentOwner(agentId), log.child('nats'), config.epoch), offerLog: logs.sink, events, registry, log,
    ...(authorizer ? { authorizer } : {}), ...(options.lease ? { lease: options.lease } : {}),
  });
  const door: HttpDoor | undefined = security && lockedDoor(security.credentials, { kind: 'master', tls: security.tls, port: config.httpPort, title: 'the Agora master', log: log.child('http') });
  // Before any server starts: no agent or framework is answered until the records are back.
  master.recover(recovered);
  const gate = { ready: false };
  // The lag is the process's, in real time whatever clock the core runs on.
  const lag = new EventLoopLag({ clock: systemClock, stopwatchMs: () => performance.now() });
  const servers: Partial<Servers> = {};
  try {
    await startServers(servers, { master, config, options, door, authorizer, events, logs, lag, nc, subj, log, ready: () => gate.ready });
  } catch (err) {
    door?.close();
    master.stop();
    logs.durable.stop();
    servers.agents?.close();
    await servers.grpc?.stop();
    await servers.http?.stop();
    await nc.close();
    await closeRegistry();
    throw err;
  }
  return running({ ...(servers as Servers), config, log, master, door, logs, lag, nc, closeRegistry, security, gate });
}

/** The registry (opened here unless given) with what it recovers, and the NATS connection; what was opened is closed again on failure. */
async function openStores(options: StartMasterOptions, config: MasterConfig, natsId: NatsIdentity) {
  const { registry, owned } = await openRegistry(options, config);
  const closeRegistry = () => (owned ? registry.close() : Promise.resolve());
  let nc: NatsConnection;
  let recovered: Recovered;
  try {
    nc = await connectNats(config, natsId);
  } catch (err) {
    await closeRegistry();
    throw err;
  }
  try {
    recovered = await readRegistry(registry);
  } catch (err) {
    await closeRegistry();
    await nc.close();
    throw err;
  }
  return { registry, closeRegistry, nc, recovered };
}

type OfferLogs = Awaited<ReturnType<typeof openOfferLogs>>;

/** The offer log's ring and its durable JetStream stream, and the sink that records into both. */
async function openOfferLogs(config: MasterConfig, nc: NatsConnection, log: Logger) {
  const ring = new OfferLog(config.offerLogCapacity);
  const durable = new OfferLogStream(nc, {
    subjectPrefix: config.subjectPrefix, maxBytes: config.offerLogMaxBytes, maxAgeMs: config.offerLogMaxAgeMs, replicas: config.offerLogReplicas,
    clock: config.clock, log: log.child('offer-log'),
  });
  // Never throws: without JetStream the master starts degraded and keeps trying.
  await durable.start();
  // The ring first: it is what the live SSE followers and a degraded query read.
  const sink = { record: (e: Parameters<OfferLog['record']>[0]) => { ring.record(e); durable.record(e); } };
  return { ring, durable, sink };
}

interface Servers {
  grpc: GrpcHandle;
  http: HttpHandle;
  agents: AgentSubscriptions;
}

interface ServerDeps {
  master: Master;
  config: MasterConfig;
  options: StartMasterOptions;
  door: HttpDoor | undefined;
  authorizer: Authorizer | undefined;
  events: OperatorJournal;
  logs: OfferLogs;
  lag: EventLoopLag;
  nc: NatsConnection;
  subj: Subjects;
  log: Logger;
  ready(): boolean;
}

/** gRPC, then HTTP, then the agents' NATS subjects, each put into `into` as it starts, so a failure can stop what did. */
async function startServers(into: Partial<Servers>, d: ServerDeps): Promise<void> {
  const { master, config, options } = d;
  const security = options.security;
  into.grpc = await startGrpc(master, {
    host: config.host, port: config.grpcPort, ready: d.ready, log: d.log.child('grpc'), maxSubscriberBacklogBytes: config.maxSubscriberBacklogBytes,
    ...(security ? { tls: security.tls, credentials: () => security.credentials.get() } : {}),
    ...(options.grpcLimits ? { limits: options.grpcLimits } : {}),
  });
  into.http = await startHttp(httpDeps(d),
    { host: config.host, port: config.httpPort, maxEventBacklogBytes: config.maxEventBacklogBytes, maxOfferEventBacklogBytes: config.maxOfferEventBacklogBytes },
  );
  master.setPorts(into.http.port, into.grpc.port);
  into.agents = serveAgents(d.nc, d.subj, master, d.log.child('nats'), config.epoch);
  followAgentLink(d.nc, master, d.log.child('nats'));
  // Agents heartbeat at once on hearing it, and so register again with this master within moments.
  d.nc.publish(d.subj.leader(), new TextEncoder().encode(master.info.id));
  await d.nc.flush();
}

/** What the operator HTTP API serves, from the master, its journal and its offer logs. */
function httpDeps(d: ServerDeps): HttpDeps {
  const { master, config, events, logs, lag, door, authorizer, options, log } = d;
  const leadership = () => ({ role: 'leader' as const, epoch: master.epoch, pid: process.pid, leader: `${advertisedHost(config)}:${master.info.httpPort}`, grpcPort: master.info.grpcPort });
  return { ready: d.ready, leadership, fenced: () => master.fencedReason, state: () => ({ ...master.state(), eventId: eventIdText(events.epoch, events.lastId()) }),
    metrics: () => renderMetrics(master.metrics())
      + exposition([...offerLogFamilies(logs.durable.status()), ...registryFamilies(master.registryHealth()), ...eventLoopLagFamilies(lag.snapshot())]),
    registry: () => master.registryHealth(),
    operatorEvents: {
      follow: (o) => followJournal(events, { ...o, heartbeatIntervalMs: config.operatorHeartbeatIntervalMs, clock: config.clock }),
    },
    markAgentGone: (agentId) => master.markAgentGone(agentId),
    sandboxOf: (frameworkId, taskId, agentId) => master.sandboxOf(frameworkId, taskId, agentId),
    frameworkPrincipal: (frameworkId) => master.frameworkPrincipal(frameworkId),
    weights: { get: () => master.weights(), update: (u) => master.updateWeights(u) },
    offerLog: logs.ring,
    offerQueries: { now: () => config.clock.now(), ring: () => logs.ring.entries(), stream: logs.durable, log: log.child('http') },
    ...(door ? { door } : {}),
    ...(authorizer ? { authorize: refusalOf(authorizer) } : {}),
    ...(options.identity ? { agentIdentity: options.identity } : {}),
    log: log.child('http') };
}

interface Started extends Servers {
  config: MasterConfig;
  log: Logger;
  master: Master;
  door: HttpDoor | undefined;
  logs: OfferLogs;
  lag: EventLoopLag;
  nc: NatsConnection;
  closeRegistry(): Promise<void>;
  security: ServerSecurity | undefined;
  /** Whether the servers answer yet. */
  gate: { ready: boolean };
}

/** The master goes live: revocations followed, its timers started, the servers answering; the handle stops it all in reverse. */
function running(p: Started): MasterHandle {
  const { config, log, master, door, logs, lag, nc, grpc, http, agents, security } = p;
  // A revoked credential's subscriptions end now, not at their next call (the door cuts its own streams).
  const unwatch = security?.credentials.onChange(() => grpc.revokeGone());
  // NATS cuts a revoked agent's connection once it has the re-signed account.
  const accounts: AccountPusher | undefined = security && pushAccountUpdates(security, config.natsUrl, log.child('nats-accounts'));
  master.start();
  lag.start();
  p.gate.ready = true;
  log.info('master started', { id: master.info.id, epoch: config.epoch, httpPort: http.port, grpcPort: grpc.port, nats: config.natsUrl });

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    p.gate.ready = false;
    unwatch?.();
    accounts?.close();
    door?.close();
    master.stop();
    lag.stop();
    logs.durable.stop();
    agents.close();
    await grpc.stop();
    await http.stop();
    if (!nc.isClosed()) await nc.drain();
    // What the master recorded last (a teardown's removal, a deadline) is written before Redis is let go.
    await master.registrySettled();
    await p.closeRegistry();
    log.info('master stopped', { id: master.info.id });
  };
  return {
    httpPort: http.port,
    grpcPort: grpc.port,
    info: master.info,
    config,
    stop: () => (stopping ??= stop()),
  };
}

/** The ACLs of the security folder; a master with locked doors and no ACLs would refuse everything, so it does not start. */
function securityAuthorizer(security: ServerSecurity): Authorizer {
  if (!security.acls()) throw new Error(`no ACLs in ${security.dir} (acls.json): run \`agora credentials init\` to write the default ones`);
  return aclAuthorizer(() => security.acls()!);
}

/** The authorizer as the HTTP routes ask it: the refusal's words, or undefined. */
function refusalOf(authorizer: Authorizer): NonNullable<HttpDeps['authorize']> {
  return (principal, action, object) => {
    try {
      authorizer.check(action, principal, object);
      return undefined;
    } catch (err) {
      if (err instanceof CallError) return err.message;
      throw err;
    }
  };
}
