/**
 * One instance of an app as a task for one offer: its resources, its host ports picked from
 * the offer, its container, its health check and the environment Marathon gives its tasks
 * (PORT0…, PORTS, PORT_<NAME>, HOST, MARATHON_APP_ID, MARATHON_APP_VERSION, MESOS_TASK_ID, plus
 * AGORA_APP_ID and AGORA_APP_VERSION). Pure. When the offer cannot take it, the answer says
 * why, for `/v2/queue`.
 */
import { contains, format, scalar, type Resources } from '../../common/resources';
import type { HealthCheck, Offer, PortMapping, TaskInfo } from '../../common/types';
import { pickPorts, portEnv, taskResources } from '../sdk';
import type { App, AppHealthCheck } from './app';

/** Why an offer cannot take an instance, in Marathon's reject-summary names. */
export type RefusalKind = 'InsufficientCpus' | 'InsufficientMemory' | 'InsufficientDisk' | 'InsufficientGpus' | 'InsufficientPorts' | 'UnfulfilledConstraint';

export type Launch = { ok: true; task: TaskInfo; hostPorts: number[] } | { ok: false; kind: RefusalKind; reason: string };

/** The Mesos task id of an instance: the app path with `/` → `_`, then the instance id. */
export function taskIdOf(appId: string, instanceId: string): string {
  return `${appId.slice(1).replace(/\//g, '_')}.${instanceId}`;
}

/** The app an instance's task id belongs to, or undefined for a task id not made by `taskIdOf`. */
export function appIdOfTask(taskId: string): string | undefined {
  const dot = taskId.lastIndexOf('.');
  return dot > 0 ? `/${taskId.slice(0, dot).replace(/_/g, '/')}` : undefined;
}

export function taskFor(app: App, version: string, offer: Offer, instanceId: string): Launch {
  const bridged = app.networks.some((n) => n.mode !== 'host');
  const mappings = bridged ? (app.container?.portMappings ?? []) : [];
  // Host ports wanted: a literal one for requirePorts (host) or a given hostPort (bridge), else any.
  const wanted = bridged ? mappings.map((m) => m.hostPort) : app.portDefinitions.map((d) => (app.requirePorts ? d.port : 0));
  const hostPorts = wanted.length === 0 ? [] : pickPorts(offer.resources, wanted);
  if (!hostPorts) {
    return { ok: false, kind: 'InsufficientPorts', reason: `offer ${offer.id} on ${offer.hostname} has not the ${wanted.length} host port${wanted.length === 1 ? '' : 's'} needed (${wanted.map((p) => p || 'any').join(', ')})` };
  }
  const resources = taskResources({ cpus: app.cpus, mem: app.mem, disk: app.disk, gpus: app.gpus, ports: hostPorts });
  if (!contains(offer.resources, resources)) {
    return { ok: false, kind: shortOf(offer.resources, resources), reason: `offer ${offer.id} on ${offer.hostname} has ${format(offer.resources)}, an instance needs ${format(withoutPorts(resources))}` };
  }
  const taskId = taskIdOf(app.id, instanceId);
  const named = bridged ? mappings.map((m) => m.name) : app.portDefinitions.map((d) => d.name);
  const env: Record<string, string> = {
    HOST: offer.hostname, MARATHON_APP_ID: app.id, MARATHON_APP_VERSION: version, MESOS_TASK_ID: taskId,
    AGORA_APP_ID: app.id, AGORA_APP_VERSION: version,
  };
  Object.assign(env, portEnv(hostPorts, named));
  const image = app.container?.docker?.image;
  // Marathon's host networking, for a Docker app, runs bridged with each host port published
  // at the same port inside: the app sees and serves the ports it was given, as on the host,
  // without the host's network namespace, which only a principal granted host_network may have.
  const published: PortMapping[] = bridged
    ? mappings.map((m, i): PortMapping => ({ hostPort: hostPorts[i] as number, containerPort: m.containerPort, protocol: m.protocol }))
    : hostPorts.map((port, i): PortMapping => ({ hostPort: port, containerPort: port, protocol: app.portDefinitions[i]?.protocol === 'udp' ? 'udp' : 'tcp' }));
  const task: TaskInfo = {
    taskId,
    name: app.id.slice(1).split('/').reverse().join('.'),
    agentId: offer.agentId,
    resources,
    command: { value: app.cmd ?? '', argv: app.args ? [...app.args] : [], environment: { ...env, ...app.env }, user: app.user ?? '' },
    container: image
      ? {
        type: 'DOCKER',
        ...(app.container?.volumes ? { volumes: app.container.volumes.map((v) => ({ ...v })) } : {}),
        docker: {
          image, network: 'BRIDGE', forcePullImage: app.container?.docker?.forcePullImage ?? false, portMappings: published,
        },
      }
      : { type: 'PROCESS' },
    labels: { ...app.labels },
    ...(app.taskKillGracePeriodSeconds !== undefined ? { killPolicy: { gracePeriodMs: app.taskKillGracePeriodSeconds * 1000 } } : {}),
  };
  const check = app.healthChecks[0];
  if (check) task.healthCheck = healthCheckFor(check, bridged ? mappings.map((m) => m.containerPort) : hostPorts);
  return { ok: true, task, hostPorts };
}

/** The most failures the wire can carry (uint32): in effect, never. */
export const NEVER_KILL = 2 ** 32 - 1;

/**
 * The agent runs one check per task: the app's first. Its port is the container's for a
 * bridged app (the agent maps it to the host port) and the host port otherwise.
 */
function healthCheckFor(h: AppHealthCheck, ports: readonly number[]): HealthCheck {
  // On the wire 0 means "the default" (15 s delay, 10 s grace, 3 failures), so an app's
  // explicit 0 goes as 1 ms; and maxConsecutiveFailures 0 means never kill, as in Marathon.
  const base = {
    delayMs: Math.max(1, h.delaySeconds * 1000), intervalMs: h.intervalSeconds * 1000, timeoutMs: h.timeoutSeconds * 1000,
    consecutiveFailures: h.maxConsecutiveFailures === 0 ? NEVER_KILL : h.maxConsecutiveFailures,
    gracePeriodMs: Math.max(1, h.gracePeriodSeconds * 1000), path: h.path,
  };
  const port = h.port ?? ports[h.portIndex ?? 0] ?? 0;
  switch (h.protocol) {
    case 'MESOS_HTTP': return { ...base, type: 'HTTP', port };
    case 'MESOS_TCP': return { ...base, type: 'TCP', port };
    case 'COMMAND': return { ...base, type: 'COMMAND', port: 0, command: { value: h.command ?? '', argv: [], environment: {}, user: '' } };
  }
}

/** The first scalar the offer has too little of, in Marathon's words. */
function shortOf(offered: Resources, needed: Resources): RefusalKind {
  const names: [string, RefusalKind][] = [['cpus', 'InsufficientCpus'], ['mem', 'InsufficientMemory'], ['disk', 'InsufficientDisk'], ['gpus', 'InsufficientGpus']];
  for (const [name, kind] of names) if (scalar(offered, name) < scalar(needed, name)) return kind;
  return 'InsufficientCpus';
}

function withoutPorts(rs: Resources): Resources {
  return rs.filter((r) => r.name !== 'ports');
}
