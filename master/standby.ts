/**
 * A master that does not lead still answers, so that agents, frameworks and operators find the
 * leader without a configuration change, as Mesos's standby masters do:
 *   HTTP   GET /health  200 {"status":"ok","role":"standby","epoch","pid","leader","grpcPort"} — the
 *                       leader's HTTP address and the epoch it leads in, or null while none is
 *                       known; its own gRPC port, which a framework keeps to reconnect to;
 *          GET /metrics its own, not the leader's: `agora_master_elected 0` and the leader's
 *                       epoch, so a scrape of every replica tells which one leads
 *          anything else 307 to the same path on the leader (Mesos answers a standby's API the
 *                       same way), 503 with a JSON error (and `role: standby`) while no leader is known.
 *   gRPC   every call UNAVAILABLE: "this master is a standby; the leader is at host:port", with
 *          the leader's gRPC address in the trailing metadata `agora-leader`, which the SDK
 *          follows at once instead of trying its addresses in turn.
 * It takes no part in anything else: no NATS subjects, no registry, no offers.
 */
import { Metadata, Server, status as GrpcStatus, type MethodDefinition, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation, type sendUnaryData } from '@grpc/grpc-js';
import type { IncomingMessage, ServerResponse } from 'http';
import type { Logger } from '../common/log';
import { LEADER_METADATA_KEY, schedulerService } from '../common/scheduler-service';
import { serverCredentials } from '../common/security/grpc-auth';
import type { HttpDoor } from '../common/security/http-door';
import { json } from '../common/security/http-door-requests';
import { closeDoorServer, createDoorServer, schemeFor } from '../common/security/https';
import type { TlsFiles } from '../common/security/pki';
import { exposition, leadershipFamilies, METRICS_CONTENT_TYPE } from './metrics';

export { LEADER_METADATA_KEY } from '../common/scheduler-service';

/** Where the leader serves, as the lease names it. */
export interface LeaderAddresses {
  /** host:port of its operator HTTP API. */
  http: string;
  /** host:port of its gRPC scheduler API. */
  grpc: string;
  epoch: number;
  pid: number;
}

export interface StandbyOptions {
  /** Who leads now, or undefined while nobody is known to. */
  leader(): LeaderAddresses | undefined;
  host: string;
  httpPort: number;
  grpcPort: number;
  /** The HTTP door of a locked cluster (TLS and credentials); open HTTP without. */
  door?: HttpDoor;
  /** gRPC over TLS with these; plaintext without. */
  tls?: TlsFiles;
  log: Logger;
}

export interface StandbyHandle {
  httpPort: number;
  grpcPort: number;
  /** Closes both ports, so the same process can serve them as the leader. */
  stop(): Promise<void>;
}

export async function startStandby(o: StandbyOptions): Promise<StandbyHandle> {
  // The gRPC port as bound (port 0 picks one), once it is: /health reports it.
  let grpcPort = o.grpcPort;
  const answer = (req: IncomingMessage, res: ServerResponse, url: URL): void => answerHttp(o, grpcPort, req, res, url);
  const http = createDoorServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://standby');
    if (!o.door) return answer(req, res, url);
    o.door.admit(req, res, url).then((a) => { if (a.admitted) answer(req, res, url); })
      .catch((err: unknown) => { o.log.error('standby HTTP request failed', { error: String(err) }); if (!res.headersSent) json(res, 500, { error: 'internal error' }); });
  }, o.door?.tls);
  const httpPort = await new Promise<number>((resolve, reject) => {
    http.once('error', (err) => reject(new Error(`cannot serve HTTP on ${o.host}:${o.httpPort}: ${err.message}`, { cause: err })));
    http.listen(o.httpPort, o.host, () => {
      const a = http.address();
      resolve(typeof a === 'object' && a ? a.port : o.httpPort);
    });
  });
  const grpc = new Server();
  grpc.addService(schedulerService, grpcHandlers(o));
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  try {
    grpcPort = await new Promise<number>((resolve, reject) => {
      grpc.bindAsync(`${host}:${o.grpcPort}`, serverCredentials(o.tls), (err, port) => (err ? reject(new Error(`cannot serve gRPC on ${host}:${o.grpcPort}: ${err.message}`, { cause: err })) : resolve(port)));
    });
  } catch (err) {
    http.close();
    throw err;
  }
  return {
    httpPort, grpcPort,
    stop: async () => {
      grpc.forceShutdown();
      await closeDoorServer(http);
    },
  };
}

function answerHttp(o: StandbyOptions, grpcPort: number, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const leader = o.leader();
  if (url.pathname === '/health') {
    return json(res, 200, { status: 'ok', role: 'standby', pid: process.pid, epoch: leader?.epoch ?? null, leader: leader?.http ?? null, grpcPort });
  }
  if (url.pathname === '/metrics') {
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE });
    res.end(exposition(leadershipFamilies(false, leader?.epoch)));
    return;
  }
  // `role` tells a client with a list of masters that another one may know more.
  if (!leader) return json(res, 503, { error: 'this master is a standby and no leader is elected yet; try again in a few seconds', role: 'standby' });
  // 307, not 302: the method and body are kept, so a PUT or POST is repeated at the leader.
  json(res, 307, { error: `this master is a standby; the leader is at ${leader.http}` }, { location: `${schemeFor(o.door?.tls?.ca)}://${leader.http}${req.url ?? url.pathname}` });
}

/** Every scheduler call answered UNAVAILABLE, naming the leader. */
function grpcHandlers(o: StandbyOptions): UntypedServiceImplementation {
  const refusal = () => {
    const leader = o.leader();
    const metadata = new Metadata();
    if (leader) metadata.set(LEADER_METADATA_KEY, leader.grpc);
    const details = leader ? `this master is a standby; the leader is at ${leader.grpc}` : 'this master is a standby and no leader is elected yet; try again in a few seconds';
    return { code: GrpcStatus.UNAVAILABLE, details, metadata };
  };
  const handlers: UntypedServiceImplementation = {};
  for (const [name, def] of Object.entries(schedulerService) as [string, MethodDefinition<unknown, unknown>][]) {
    handlers[name] = def.responseStream
      ? (call: ServerWritableStream<unknown, unknown>) => { call.emit('error', refusal()); }
      : (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback(refusal());
  }
  return handlers;
}
