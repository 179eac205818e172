/**
 * The master's gRPC shell: serves `agora.v1.Scheduler` (common/scheduler-service.ts) to
 * frameworks. Subscribe is a server stream that lives as long as the subscription; every
 * other call is unary and answered with an empty CallResponse (GetAgents: the agents) or a
 * gRPC status that explains what was wrong. The core behind it is reached only through `SchedulerApi`.
 */
import { AssertionError } from 'node:assert';
import {
  Server, status as GrpcStatus, type Metadata, type MethodDefinition, type sendUnaryData, type ServerUnaryCall,
  type ServerWritableStream, type ServiceError, type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  clusterAgentsToWire, eventToWire, filtersFromWire, frameworkInfoFromWire, killPolicyFromWire, operationFromWire,
} from '../../common/codec';
import type { Logger } from '../../common/log';
import type { agora } from '../../common/proto';
import { ResourceError } from '../../common/resources';
import type { Credentials, Principal } from '../../common/security/credentials';
import { callPrincipal, serverCredentials, Unauthenticated } from '../../common/security/grpc-auth';
import { DEFAULT_GRPC_LIMITS, PrincipalLimits, type LimitOptions } from '../../common/security/limits';
import type { TlsFiles } from '../../common/security/pki';
import { schedulerService } from '../../common/scheduler-service';
import type { Operation } from '../../common/types';
import type { CallBase, SchedulerApi } from '../calls';
import { CallError } from '../errors';
import type { FrameworkStream } from '../ports';

/** A request whose bytes did not decode: handed to the handler so it can say so. */
class Malformed {
  constructor(readonly error: Error) {}
}

/**
 * The shared service definition, except that a request that fails to decode becomes a
 * Malformed value instead of grpc-js's opaque INTERNAL: the caller deserves to hear why.
 */
function tolerantService(): Record<string, MethodDefinition<unknown, unknown>> {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(schedulerService) as [string, MethodDefinition<unknown, unknown>][]) {
    out[name] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return def.requestDeserialize(bytes);
        } catch (err) {
          return new Malformed(err instanceof Error ? err : new Error(String(err)));
        }
      },
    };
  }
  return out;
}

export interface GrpcOptions {
  host: string;
  port: number;
  /** False until the master can serve: calls get UNAVAILABLE. */
  ready: () => boolean;
  log: Logger;
  /** Serve TLS with this certificate; plaintext without. */
  tls?: TlsFiles;
  /** Every call must prove a principal of these credentials; without, calls are anonymous. */
  credentials?: () => Credentials;
  /** Per-principal call rate and open subscriptions (with credentials only); DEFAULT_GRPC_LIMITS when absent. */
  limits?: LimitOptions;
  /** For the rate limit's buckets; Date.now when absent. */
  now?: () => number;
  /**
   * Bytes of events a framework may leave unread (beyond its HTTP/2 flow-control window)
   * before its subscription is ended with RESOURCE_EXHAUSTED and counted as a disconnect; it
   * resumes by subscribing again with its framework id. 64 MiB by default: room for the largest
   * burst the master sends in one turn, the answer to an implicit reconciliation (about 500 B
   * a task), since what is written in one turn waits for HTTP/2 even for a framework that reads.
   */
  maxSubscriberBacklogBytes?: number;
}

export const DEFAULT_MAX_SUBSCRIBER_BACKLOG_BYTES = 64 * 1024 * 1024;

export interface GrpcHandle {
  port: number;
  /** Ends the subscriptions of principals that no longer have credentials (after a revoke). */
  revokeGone(): void;
  stop(): Promise<void>;
}

/** Who is calling, when the master checks: UNAUTHENTICATED before anything else is looked at. */
type Authenticate = (metadata: Metadata) => Principal | undefined;

function authenticator(credentials: GrpcOptions['credentials'], limits: PrincipalLimits): Authenticate {
  if (!credentials) return () => undefined;
  return (metadata) => {
    let principal: Principal;
    try {
      principal = callPrincipal(metadata, credentials());
    } catch (err) {
      if (err instanceof Unauthenticated) throw new AuthError(err.message);
      throw err;
    }
    const rate = limits.take(principal.name);
    if (!rate.ok) throw new LimitError(rate.why);
    return principal;
  };
}

/** A principal over its rate or its open subscriptions: RESOURCE_EXHAUSTED. */
class LimitError extends Error {}

class AuthError extends Error {}

/** A subscription an authenticated principal holds open, and how to end it. */
interface LiveStream {
  principal: string;
  cut(): void;
}

function toServiceError(err: unknown, log: Logger): Partial<ServiceError> {
  if (err instanceof AuthError) return { code: GrpcStatus.UNAUTHENTICATED, details: err.message };
  if (err instanceof LimitError) return { code: GrpcStatus.RESOURCE_EXHAUSTED, details: err.message };
  if (err instanceof CallError) return { code: GrpcStatus[err.code], details: err.message };
  log.error('scheduler call failed inside the master', { error: err instanceof Error ? err.message : String(err) });
  // A broken invariant is a bug: answer the caller, then fail loudly rather than limp on.
  if (err instanceof AssertionError) setImmediate(() => { throw err; });
  return { code: GrpcStatus.INTERNAL, details: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}

function request<T>(raw: unknown, ready: () => boolean): T {
  if (!ready()) throw new CallError('UNAVAILABLE', 'the master is starting');
  if (raw instanceof Malformed) throw new CallError('INVALID_ARGUMENT', raw.error.message);
  return raw as T;
}

const base = (r: { frameworkId?: string | null; streamId?: string | null }, principal: Principal | undefined): CallBase =>
  ({ frameworkId: r.frameworkId ?? '', streamId: r.streamId ?? '', ...(principal ? { principal } : {}) });

function operations(ops: readonly agora.v1.Operation.$Properties[] | null | undefined): Operation[] {
  return (ops ?? []).map((op, i) => {
    let decoded: ReturnType<typeof operationFromWire>;
    try {
      decoded = operationFromWire(op);
    } catch (err) {
      // Bytes that decode but do not make sense (a resource that is a scalar and a range at
      // once, a negative amount) are the caller's mistake, not the master's.
      if (err instanceof ResourceError) throw new CallError('INVALID_ARGUMENT', `operation ${i}: ${err.message}`);
      throw err;
    }
    if (decoded.type === 'UNKNOWN') throw new CallError('INVALID_ARGUMENT', `operation ${i} has unknown type ${decoded.raw}: only LAUNCH is supported`);
    return decoded;
  });
}

/** The unary handlers: decode the request into a call, run it, answer. */
function unaryHandlers(api: SchedulerApi, ready: () => boolean, log: Logger, authenticate: Authenticate): UntypedServiceImplementation {
  // A call that answers data; the others answer an empty CallResponse. One that waits for the
  // registry (Teardown) answers when it is stored, or refused.
  const query = <Req>(run: (req: Req, principal: Principal | undefined) => unknown) =>
    (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      let out: unknown;
      try {
        const principal = authenticate(call.metadata);
        out = run(request<Req>(call.request, ready), principal);
      } catch (err) {
        return callback(toServiceError(err, log));
      }
      if (out instanceof Promise) out.then((v: unknown) => callback(null, v), (err: unknown) => callback(toServiceError(err, log)));
      else callback(null, out);
    };
  const unary = <Req>(run: (req: Req, principal: Principal | undefined) => void | Promise<void>) =>
    query<Req>((req, principal) => {
      const done = run(req, principal);
      return done instanceof Promise ? done.then(() => ({})) : {};
    });
  return {
    Accept: unary<agora.v1.AcceptRequest.$Properties>((r, p) => api.accept({
      ...base(r, p), offerIds: r.offerIds ?? [], operations: operations(r.operations), filters: filtersFromWire(r.filters),
    })),
    Decline: unary<agora.v1.DeclineRequest.$Properties>((r, p) => api.decline({
      ...base(r, p), offerIds: r.offerIds ?? [], filters: filtersFromWire(r.filters), reason: r.reason ?? '',
    })),
    Revive: unary<agora.v1.ReviveRequest.$Properties>((r, p) => api.revive({ ...base(r, p), roles: r.roles ?? [] })),
    Suppress: unary<agora.v1.SuppressRequest.$Properties>((r, p) => api.suppress({ ...base(r, p), roles: r.roles ?? [] })),
    Kill: unary<agora.v1.KillRequest.$Properties>((r, p) => api.kill({
      ...base(r, p), taskId: r.taskId ?? '', agentId: r.agentId ?? '', killPolicy: killPolicyFromWire(r.killPolicy),
    })),
    Acknowledge: unary<agora.v1.AcknowledgeRequest.$Properties>((r, p) => api.acknowledge({
      ...base(r, p), agentId: r.agentId ?? '', taskId: r.taskId ?? '', uuid: r.uuid ?? '',
    })),
    Reconcile: unary<agora.v1.ReconcileRequest.$Properties>((r, p) => api.reconcile({
      ...base(r, p), tasks: (r.tasks ?? []).map((t) => ({ taskId: t.taskId ?? '', agentId: t.agentId ?? '' })),
    })),
    Message: unary<agora.v1.MessageRequest.$Properties>((r, p) => api.message({
      ...base(r, p), agentId: r.agentId ?? '', taskId: r.taskId ?? '', data: r.data ?? new Uint8Array(),
    })),
    Teardown: unary<agora.v1.TeardownRequest.$Properties>((r, p) => api.teardown(base(r, p))),
    UpdateFramework: unary<agora.v1.UpdateFrameworkRequest.$Properties>((r, p) => {
      if (!r.frameworkInfo) throw new CallError('INVALID_ARGUMENT', 'framework_info is missing');
      api.updateFramework({ ...base(r, p), frameworkInfo: frameworkInfoFromWire(r.frameworkInfo) });
    }),
    GetAgents: query<agora.v1.GetAgentsRequest.$Properties>((r, p) => clusterAgentsToWire(api.getAgents(base(r, p)))),
  };
}

const serializeEvent = schedulerService.Subscribe.responseSerialize;

/**
 * One subscription. The stream reports its own end (cancelled by the client, or broken) to
 * the core as a disconnect; the core ending it (failover, teardown, stop) is reported too,
 * and the core ignores that since the subscription is already gone.
 *
 * A framework that stops reading is cut once more than `maxBacklogBytes` of its events wait
 * in the master: an event's write is pending until HTTP/2 hands it on, which flow control
 * holds back while the framework's window is full. The cut sends nothing more, tells the
 * core at once (offers are rescinded, the failover timeout starts) and queues the status
 * RESOURCE_EXHAUSTED behind the unread events: a framework that reads again gets them, then
 * the status, and subscribes again with its id. What the master holds for it stays at the bound.
 */
function subscribeHandler(api: SchedulerApi, ready: () => boolean, log: Logger, authenticate: Authenticate,
  live: Map<FrameworkStream, LiveStream>, maxBacklogBytes: number, limits: PrincipalLimits) {
  return async (call: ServerWritableStream<unknown, Buffer>) => {
    let ended = false;
    let release = (): void => undefined;
    let unreadBytes = 0;
    let overBound = (): void => undefined;
    const stream: FrameworkStream = {
      send: (event) => {
        if (ended) return;
        const bytes = serializeEvent(eventToWire(event));
        unreadBytes += bytes.length;
        call.write(bytes, () => { unreadBytes -= bytes.length; });
        if (unreadBytes > maxBacklogBytes) overBound();
      },
      close: () => { if (!ended) { ended = true; call.end(); } },
    };
    try {
      const principal = authenticate(call.metadata);
      release = holdOpenStream(call, principal, limits);
      const req = request<agora.v1.SubscribeRequest.$Properties>(call.request, ready);
      if (!req.frameworkInfo) throw new CallError('INVALID_ARGUMENT', 'framework_info is missing');
      const info = await api.admitFramework(frameworkInfoFromWire(req.frameworkInfo), principal);
      const { frameworkId, streamId } = api.subscribe(info, stream, principal, true);
      const gone = () => {
        ended = true;
        live.delete(stream);
        api.disconnect(frameworkId, streamId);
      };
      if (principal) {
        live.set(stream, {
          principal: principal.name,
          cut: () => {
            if (ended) return;
            gone();
            call.emit('error', { code: GrpcStatus.UNAUTHENTICATED, details: `the credentials of principal '${principal.name}' were revoked` });
          },
        });
      }
      let cut = false;
      overBound = () => {
        ended = cut = true;
        cutForBacklog(call, log, { frameworkId, streamId, unreadBytes, maxBacklogBytes });
        // Not from inside `send`: the core is in the middle of the change that sent the event.
        setImmediate(gone);
      };
      call.once('cancelled', gone);
      call.once('close', gone);
      call.on('error', (err) => { if (!cut) log.warn('framework stream failed', { frameworkId, error: err.message }); });
      // Gone while its record was stored: subscribed and at once disconnected, as any stream that goes.
      if (call.cancelled) gone();
    } catch (err) {
      ended = true;
      release();
      call.emit('error', toServiceError(err, log));
    }
  };
}

/**
 * One of the principal's open streams, held until the call ends (the returned release, which
 * may be called again); a LimitError over its cap. Anonymous subscriptions hold nothing.
 */
function holdOpenStream(call: ServerWritableStream<unknown, Buffer>, principal: Principal | undefined, limits: PrincipalLimits): () => void {
  const held = principal ? limits.open(principal.name) : undefined;
  if (held && !held.ok) throw new LimitError(held.why);
  const release = held ? held.release : (): void => undefined;
  call.once('close', release);
  call.once('cancelled', release);
  return release;
}

/** Ends the stream of a framework that left more than the master keeps unread: RESOURCE_EXHAUSTED, saying how to resume. */
function cutForBacklog(call: ServerWritableStream<unknown, Buffer>, log: Logger,
  c: { frameworkId: string; streamId: string; unreadBytes: number; maxBacklogBytes: number }): void {
  const details = `the framework left ${c.unreadBytes} bytes of events unread, more than the master keeps ` +
    `(maxSubscriberBacklogBytes ${c.maxBacklogBytes}); subscribe again with framework id ${c.frameworkId} to resume`;
  log.warn('framework stream cut: its framework left too much unread', {
    frameworkId: c.frameworkId, streamId: c.streamId, unreadBytes: c.unreadBytes, maxSubscriberBacklogBytes: c.maxBacklogBytes,
  });
  // grpc-js's way to end a server stream with a status: it follows the events already written.
  call.emit('error', { code: GrpcStatus.RESOURCE_EXHAUSTED, details });
}

export function startGrpc(api: SchedulerApi, options: GrpcOptions): Promise<GrpcHandle> {
  const server = new Server();
  const limits = new PrincipalLimits(options.limits ?? DEFAULT_GRPC_LIMITS, options.now ?? Date.now);
  const authenticate = authenticator(options.credentials, limits);
  // Live subscriptions by principal, so a revoked credential's streams can be cut.
  const live = new Map<FrameworkStream, LiveStream>();
  const service = tolerantService();
  // subscribeHandler serializes each event itself, to count the bytes a framework leaves unread.
  service.Subscribe = { ...service.Subscribe as MethodDefinition<unknown, unknown>, responseSerialize: (bytes: unknown) => bytes as Buffer };
  const maxBacklogBytes = options.maxSubscriberBacklogBytes ?? DEFAULT_MAX_SUBSCRIBER_BACKLOG_BYTES;
  server.addService(service, {
    ...unaryHandlers(api, options.ready, options.log, authenticate),
    Subscribe: subscribeHandler(api, options.ready, options.log, authenticate, live, maxBacklogBytes, limits),
  });
  const revokeGone = (): void => {
    const creds = options.credentials?.();
    if (!creds) return;
    for (const [stream, { principal, cut }] of live) {
      if (creds.has(principal)) continue;
      options.log.warn('credentials revoked: ending a framework subscription', { principal });
      live.delete(stream);
      cut();
    }
  };
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, serverCredentials(options.tls), (err, port) => {
      if (err) return reject(new Error(`cannot serve gRPC on ${host}:${options.port}: ${err.message}`, { cause: err }));
      resolve({ port, revokeGone, stop: () => shutdown(server) });
    });
  });
}

/** Lets calls in flight finish, but not for long: streams never end on their own. */
function shutdown(server: Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
    server.tryShutdown(() => { clearTimeout(force); resolve(); });
  });
}
