/**
 * Marathon's published v2 contract, written out by hand as shape checks, for the
 * `services-api-*` tests: the RAML API description in mesosphere/marathon
 * (docs/docs/rest-api/public/api: api.raml, v2/*.raml, v2/types/*.raml) and the event shapes of
 * docs/docs/event-bus.md. A check returns every mismatch it finds, each naming its JSON path,
 * so a failing test says at once which fields are missing, extra, or of the wrong type.
 *
 * Also the few helpers those tests share: the deploying-write check, small app definitions,
 * and a way to hold the framework's turns to read a state that otherwise lasts milliseconds.
 */
import type { MarathonEvent } from '../../frameworks/services/events';
import type { ServicesFramework } from '../../frameworks/services/framework';
import type { Answer } from './services';
import { isObject, type JsonObject } from '../../common/json';

export type Check = (v: unknown, at: string) => string[];
export type Json = JsonObject;

const kind = (what: string, ok: (v: unknown) => boolean): Check => (v, at) => (ok(v) ? [] : [`${at}: expected ${what}, got ${JSON.stringify(v)}`]);

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
export const str = kind('a string', (v) => typeof v === 'string');
export const num = kind('a number', (v) => typeof v === 'number' && Number.isFinite(v));
export const int = kind('an integer', (v) => Number.isInteger(v));
export const bool = kind('a boolean', (v) => typeof v === 'boolean');
export const datetime = kind('an ISO 8601 date-time', (v) => typeof v === 'string' && ISO_TIME.test(v) && !Number.isNaN(Date.parse(v)));
/** An absolute app or group id: slash-separated names of lowercase letters, digits, '-' and '.'; '/' is the root. */
export const pathId = kind('an absolute path id', (v) => typeof v === 'string' && /^\/(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?:\/|$))*$/.test(v));
export const oneOf = (...values: readonly unknown[]): Check => kind(`one of ${values.join(', ')}`, (v) => values.includes(v));
export const arrayOf = (item: Check): Check => (v, at) => (Array.isArray(v) ? v.flatMap((x, i) => item(x, `${at}[${i}]`)) : [`${at}: expected an array, got ${JSON.stringify(v)}`]);
/** Any keys, each value checked. */
export const mapOf = (value: Check): Check => (v, at) => (isObject(v) ? Object.entries(v).flatMap(([k, x]) => value(x, `${at}.${k}`)) : [`${at}: expected an object, got ${JSON.stringify(v)}`]);
export const either = (...checks: Check[]): Check => (v, at) => (checks.some((c) => c(v, at).length === 0) ? [] : (checks[0] as Check)(v, at));
/** An object with `required` fields and, when present (null counts as present), `optional` ones; other keys are not looked at. */
export const obj = (required: Record<string, Check>, optional: Record<string, Check> = {}): Check => (v, at) => {
  if (!isObject(v)) return [`${at}: expected an object, got ${JSON.stringify(v)}`];
  const out: string[] = [];
  for (const [k, c] of Object.entries(required)) {
    if (!(k in v)) out.push(`${at}.${k}: missing`);
    else out.push(...c(v[k], `${at}.${k}`));
  }
  for (const [k, c] of Object.entries(optional)) if (k in v) out.push(...c(v[k], `${at}.${k}`));
  return out;
};
/** As `obj`, and no keys beyond those: strict clients (marathon-python's `Model(**json)`) raise on one. */
export const closed = (required: Record<string, Check>, optional: Record<string, Check> = {}): Check => (v, at) => [
  ...obj(required, optional)(v, at),
  ...(isObject(v) ? Object.keys(v).filter((k) => !(k in required) && !(k in optional)).map((k) => `${at}.${k}: not in the contract`) : []),
];

export function expectShape(value: unknown, check: Check, at = '$'): void {
  expect(check(value, at)).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// The contract's types, in short (file names are under docs/docs/rest-api/public/api/v2/types).

export const MESOS_TASK_STATES = ['TASK_ERROR', 'TASK_FAILED', 'TASK_FINISHED', 'TASK_KILLED', 'TASK_KILLING', 'TASK_RUNNING', 'TASK_STAGING',
  'TASK_STARTING', 'TASK_UNREACHABLE', 'TASK_UNKNOWN', 'TASK_GONE', 'TASK_DROPPED'];
/** Instance conditions (stringTypes.raml, and instance_changed_event in event-bus.md). */
export const CONDITIONS = ['Error', 'Failed', 'Finished', 'Killed', 'Killing', 'Running', 'Staging', 'Starting', 'Unreachable',
  'UnreachableInactive', 'Gone', 'Dropped', 'Unknown'];
const ACTION_NAMES = ['StartApplication', 'StopApplication', 'ScaleApplication', 'RestartApplication', 'StartPod', 'StopPod', 'ScalePod',
  'RestartPod', 'ResolveArtifacts'];
/** Marathon's offer-matching funnel (NoOfferMatchReason), in the order an offer goes through it. */
export const REJECT_REASONS = ['UnfulfilledRole', 'UnfulfilledConstraint', 'NoCorrespondingReservationFound', 'AgentMaintenance', 'InsufficientCpus',
  'InsufficientMemory', 'InsufficientDisk', 'InsufficientGpus', 'InsufficientPorts', 'DeclinedScarceResources'];
/** stringTypes.raml InstanceId, as a run spec's instances are named: `<app path, / as _>.instance-<uuid>`. */
export const instanceIdOf = (appId: string): RegExp =>
  new RegExp(`^${appId.slice(1).replace(/\//g, '_').replace(/\./g, '\\.')}\\.instance-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`);

/** error.raml: a message; details, when given, each with errors as strings. */
export const errorBody = obj({ message: str }, { details: arrayOf(obj({}, { path: str, message: str, errors: arrayOf(str) })) });
/** deploymentResult.raml: what every deploying write answers. */
export const deploymentResult = obj({ deploymentId: str, version: datetime });
/** deploymentAction.raml */
const deploymentAction = obj({ action: oneOf(...ACTION_NAMES) }, { app: pathId, pod: pathId });
export const deploymentStep = obj({ actions: arrayOf(deploymentAction) });
/** deploymentPlan.raml: the plan carried by deployment events, and nothing of /v2/deployments' fields. */
export const deploymentPlan = closed({ id: str, steps: arrayOf(deploymentStep), version: datetime });
/** deploymentEventsInfo.raml: one entry of GET /v2/deployments. */
export const deploymentStepInfo = obj({
  id: str, version: datetime, steps: arrayOf(deploymentStep),
  affectedApps: arrayOf(pathId), affectedPods: arrayOf(pathId),
  currentActions: arrayOf(obj({ action: oneOf(...ACTION_NAMES), readinessCheckResults: arrayOf(obj({})) }, { app: pathId, pod: pathId })),
  currentStep: int, totalSteps: int,
});
/** healthCheck.raml Health: one health check's result for a task. */
const health = obj({ alive: bool, consecutiveFailures: int, instanceId: str }, { firstSuccess: str, lastSuccess: str, lastFailure: str, lastFailureCause: str });
/** task.raml Task, and only its fields. */
export const task = closed(
  { appId: pathId, host: str, id: str, state: oneOf(...MESOS_TASK_STATES), role: str },
  {
    healthCheckResults: arrayOf(health), checkResult: obj({}), ipAddresses: arrayOf(obj({ ipAddress: str, protocol: oneOf('IPv4', 'IPv6') })),
    ports: arrayOf(int), servicePorts: arrayOf(int), slaveId: str, stagedAt: str, startedAt: str, version: str,
    localVolumes: arrayOf(obj({})), region: str, zone: str,
  },
);
export const taskFailure = obj({ appId: pathId, host: str, message: str, state: str, taskId: str, timestamp: datetime, version: datetime }, { slaveId: str });
const portMapping = obj({}, { containerPort: int, hostPort: int, servicePort: int, protocol: oneOf('tcp', 'udp', 'udp,tcp'), name: str, labels: mapOf(str) });
/** app.raml App: only the id is required; every other field, when present, has its type. */
export const app = obj({ id: pathId }, {
  args: arrayOf(str), backoffFactor: num, backoffSeconds: int, cmd: str, constraints: arrayOf(arrayOf(str)),
  container: obj({}, {
    type: oneOf('DOCKER', 'MESOS'), portMappings: arrayOf(portMapping), volumes: arrayOf(obj({})),
    docker: obj({ image: str }, { forcePullImage: bool, privileged: bool, parameters: arrayOf(obj({ key: str, value: str })), portMappings: arrayOf(portMapping) }),
  }),
  cpus: num, dependencies: arrayOf(pathId), disk: num, env: mapOf(either(str, obj({ secret: str }))), executor: str, gpus: int,
  healthChecks: arrayOf(obj({}, {
    protocol: oneOf('HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'), path: str, port: int, portIndex: int,
    command: obj({ value: str }), gracePeriodSeconds: int, intervalSeconds: int, timeoutSeconds: int, delaySeconds: int, maxConsecutiveFailures: int,
  })),
  instances: int, labels: mapOf(str), maxLaunchDelaySeconds: int, mem: num,
  networks: arrayOf(obj({}, { mode: oneOf('container', 'container/bridge', 'host'), name: str, labels: mapOf(str) })),
  portDefinitions: arrayOf(obj({}, { port: int, protocol: oneOf('tcp', 'udp', 'udp,tcp'), name: str, labels: mapOf(str) })),
  requirePorts: bool, taskKillGracePeriodSeconds: int,
  upgradeStrategy: obj({}, { minimumHealthCapacity: num, maximumOverCapacity: num }),
  user: str, version: datetime, versionInfo: obj({ lastScalingAt: datetime, lastConfigChangeAt: datetime }),
  killSelection: oneOf('YOUNGEST_FIRST', 'OLDEST_FIRST'),
  unreachableStrategy: either(oneOf('disabled'), obj({}, { inactiveAfterSeconds: int, expungeAfterSeconds: int })),
  role: str,
});
/** app.raml AppInfo: an App as GET answers it, with its counts, deployments and what was embedded. */
export const appInfo: Check = (v, at) => [
  ...app(v, at),
  ...obj({}, {
    tasksStaged: int, tasksRunning: int, tasksHealthy: int, tasksUnhealthy: int, deployments: arrayOf(obj({ id: str })),
    readinessCheckResults: arrayOf(obj({})), tasks: arrayOf(task), lastTaskFailure: taskFailure,
  })(v, at),
];
/** GET /v2/apps and GET /v2/apps/{id} always carry the counts and the deployments (apps.raml, the embed notes). */
export const appWithCounts: Check = (v, at) => [...appInfo(v, at), ...obj({ tasksStaged: int, tasksRunning: int, tasksHealthy: int, tasksUnhealthy: int, deployments: arrayOf(obj({ id: str })) })(v, at)];
/** group.raml GroupInfo. */
export const groupInfo: Check = (v, at) => obj({ id: pathId }, {
  apps: arrayOf(appInfo), groups: arrayOf(groupInfo), pods: arrayOf(obj({})), dependencies: arrayOf(pathId), version: datetime, enforceRole: bool,
})(v, at);
const declinedOfferStep = obj({ reason: oneOf(...REJECT_REASONS), declined: int, processed: int });
const numberRange = obj({ begin: int, end: int });
/** queue.raml UnusedOffer, its offer in offer.raml's shape; Agora gives the reason as [Marathon's name, its own words]. */
export const unusedOffer = obj({
  offer: obj({
    id: str, hostname: str, agentId: str,
    resources: arrayOf(obj({ name: str, role: str }, { scalar: num, ranges: arrayOf(numberRange), set: arrayOf(str) })),
    attributes: arrayOf(obj({ name: str }, { text: str, scalar: num, ranges: arrayOf(numberRange), set: arrayOf(str) })),
  }),
  reason: arrayOf(str), timestamp: datetime,
});
/** queue.raml QueueApp. */
export const queueApp = obj(
  {
    app, count: int, since: datetime, delay: obj({ timeLeftSeconds: int, overdue: bool }), role: str,
    processedOffersSummary: obj({ processedOffersCount: int, unusedOffersCount: int }, {
      lastUnusedOfferAt: datetime, lastUsedOfferAt: datetime,
      rejectSummaryLastOffers: arrayOf(declinedOfferStep), rejectSummaryLaunchAttempt: arrayOf(declinedOfferStep),
    }),
  },
  { lastUnusedOffers: arrayOf(unusedOffer) },
);
/** info.raml MarathonInfo, and only its fields (marathon-python's get_info raises on others). */
export const marathonInfo = closed(
  {
    name: str, version: str, buildref: str, elected: bool,
    marathon_config: closed({ features: arrayOf(str) }, {
      master: str, failover_timeout: int, framework_name: str, ha: bool, checkpoint: bool, local_port_min: int, local_port_max: int,
      executor: str, hostname: str, webui_url: str, mesos_role: str, task_launch_timeout: int, task_reservation_timeout: int,
      reconciliation_initial_delay: int, reconciliation_interval: int, mesos_user: str, leader_proxy_connection_timeout_ms: int,
      leader_proxy_read_timeout_ms: int, mesos_leader_ui_url: str,
    }),
    zookeeper_config: closed({ zk: str, zk_timeout: int, zk_connection_timeout: int, zk_session_timeout: int, zk_max_versions: int }),
    http_config: closed({ http_port: int, https_port: int }),
  },
  { leader: str, frameworkId: str },
);
/** metrics.raml (dropwizardMetrics.raml): Marathon's JSON metrics. */
export const metrics = obj({
  version: str, counters: mapOf(obj({ count: int })), gauges: mapOf(obj({ value: num })), histograms: mapOf(obj({})), meters: mapOf(obj({})), timers: mapOf(obj({})),
});
/** Every event has its type and a timestamp. */
export const event = (eventType: string, fields: Record<string, Check>, optional: Record<string, Check> = {}): Check =>
  obj({ eventType: oneOf(eventType), timestamp: datetime, ...fields }, optional);

// ---------------------------------------------------------------------------------------------
// Helpers the tests share.

export const header = (a: Answer<unknown>, name: string): string | undefined => {
  const h = a.headers[name.toLowerCase()];
  return Array.isArray(h) ? h[0] : h;
};

/** A deploying write: the status, DeploymentResult, and the Marathon-Deployment-Id header naming the same deployment. */
export function expectDeployment(a: Answer<Json>, status = 200): string {
  expect(a.status).toBe(status);
  expectShape(a.body, deploymentResult);
  expect(header(a, 'Marathon-Deployment-Id')).toBe(a.body.deploymentId);
  return a.body.deploymentId as string;
}

export const healthCheck = { protocol: 'COMMAND', command: { value: 'true' }, gracePeriodSeconds: 0, intervalSeconds: 2, timeoutSeconds: 1, delaySeconds: 0, maxConsecutiveFailures: 0 };
/** One small instance of `sleep 600`. */
export const small = (id: string, extra: Json = {}): Json => ({ id, instances: 1, cpus: 0.1, mem: 16, cmd: 'sleep 600', ...extra });
/** More cpus than the test agent has (2): it waits for offers, and its deployment stays open. */
export const waiting = (id: string, extra: Json = {}): Json => small(id, { cpus: 3, ...extra });

/**
 * Holds the framework's turns from the step that sends an event matching `match` until
 * `release()`: no offer and no status update is taken meanwhile, so the API shows what that
 * step left (a task just staged, a queue entry before any offer) for as long as the test
 * reads it. Reads answer while held; writes wait. The turn is queued from the bus listener,
 * in the same tick as the step ends, so nothing can slip in between.
 */
export function holdAfter(f: ServicesFramework, match: (e: MarathonEvent) => boolean): { held: Promise<MarathonEvent>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let seen!: (e: MarathonEvent) => void;
  const held = new Promise<MarathonEvent>((r) => { seen = r; });
  const off = f.bus.subscribe((e) => {
    if (!match(e)) return;
    off();
    f.serial(() => gate).catch(() => undefined);   // a framework stopped first: nothing to hold
    seen(e);
  });
  return { held, release };
}
