/**
 * A standby's request forwarded to the leader, as Marathon's non-leaders do: same method, path,
 * headers (the caller's credentials included: the leader's door checks them again) and body,
 * streamed both ways, so an event stream (SSE) follows through too. The leader's answer comes
 * back as it is, with `X-Agora-Leader` naming who answered.
 *
 * Loop guard: the forwarded request carries `X-Agora-Proxied-By: <this replica>`. A replica that
 * receives one while it does not lead (two standbys each believing the other leads, for the
 * moment a lease changes hands) answers 503 instead of forwarding it again (standby.ts).
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'http';
import { request as httpsRequest } from 'https';
import type { Logger } from '../../common/log';
import { json } from '../../common/security/http-door-requests';

export const PROXIED_BY_HEADER = 'x-agora-proxied-by';
export const LEADER_HEADER = 'x-agora-leader';
/** Seconds a caller told "no leader now" should wait: about one lease. */
export const RETRY_AFTER_S = '3';

export interface ProxyTarget {
  /** host:port of the leader's HTTP. */
  leader: string;
  /** Who forwards: this replica's id, for the loop guard and the leader's logs. */
  self: string;
  /** The cluster's CA: the leader speaks HTTPS (a locked cluster); absent, plain HTTP. */
  ca?: Buffer;
  log: Logger;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) stay on their own hop. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function forwarded(headers: IncomingMessage['headers'], t: ProxyTarget): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  out.host = t.leader;
  out[PROXIED_BY_HEADER] = t.self;
  return out;
}

/** Forwards `req` to the leader and streams its answer into `res`; an unreachable leader is a 503 with Retry-After. */
export function proxyToLeader(req: IncomingMessage, res: ServerResponse, t: ProxyTarget): void {
  const url = `${t.ca ? 'https' : 'http'}://${t.leader}${req.url ?? '/'}`;
  const options = { method: req.method ?? 'GET', headers: forwarded(req.headers, t), ...(t.ca ? { ca: t.ca } : {}) };
  const send = t.ca ? httpsRequest : httpRequest;
  const upstream = send(url, options, (answer) => {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    res.writeHead(answer.statusCode ?? 502, { ...headers, [LEADER_HEADER]: t.leader });
    answer.pipe(res);
  });
  upstream.on('error', (err) => {
    t.log.warn('the leader did not answer a forwarded request', { leader: t.leader, path: req.url, error: err.message });
    if (!res.headersSent) {
      json(res, 503, { message: `this replica is a standby and the leader at ${t.leader} did not answer (${err.message}); try again` },
        { 'retry-after': RETRY_AFTER_S, [LEADER_HEADER]: t.leader });
    } else res.destroy();
  });
  // A caller gone before the end (an event stream closed) ends the leg to the leader too; a
  // finished one leaves it alone, its socket may already serve another request.
  res.on('close', () => { if (!res.writableFinished) upstream.destroy(); });
  req.pipe(upstream);
}
