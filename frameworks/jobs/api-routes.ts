/**
 * The jobs framework's HTTP API: Chronos's `/v1/scheduler/…` and Metronome's `/v1/jobs`, so
 * that their clients work unchanged, plus /ping, /metrics and the UI under /ui/.
 */
import type { ServerResponse } from 'http';
import { openEventStream } from '../../common/sse';
import { ping, type Reply, type Request } from '../shared/http';
import type { JobsEvent, JobsFramework } from './framework';

export interface RouteDeps {
  framework: JobsFramework;
  /** Where the cluster's agents serve HTTP (sandbox files), as the master knows them. */
  agents: () => Promise<{ id: string; hostname: string; port: number }[]>;
  /** Whether the framework is subscribed to a master now. */
  connected: () => boolean;
  info: () => Record<string, unknown>;
  /** Serves the web UI's files; undefined: not found. */
  ui?: (path: string) => Reply | undefined;
}

export function route(deps: RouteDeps): (req: Request) => Promise<Reply> | Reply {
  return (req) => {
    const p = req.url.pathname;
    if (p === '/ping') return ping(req);
    if (p === '/v1/info') return { status: 200, body: deps.info() };
    if (p === '/' || p === '/ui') return { status: 302, headers: { location: '/ui/' } };
    if (p.startsWith('/ui/') && deps.ui) return deps.ui(p === '/ui/' ? 'index.html' : p.slice(4)) ?? { status: 404, body: { message: `no such file: ${p}` } };
    return { status: 404, body: { message: `no route for ${req.method} ${p}` } };
  };
}

/**
 * `/v1/events`: every stored change as a server-sent event — `event: job_updated |
 * job_deleted | run_updated`, `data:` the event as JSON. Subscribed in the same turn as the
 * headers are flushed: a client that sees the stream open and then sends a change gets its events.
 */
export function eventStream(framework: JobsFramework, res: ServerResponse, open: Set<ServerResponse>, keepAliveMs = 15_000): void {
  let unsubscribe = (): void => undefined;
  openEventStream(res, { keepAliveMs, streams: open, onClose: () => unsubscribe(), headers: { 'access-control-allow-origin': '*' } });
  unsubscribe = framework.events.add((e: JobsEvent) => { res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`); });
}
