/**
 * The jobs APIs' routing table: each route a path pattern and one handler per method. A path
 * known under other methods is answered 405 with `Allow`, and only a path no route knows is a
 * 404 — decided here once, not again in every handler. Each dialect (Metronome, Chronos)
 * turns the framework's refusals (`JobsError`) into its own statuses and bodies, so one
 * refusal reads as its clients expect in either API.
 */
import { ApiError, type Reply, type Request } from '../shared/http';
import { JobsError } from './framework';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** `params` are the pattern's groups, URL-decoded. */
export type RouteHandler = (req: Request, params: string[]) => Promise<Reply> | Reply;

export interface Route {
  /** Anchored at both ends; its groups are the path's parameters. */
  path: RegExp;
  methods: Partial<Record<Method, RouteHandler>>;
}

/** The answer of the first route whose path matches; undefined when none does. */
export function dispatch(routes: readonly Route[], req: Request): Promise<Reply> | Reply | undefined {
  const p = req.url.pathname;
  for (const r of routes) {
    const m = r.path.exec(p);
    if (!m) continue;
    const handler = r.methods[req.method as Method];
    if (!handler) {
      const allow = Object.keys(r.methods).join(', ');
      return { status: 405, headers: { Allow: allow }, body: { message: `${p} answers ${allow}, not ${req.method}` } };
    }
    return handler(req, m.slice(1).map((s) => decodeSegment(s ?? '')));
  }
  return undefined;
}

/** Every handler of `routes` with the framework's refusals put in the dialect's words. */
export function refusalsAs(routes: readonly Route[], translate: (e: JobsError) => ApiError): Route[] {
  const wrap = (h: RouteHandler): RouteHandler => async (req, params) => {
    try {
      return await h(req, params);
    } catch (err) {
      throw err instanceof JobsError ? translate(err) : err;
    }
  };
  return routes.map((r) => ({
    path: r.path,
    methods: Object.fromEntries(Object.entries(r.methods).map(([m, h]) => [m, wrap(h)])),
  }));
}

/** A path segment unescaped; a broken escape is the client's mistake (400), not ours. */
function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, { message: `'${raw}' is not a valid URL path segment (a broken % escape)` });
  }
}

/** A boolean query parameter: absent → `dflt`; `true` or empty → true; `false` → false; else 400. */
export function flag(url: URL, name: string, dflt = false): boolean {
  const v = url.searchParams.get(name);
  if (v === null) return dflt;
  if (v === '' || v === 'true') return true;
  if (v === 'false') return false;
  throw new ApiError(400, { message: `${name} must be true or false, got '${v}'` });
}

/** A whole-number query parameter of at least `min`: absent → `dflt`; else 400 naming it. */
export function intParam(url: URL, name: string, dflt: number, min = 0): number {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new ApiError(400, { message: `${name} must be a whole number of at least ${min}, got '${v}'` });
  return n;
}
