// What the views show, computed from the API's JSON alone: an app's status and health, a
// task's health and log link, the create form ⇄ app JSON, and an app's route. Pure: no DOM, no fetch.
import { formNumber } from '/ui/shared/editor.js';

/** The hash route for an app's page; ids are paths such as /group/app. */
export const appHref = (id) => `#/app${id}`;

/**
 * Marathon's app status, first match wins:
 *   Delayed    in the launch queue with a backoff still running
 *   Deploying  a deployment holds the app
 *   Suspended  scaled to 0 and nothing runs
 *   Waiting    in the launch queue without a deployment (a replacement waiting for offers)
 *   Running    otherwise
 */
export function appStatus(app, queued) {
  if (queued && queued.delay && !queued.delay.overdue && queued.delay.timeLeftSeconds > 0) {
    return { label: 'Delayed', detail: `next launch in ${queued.delay.timeLeftSeconds} s (backoff after failures)` };
  }
  if ((app.deployments ?? []).length > 0) {
    const why = queued ? latestReason(queued) : undefined;
    return { label: 'Deploying', detail: why ? `waiting for offers: ${why}` : `deployment ${app.deployments[0].id}` };
  }
  if (app.instances === 0 && (app.tasksRunning ?? 0) === 0) return { label: 'Suspended', detail: 'scaled to 0 instances' };
  if (queued) return { label: 'Waiting', detail: latestReason(queued) ?? `waiting for offers for ${queued.count} instance(s)` };
  return { label: 'Running', detail: `${app.tasksRunning} of ${app.instances} running` };
}

function latestReason(queued) {
  const last = (queued.lastUnusedOffers ?? []).at(-1);
  return last ? declined(last).words : undefined;
}

/**
 * An unused offer of `/v2/queue?embed=lastUnusedOffers` (Marathon's UnusedOffer): where it
 * came from, and why it did not fit — `reason` is [Marathon's name for it, the words].
 */
export function declined(u) {
  const [kind, words] = u.reason ?? ['', ''];
  return { offerId: u.offer?.id, hostname: u.offer?.hostname ?? u.offer?.agentId ?? '', kind, words, at: u.timestamp };
}

/**
 * The health column: counts and the bar's segments (healthy, unhealthy, running without a
 * verdict yet, staging), out of the larger of the wanted and the present instances.
 */
export function appHealth(app) {
  const running = app.tasksRunning ?? 0;
  const staged = app.tasksStaged ?? 0;
  const healthy = app.tasksHealthy ?? 0;
  const unhealthy = app.tasksUnhealthy ?? 0;
  const checked = (app.healthChecks ?? []).length > 0;
  const total = Math.max(app.instances, running + staged, 1);
  const segments = checked
    ? { healthy, unhealthy, unknown: Math.max(0, running - healthy - unhealthy), staged }
    : { healthy: 0, unhealthy: 0, unknown: running, staged };
  const text = checked
    ? `${healthy}/${app.instances} healthy${unhealthy > 0 ? `, ${unhealthy} unhealthy` : ''}`
    : 'no health checks';
  return { checked, text, total, segments };
}

/** 'healthy' | 'unhealthy' | 'unknown' (checked, no verdict yet) | 'none' (no checks). */
export function taskHealth(task, app) {
  const result = (task.healthCheckResults ?? [])[0];
  if (result) return result.alive ? 'healthy' : 'unhealthy';
  return (app.healthChecks ?? []).length > 0 ? 'unknown' : 'none';
}

/** `host:port, host:port`, or the host alone for a task without ports. */
export function endpoints(task) {
  const ports = task.ports ?? [];
  return ports.length > 0 ? ports.map((p) => `${task.host}:${p}`).join(', ') : task.host;
}

/**
 * A task's stdout as this framework serves it (`/v1/tasks/{id}/stdout`: text/plain, read
 * through the master's relay — the page never reaches agents or the master itself).
 */
export function stdoutHref(task) {
  return `/v1/tasks/${encodeURIComponent(task.id)}/stdout`;
}

// ------------------------------------------------------------------ the create form

/** The form's fields, in order; each names the JSON it writes. */
export const FIELDS = ['id', 'cmd', 'image', 'instances', 'cpus', 'mem', 'port', 'hcPath', 'hcInterval', 'hcDelay', 'hcGrace'];


/**
 * Form values (strings) → app JSON. `base` is what the JSON editor held: fields the form does
 * not show (env, labels, constraints…) pass through unchanged.
 */
export function formToApp(v, base = {}) {
  const app = structuredClone(base);
  const set = (key, value) => { if (value === undefined || value === '') delete app[key]; else app[key] = value; };
  set('id', v.id.trim());
  set('cmd', v.cmd.trim() ? v.cmd : undefined);
  set('instances', formNumber(v.instances));
  set('cpus', formNumber(v.cpus));
  set('mem', formNumber(v.mem));
  const port = formNumber(v.port);
  const image = v.image.trim();
  if (image) {
    // A port with an image is the container's: bridged, published on a host port from the offer.
    app.container = {
      ...(app.container ?? {}), type: 'DOCKER', docker: { ...(app.container?.docker ?? {}), image },
      portMappings: port !== undefined ? [{ containerPort: port, hostPort: 0 }] : [],
    };
    if (port !== undefined) app.networks = [{ mode: 'container/bridge' }];
    else delete app.networks;
    delete app.portDefinitions;
  } else {
    delete app.container;
    delete app.networks;
    set('portDefinitions', port !== undefined ? [{ port }] : undefined);
  }
  const path = v.hcPath.trim();
  if (path) {
    const check = { protocol: 'MESOS_HTTP', path, portIndex: 0 };
    for (const [field, key] of [['hcInterval', 'intervalSeconds'], ['hcDelay', 'delaySeconds'], ['hcGrace', 'gracePeriodSeconds']]) {
      const n = formNumber(v[field]);
      if (n !== undefined) check[key] = n;
    }
    const others = (app.healthChecks ?? []).slice(1);
    app.healthChecks = [{ ...((app.healthChecks ?? [])[0] ?? {}), ...check }, ...others];
  } else {
    delete app.healthChecks;
  }
  return app;
}

/** App JSON → form values: what the form can show of it (the rest stays in the editor's base). */
export function appToForm(app) {
  const str = (x) => (x === undefined || x === null ? '' : String(x));
  const hc = (app.healthChecks ?? [])[0];
  const http = hc && hc.protocol === 'MESOS_HTTP' ? hc : undefined;
  return {
    id: str(app.id), cmd: str(app.cmd), image: str(app.container?.docker?.image),
    instances: str(app.instances), cpus: str(app.cpus), mem: str(app.mem),
    port: str(app.container?.portMappings?.[0]?.containerPort ?? app.portDefinitions?.[0]?.port),
    hcPath: str(http?.path), hcInterval: str(http?.intervalSeconds), hcDelay: str(http?.delaySeconds), hcGrace: str(http?.gracePeriodSeconds),
  };
}

const FIELD_OF_PATH = [
  [/^\/id$/, 'id'],
  [/^\/(cmd|args)\b/, 'cmd'],
  [/^\/instances$/, 'instances'],
  [/^\/cpus$/, 'cpus'],
  [/^\/mem$/, 'mem'],
  [/^\/container(\/type|\/docker(\/image)?)?$/, 'image'],
  [/^\/(container\/portMappings|portDefinitions|networks)\b/, 'port'],
  [/^\/healthChecks\(0\)\/intervalSeconds$/, 'hcInterval'],
  [/^\/healthChecks\(0\)\/delaySeconds$/, 'hcDelay'],
  [/^\/healthChecks\(0\)\/gracePeriodSeconds$/, 'hcGrace'],
  [/^\/healthChecks\b/, 'hcPath'],
];

/** The form field a 422 detail's JSON path belongs to, or undefined: shown above the form. */
export function fieldOfPath(path) {
  return FIELD_OF_PATH.find(([re]) => re.test(path))?.[1];
}
