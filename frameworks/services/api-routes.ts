/**
 * Marathon's v2 REST API over the services framework (REFERENCE.md, Frameworks 2), so that
 * Marathon clients work unchanged; plus, beyond Marathon, why waiting apps' offers were
 * declined (`/v2/queue` `lastUnusedOffers`, always) and each app's live endpoints
 * (`/v1/discovery`). Routes map a request to the framework's commands and views; the
 * answers' shapes are in views.ts.
 */
import { resolveAppId } from './app';
import { appIdOfTask } from './launch';
import { notSubscribed, readSandboxFile, type SandboxReader } from '../shared/task-output';
import { ApiError, appNotFound, type Commands } from './commands';
import type { ServicesFramework } from './framework';
import type { EventFeed } from '../shared/event-stream';
import { ping, type Reply, type Request } from '../shared/http';
import type { MarathonEvent } from './events';
import { instancesOf, type Deployment, type InstanceRecord } from './model';
import { appDefinition, appJson, deploymentJson, embedsOf, servicePorts, taskJson } from './views';
import { groupTree, queueJson, discovery, metricsJson, metricsText } from './api-views';

export interface RouteDeps {
  framework: ServicesFramework;
  commands: Commands;
  /** This server's address as clients reach it (`host:port`), Marathon's leader. */
  self: () => string;
  info: () => Record<string, unknown>;
  /** The live master connection's sandbox reads (a task's output); undefined while not subscribed. */
  sandbox: () => SandboxReader | undefined;
  /** Whether the framework is subscribed to a master now. */
  connected: () => boolean;
  /** Whether its store takes writes now (always, in memory). */
  storeAvailable?: () => boolean;
  /** Serves the web UI's files; undefined: not found. */
  ui?: (path: string) => Reply | undefined;
}

/**
 * A boolean query parameter as Marathon reads one (Java's `Boolean.valueOf`): `true` in any
 * case is true, anything else (`false`, `1`, `yes`, an empty value) false; absent, Marathon's
 * default for that parameter.
 */
export const flag = (url: URL, name: string, dflt = false): boolean => {
  const v = url.searchParams.get(name);
  return v === null ? dflt : v.toLowerCase() === 'true';
};

const deployed = (d: Deployment, status = 200): Reply => ({
  status, body: { version: d.version, deploymentId: d.id }, headers: { 'Marathon-Deployment-Id': d.id },
});

/** A path segment unescaped; a broken escape is the client's mistake (400), not ours. */
function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, { message: `'${raw}' is not a valid URL path (a broken % escape)` });
  }
}

function appIdFrom(raw: string): string {
  const id = resolveAppId(decode(raw));
  if (!id) throw new ApiError(400, { message: `'${raw}' is not a valid app id` });
  return id;
}

/** What `/v2/events` streams: the framework's event bus. */
export interface MarathonEventSource {
  subscribe(listener: (e: MarathonEvent) => void): () => void;
  emit(eventType: string, body: Record<string, unknown>): void;
}

/**
 * `/v2/events`: each event as `event: <type>` and `data: <json>`, filtered by `?event_type=`
 * (repeatable); a client's coming and going are events too, as in Marathon.
 */
export function marathonFeed(events: MarathonEventSource): EventFeed {
  return ({ url, remoteAddress, send }) => {
    const only = new Set(url.searchParams.getAll('event_type'));
    const unsubscribe = events.subscribe((e) => { if (only.size === 0 || only.has(e.eventType)) send(e.eventType, e); });
    events.emit('event_stream_attached', { remoteAddress });
    return () => {
      unsubscribe();
      events.emit('event_stream_detached', { remoteAddress });
    };
  };
}

const APP_SUB = /^\/v2\/apps(\/.+?)(?:\/(restart|tasks|versions)(?:\/([^/]+))?)?\/?$/;

/**
 * One resource's endpoints: the answer when the path is one of theirs, undefined when it is
 * not. A path that is theirs under another method is theirs to refuse (405) or to pass on.
 */
type Endpoints = (deps: RouteDeps, req: Request) => Promise<Reply | undefined> | Reply | undefined;

/** Tried in this order; the first answer wins, and a path none of them answers is 404. */
const ENDPOINTS: readonly Endpoints[] = [basics, apps, groups, deployments, tasks, queue, beyondMarathon];

export function route(deps: RouteDeps): (req: Request) => Promise<Reply> | Reply {
  return async (req) => {
    for (const endpoints of ENDPOINTS) {
      const reply = await endpoints(deps, req);
      if (reply !== undefined) return reply;
    }
    throw new ApiError(404, { message: `no such endpoint: ${req.method} ${req.url.pathname}` });
  };
}

/** /ping, the metrics (JSON and Prometheus text), /v2/info and /v2/leader: any method. */
function basics(deps: RouteDeps, req: Request): Reply | undefined {
  const f = deps.framework;
  const links = () => ({ connected: deps.connected(), storeAvailable: deps.storeAvailable?.() ?? true });
  switch (req.url.pathname) {
    case '/ping': return ping(req);
    case '/metrics': return { status: 200, body: metricsJson(f, links()) };
    case '/metrics/prometheus': return { status: 200, text: { contentType: 'text/plain; version=0.0.4; charset=utf-8', data: metricsText(f, links()) } };
    case '/v2/info': return { status: 200, body: deps.info() };
    case '/v2/leader': return { status: 200, body: { leader: deps.self() } };
    default: return undefined;
  }
}

/** /v2/apps: the list and its bulk changes, Marathon's group wildcard, and one app with its restart, tasks and versions. */
async function apps(deps: RouteDeps, req: Request): Promise<Reply | undefined> {
  const f = deps.framework;
  const p = req.url.pathname;
  if (p === '/v2/apps' || p === '/v2/apps/') return appList(deps, req);
  // /v2/apps/{group}/*: the group's apps; …/*/tasks their tasks (Marathon's wildcard). Before
  // APP_SUB, which would take it for an app; a wildcard under another method than GET does go there.
  const wild = /^\/v2\/apps((?:\/[^/*]+)*)\/\*(\/tasks)?$/.exec(p);
  if (wild && req.method === 'GET') {
    const group = wild[1] ? appIdFrom(wild[1]) : '/';
    if (!wild[2]) return { status: 200, body: { '*': listApps(f, req.url, group) } };
    const prefix = group === '/' ? '/' : `${group}/`;
    return tasksReply(f, [...f.state.instances.values()].filter((i) => i.appId.startsWith(prefix)), req);
  }
  const m = APP_SUB.exec(p);
  if (m) return oneApp(deps, req, appIdFrom(m[1] as string), m[2], m[3] !== undefined ? decode(m[3]) : undefined);
  return undefined;
}

/** `/v2/apps` itself: list (GET), create one (POST), change several (PUT may create, PATCH only changes). */
async function appList(deps: RouteDeps, req: Request): Promise<Reply> {
  const { framework: f, commands: c } = deps;
  const { method, url } = req;
  const force = flag(url, 'force');
  if (method === 'GET') return { status: 200, body: { apps: listApps(f, url) } };
  if (method === 'POST') {
    const { app, deployment } = await c.createApp(req.body, force, req.remoteAddress);
    const rec = f.state.apps.get(app.id);
    return {
      status: 201, body: rec ? appJson(f.state, rec, new Set(), f.role) : appDefinition(app),
      headers: { Location: `/v2/apps${app.id}`, 'Marathon-Deployment-Id': deployment.id },
    };
  }
  if (method === 'PUT' || method === 'PATCH') {
    // PATCH changes apps that exist; PUT may create them (Marathon's allowCreation).
    return deployed(await c.putApps(req.body, { force, partial: method === 'PATCH' || flag(url, 'partialUpdate', true), create: method === 'PUT' }));
  }
  return notAllowed(method, url.pathname);
}

/** /v2/groups[/{id}]: the group tree (GET), create (POST), replace (PUT) or update (PATCH) a group, or delete one. */
async function groups(deps: RouteDeps, req: Request): Promise<Reply | undefined> {
  const { framework: f, commands: c } = deps;
  const { method, url } = req;
  const p = url.pathname;
  if (p !== '/v2/groups' && !p.startsWith('/v2/groups/')) return undefined;
  const force = flag(url, 'force');
  const id = p === '/v2/groups' || p === '/v2/groups/' ? '/' : resolveAppId(decode(p.slice('/v2/groups'.length))) ?? '/';
  if (method === 'GET') {
    const tree = groupTree(f, id);
    if (!tree) throw new ApiError(404, { message: `Group '${id}' does not exist` });
    return { status: 200, body: tree };
  }
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    const mode = method === 'POST' ? 'create' : method === 'PUT' ? 'replace' : 'update';
    const dryRun = flag(url, 'dryRun');
    const { groupId, deployment } = await c.putGroup(id, req.body, { force, mode, dryRun });
    if (dryRun) return { status: 200, body: { steps: [{ actions: deployment.actions }] } };   // planned, not deployed
    const reply = deployed(deployment, method === 'POST' ? 201 : 200);
    return method === 'POST' ? { ...reply, headers: { ...reply.headers, Location: `/v2/groups${groupId}` } } : reply;
  }
  if (method === 'DELETE') return deployed(await c.deleteGroup(id, force));
  return notAllowed(method, p);
}

/** GET /v2/deployments, and DELETE /v2/deployments/{id}: roll a deployment back, or with `force` only cancel it. */
async function deployments(deps: RouteDeps, req: Request): Promise<Reply | undefined> {
  const { framework: f, commands: c } = deps;
  const p = req.url.pathname;
  if (p === '/v2/deployments' && req.method === 'GET') return { status: 200, body: [...f.state.deployments.values()].map(deploymentJson) };
  if (p.startsWith('/v2/deployments/') && req.method === 'DELETE') {
    const d = await c.deleteDeployment(decode(p.slice('/v2/deployments/'.length)), flag(req.url, 'force'));
    return d ? deployed(d) : { status: 202 };   // cancelled: nothing new to follow
  }
  return undefined;
}

/** GET /v2/tasks (every app's), and POST /v2/tasks/delete to kill tasks by id. */
async function tasks(deps: RouteDeps, req: Request): Promise<Reply | undefined> {
  const { framework: f, commands: c } = deps;
  const { method, url } = req;
  const p = url.pathname;
  if (p === '/v2/tasks' && method === 'GET') return tasksReply(f, [...f.state.instances.values()].filter((i) => f.state.apps.has(i.appId)), req);
  if (p !== '/v2/tasks/delete' || method !== 'POST') return undefined;
  const ids = (req.body as { ids?: unknown } | undefined)?.ids;
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) {
    throw new ApiError(422, { message: 'Object is not valid', details: [{ path: '/ids', errors: ['expected a list of task ids'] }] });
  }
  const malformed = (ids as string[]).filter((x) => appIdOfTask(x) === undefined);
  if (malformed.length > 0) throw new ApiError(400, { message: `not task ids: ${malformed.join(', ')}` });
  // A well-formed id of no task is skipped, as Marathon does: it may have ended meanwhile.
  const known = (ids as string[]).filter((x) => f.state.instances.has(x));
  const { killed, deployment } = await c.killTasks(known, { scale: flag(url, 'scale'), force: flag(url, 'force') });
  return deployment ? deployed(deployment) : { status: 200, body: { tasks: killed.map((i) => taskJson(i, f.state.apps.get(i.appId)?.app, f.role, f.state.health.get(i.taskId))) } };
}

/** GET /v2/queue (with why waiting apps' offers were declined), and DELETE /v2/queue/{app}/delay to end an app's launch delay. */
async function queue(deps: RouteDeps, req: Request): Promise<Reply | undefined> {
  const p = req.url.pathname;
  if (p === '/v2/queue' && req.method === 'GET') return { status: 200, body: queueJson(deps.framework, new Set(req.url.searchParams.getAll('embed'))) };
  const delay = /^\/v2\/queue(\/.+)\/delay$/.exec(p);
  if (delay && req.method === 'DELETE') {
    await deps.commands.resetDelay(appIdFrom(delay[1] as string));
    return { status: 204 };
  }
  return undefined;
}

const TASK_OUTPUT = /^\/v1\/tasks\/([^/]+)\/(stdout|stderr)$/;

/**
 * `GET /v1/tasks/{taskId}/stdout|stderr`: one of our tasks' output as it is now (its last
 * 8 MiB), read through the master's relay on our own subscription — the one route to a task's
 * output — for the UI's log links. `X-Skipped-Bytes` counts what came before, left out.
 */
async function taskOutput(deps: RouteDeps, taskId: string, file: 'stdout' | 'stderr'): Promise<Reply> {
  const i = deps.framework.state.instances.get(taskId);
  if (!i) throw new ApiError(404, { message: `Task '${taskId}' does not exist` });
  const reader = deps.sandbox();
  if (!reader) throw notSubscribed();
  const { text, skippedBytes } = await readSandboxFile(reader, { taskId, agentId: i.agentId, file });
  return { status: 200, text: { contentType: 'text/plain; charset=utf-8', data: text }, headers: { 'X-Skipped-Bytes': String(skippedBytes) } };
}
/**
 * Beyond Marathon: /v1/tasks/{id}/stdout|stderr (a task's output, for the UI's links),
 * /v1/discovery[/{app}] (live endpoints), and the web UI under /ui/.
 */
async function beyondMarathon(deps: RouteDeps, req: Request): Promise<Reply | undefined> {
  const p = req.url.pathname;
  const output = TASK_OUTPUT.exec(p);
  if (output && req.method === 'GET') return taskOutput(deps, decode(output[1]!), output[2] as 'stdout' | 'stderr');
  if (p === '/v1/discovery' || p.startsWith('/v1/discovery/')) {
    const id = p.length > '/v1/discovery'.length ? appIdFrom(p.slice('/v1/discovery'.length)) : undefined;
    const body = discovery(deps.framework, id);
    if (id && !body) throw appNotFound(id);
    return { status: 200, body };
  }
  if (p === '/' || p === '/ui') return { status: 302, headers: { Location: '/ui/' } };
  if (p.startsWith('/ui/') && req.method === 'GET') return deps.ui?.(p.slice('/ui/'.length) || 'index.html');
  return undefined;
}

function notAllowed(method: string, path: string): Reply {
  return { status: 405, body: { message: `${path} does not answer ${method}` } };
}

/** GET /v2/apps with Marathon's filters: `id` and `cmd` (substrings) and `label` (k, k==v, k!=v). */
function listApps(f: ServicesFramework, url: URL, under?: string): Record<string, unknown>[] {
  const id = url.searchParams.get('id')?.toLowerCase();
  const cmd = url.searchParams.get('cmd')?.toLowerCase();
  const label = url.searchParams.get('label');
  const embed = embedsOf(url.searchParams);
  return [...f.state.apps.values()]
    .filter((r) => (under ? r.app.id.startsWith(under === '/' ? '/' : `${under}/`) : true))
    .filter((r) => (id ? r.app.id.toLowerCase().includes(id) : true))
    .filter((r) => (cmd ? (r.app.cmd ?? '').toLowerCase().includes(cmd) : true))
    .filter((r) => (label ? labelMatches(r.app.labels, label) : true))
    .sort((a, b) => a.app.id.localeCompare(b.app.id))
    .map((r) => appJson(f.state, r, embed, f.role, f.now()));
}

/** Marathon's label selector: `k`, `k==v`, `k!=v`, `k in (a, b)`, `k notin (a, b)`, joined by commas. */
function labelMatches(labels: Record<string, string>, selector: string): boolean {
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((term) => {
    const set = /^\s*(\S+)\s+(in|notin)\s*\(([^)]*)\)\s*$/.exec(term);
    if (set) {
      const values = (set[3] as string).split(',').map((v) => v.trim());
      const value = labels[set[1] as string];
      return set[2] === 'in' ? value !== undefined && values.includes(value) : value === undefined || !values.includes(value);
    }
    const ne = /^\s*([^!=\s]+)\s*!=\s*(.*?)\s*$/.exec(term);
    if (ne) return labels[ne[1] as string] !== ne[2];
    const eq = /^\s*([^!=\s]+)\s*==?\s*(.*?)\s*$/.exec(term);
    if (eq) return labels[eq[1] as string] === eq[2];
    return term.trim() in labels;
  });
}

/** One app (`/v2/apps/{id}`): read, change or delete it, restart it, its tasks (list or kill), its stored versions. */
async function oneApp(deps: RouteDeps, req: Request, id: string, sub: string | undefined, arg: string | undefined): Promise<Reply> {
  const { framework: f, commands: c } = deps;
  const { method, url } = req;
  const force = flag(url, 'force');
  const rec = f.state.apps.get(id);
  if (sub === undefined) {
    if (method === 'GET') {
      if (!rec) throw appNotFound(id);
      return { status: 200, body: { app: appJson(f.state, rec, new Set([...embedsOf(url.searchParams), 'tasks', 'lastTaskFailure']), f.role, f.now()) } };
    }
    if (method === 'PUT' || method === 'PATCH') {
      const { created, deployment } = await c.putApp(id, req.body, {
        force, partial: method === 'PATCH' || flag(url, 'partialUpdate', true), create: method === 'PUT', clientIp: req.remoteAddress,
      });
      return deployed(deployment, created ? 201 : 200);
    }
    if (method === 'DELETE') return deployed(await c.deleteApp(id, flag(url, 'force', true)));
    return notAllowed(method, url.pathname);
  }
  if (sub === 'restart' && method === 'POST') return deployed(await c.restartApp(id, force));
  if (sub === 'tasks') {
    if (!rec && instancesOf(f.state, id).length === 0) throw appNotFound(id);
    if (method === 'GET') return tasksReply(f, instancesOf(f.state, id), req);
    if (method === 'DELETE') {
      const host = url.searchParams.get('host');
      const everywhere = !host || host === '*';
      const ids = arg !== undefined ? [arg] : instancesOf(f.state, id).filter((i) => everywhere || i.hostname === host).map((i) => i.taskId);
      const { killed, deployment } = await c.killTasks(ids, { scale: flag(url, 'scale'), force, appId: id });
      if (deployment) return deployed(deployment);
      const tasks = killed.map((i) => taskJson(i, rec?.app, f.role, f.state.health.get(i.taskId)));
      return { status: 200, body: arg !== undefined ? { task: tasks[0] } : { tasks } };
    }
  }
  if (sub === 'versions' && method === 'GET') {
    if (!rec) throw appNotFound(id);
    if (arg === undefined) return { status: 200, body: { versions: (await f.store.versions(id)).reverse() } };
    const app = await f.store.version(id, arg);
    if (!app) throw new ApiError(404, { message: `App '${id}' does not exist in version ${arg}` });
    return { status: 200, body: { ...appDefinition(app), version: arg } };
  }
  return notAllowed(method, url.pathname);
}

/** Tasks as JSON, or with `Accept: text/plain` Marathon's discovery lines: `app port host:port …`. */
function tasksReply(f: ServicesFramework, instances: InstanceRecord[], req: Request): Reply {
  const wanted = new Set([...req.url.searchParams.getAll('status'), ...req.url.searchParams.getAll('status[]')]);
  const staging = (i: InstanceRecord) => i.state === 'STAGING' || i.state === 'STARTING';
  const chosen = wanted.size === 0 ? instances
    : instances.filter((i) => (wanted.has('running') && i.state === 'RUNNING') || (wanted.has('staging') && staging(i)));
  if (prefersText(req.headers.accept)) {
    const byApp = new Map<string, InstanceRecord[]>();
    for (const i of chosen) byApp.set(i.appId, [...(byApp.get(i.appId) ?? []), i]);
    const lines: string[] = [];
    for (const [appId, list] of byApp) {
      const ports = Math.max(0, ...list.map((i) => i.hostPorts.length));
      const service = servicePortsOfApp(f, appId);
      for (let k = 0; k < ports; k++) {
        lines.push([appId.slice(1).replace(/\//g, '_'), String(service[k] ?? 0), ...list.filter((i) => i.hostPorts[k] !== undefined).map((i) => `${i.hostname}:${i.hostPorts[k]}`)].join('\t'));
      }
    }
    return { status: 200, text: { contentType: 'text/plain; charset=utf-8', data: lines.map((l) => `${l}\n`).join('') } };
  }
  return { status: 200, body: { tasks: chosen.map((i) => taskJson(i, f.state.apps.get(i.appId)?.app, f.role, f.state.health.get(i.taskId))) } };
}

/** Text only when the client names text/plain first: browsers and axios list it after JSON. */
function prefersText(accept: string | undefined): boolean {
  const first = (accept ?? '').split(',')[0]?.split(';')[0]?.trim();
  return first === 'text/plain';
}

function servicePortsOfApp(f: ServicesFramework, appId: string): number[] {
  const app = f.state.apps.get(appId)?.app;
  return app ? servicePorts(app) : [];
}
