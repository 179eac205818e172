/**
 * The jobs framework's HTTP API: Metronome's `/v1/jobs` (api-metronome.ts) and Chronos's
 * `/v1/scheduler/…` (api-chronos.ts), so that their clients work unchanged, plus /ping,
 * /v1/info, /metrics, the event stream and the UI under /ui/. One routing table for all of
 * it (api-router.ts): a path known under other methods is 405 with `Allow`, an unknown one 404.
 */
import type { EventFeed } from '../shared/event-stream';
import { ApiError, ping, type Reply, type Request } from '../shared/http';
import { chronosRoutes } from './api-chronos';
import type { SandboxReader } from '../shared/task-output';
import { metronomeRoutes } from './api-metronome';
import { dispatch, type Route } from './api-router';
import { metricsJson } from './api-views';
import type { JobsEvent, JobsFramework } from './framework';

export interface RouteDeps {
  framework: JobsFramework;
  /** The live subscription's sandbox reads (a run's output, through the master), or undefined while the master is away. */
  sandbox: () => SandboxReader | undefined;
  /** Whether the framework is subscribed to a master now. */
  connected: () => boolean;
  /** Whether its store takes writes now, and why not (always, in memory). */
  store?: () => { available: boolean; why?: string };
  info: () => Record<string, unknown>;
  /** Serves the web UI's files; undefined: not found. */
  ui?: (path: string) => Reply | undefined;
}

export function route(deps: RouteDeps): (req: Request) => Promise<Reply> | Reply {
  const metrics = (): Reply => ({ status: 200, body: metricsJson(deps.framework, deps.connected(), deps.store?.()) });
  const info = (): Reply => ({ status: 200, body: deps.info() });
  const routes: Route[] = [
    { path: /^\/ping$/, methods: { GET: ping } },
    // Metronome serves its info at /info and its metrics at /v1/metrics; both names answer.
    { path: /^\/(?:v1\/)?info$/, methods: { GET: info } },
    { path: /^\/(?:v1\/)?metrics$/, methods: { GET: metrics } },
    ...metronomeRoutes({ framework: deps.framework, sandbox: deps.sandbox }),
    ...chronosRoutes(deps.framework),
    { path: /^\/(?:ui)?$/, methods: { GET: () => ({ status: 302, headers: { location: '/ui/' } }) } },
    {
      path: /^\/ui\/(.*)$/,
      methods: {
        GET: (_, [file]) => deps.ui?.(file || 'index.html') ?? { status: 404, body: { message: `no such file: /ui/${file ?? ''}` } },
      },
    },
  ];
  return (req) => {
    const reply = dispatch(routes, req);
    if (reply === undefined) throw new ApiError(404, { message: `no route for ${req.method} ${req.url.pathname}` });
    return reply;
  };
}

/**
 * `/v1/events`: every stored change as a server-sent event — `event: job_updated |
 * job_deleted | run_updated`, `data:` the event as JSON.
 */
export function jobsEvents(framework: JobsFramework): EventFeed {
  return ({ send }) => framework.events.add((e: JobsEvent) => send(e.type, e));
}
