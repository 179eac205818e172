/**
 * A framework replica that does not lead still serves its port, so that clients, the CLI and
 * load balancers may talk to any replica (Marathon's non-leaders do the same):
 *
 *   every request passes this replica's own door first (the same credentials file as the
 *   leader's: the same users and secrets), then
 *   GET /v2/leader   answered here: 200 {"leader":"host:port"} of the replica that leads now, or
 *                    404 with a message while none is known;
 *   anything else    forwarded to the leader (proxy.ts) and its answer passed back;
 *                    503 with Retry-After while no leader is known, and 503 for a request
 *                    another replica already forwarded (the loop guard: no second hop).
 *
 * Every answer names the leader in `X-Agora-Leader` when one is known. A standby holds no
 * state, no store connection and no subscription to the master.
 */
import type { IncomingMessage, ServerResponse, Server } from 'http';
import type { Logger } from '../../common/log';
import type { HttpDoor } from '../../common/security/http-door';
import { json } from '../../common/security/http-door-requests';
import { closeDoorServer, createDoorServer } from '../../common/security/https';
import { LEADER_HEADER, PROXIED_BY_HEADER, proxyToLeader, RETRY_AFTER_S } from './proxy';

export interface StandbyOptions {
  /** The framework's name in messages: 'services', 'jobs'. */
  kind: string;
  /** host:port of the leader's HTTP, or undefined while none is known (or this replica is the one elected, not yet serving). */
  leader(): string | undefined;
  /** This replica's id: what forwarded requests say they come through. */
  self(): string;
  host: string;
  port: number;
  door?: HttpDoor;
  /** The cluster's CA when the leader speaks HTTPS. */
  ca?: Buffer;
  log: Logger;
}

export interface StandbyHttp {
  port: number;
  /** Closes the port (and every open connection), so this process may serve it as the leader. */
  stop(): Promise<void>;
}

export async function startStandbyHttp(o: StandbyOptions): Promise<StandbyHttp> {
  const server: Server = createDoorServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://standby');
    if (!o.door) return answer(o, req, res, url);
    o.door.admit(req, res, url).then((a) => { if (a.admitted) answer(o, req, res, url); })
      .catch((err: unknown) => {
        o.log.error('standby HTTP request failed', { error: String(err) });
        if (!res.headersSent) json(res, 500, { message: 'internal error' });
      });
  }, o.door?.tls);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve HTTP on ${o.host}:${o.port}: ${err.message}`, { cause: err })));
    server.listen(o.port, o.host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : o.port);
    });
  });
  return {
    port,
    stop: () => closeDoorServer(server),
  };
}

function answer(o: StandbyOptions, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const leader = o.leader();
  const named: Record<string, string> = leader ? { [LEADER_HEADER]: leader } : {};
  if (url.pathname === '/v2/leader' && (req.method === 'GET' || req.method === 'HEAD')) {
    if (!leader) return json(res, 404, { message: `no ${o.kind} replica leads at the moment (an election is under way); try again in a few seconds` });
    return json(res, 200, { leader }, named);
  }
  const via = req.headers[PROXIED_BY_HEADER];
  if (via !== undefined) {
    return json(res, 503, { message: `this ${o.kind} replica is a standby and was forwarded a request by ${String(via)}, which took it for the leader; not forwarding it again: try again` },
      { ...named, 'retry-after': RETRY_AFTER_S });
  }
  if (!leader) {
    return json(res, 503, { message: `this ${o.kind} replica is a standby and no leader is elected yet; try again in a few seconds` }, { 'retry-after': RETRY_AFTER_S });
  }
  proxyToLeader(req, res, { leader, self: o.self(), ...(o.ca ? { ca: o.ca } : {}), log: o.log });
}
