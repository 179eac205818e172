/**
 * Wire ⇄ domain. The only file that knows both shapes; everything else speaks one of them.
 * Decoding is lenient where proto3 must be (absent means zero) and fills Agora's defaults.
 */
import { pb, type agora } from './proto';
import { normalize, ResourceError, type Range, type Resource, type Resources } from './resources';
import type {
  AgentInfo, Capability, ClusterAgent, CommandInfo, ContainerInfo, Filters, FrameworkInfo, HealthCheck, KillPolicy,
  MasterInfo, Offer, Operation, ResourceStatistics, SchedulerEvent, StatusReason, StatusSource, Task, TaskInfo, TaskState, TaskStatus, Volume,
} from './types';


const sec = (ms: number) => ms / 1000;
const ms = (s: number | null | undefined) => Math.round((s ?? 0) * 1000);
const rec = (m: { [k: string]: string } | null | undefined): Record<string, string> => ({ ...(m ?? {}) });

function enumName<E extends Record<string | number, string | number>>(e: E, v: number | null | undefined): string | undefined {
  const name = (e as Record<number, string>)[v ?? 0];
  return typeof name === 'string' ? name : undefined;
}
function enumValue<E extends Record<string, string | number>>(e: E, name: string): number {
  const v = (e as Record<string, number>)[name];
  return typeof v === 'number' ? v : 0;
}

// ------------------------------------------------------------------ resources

export function resourceToWire(r: Resource): agora.v1.Resource.$Properties {
  switch (r.kind) {
    case 'scalar': return { name: r.name, role: r.role, type: pb.ValueType.SCALAR, scalar: { value: r.value } };
    case 'ranges': return { name: r.name, role: r.role, type: pb.ValueType.RANGES, ranges: { range: r.ranges.map(([begin, end]) => ({ begin, end })) } };
    case 'set': return { name: r.name, role: r.role, type: pb.ValueType.SET, set: { item: [...r.items] } };
  }
}

export function resourcesToWire(rs: Resources): agora.v1.Resource.$Properties[] {
  return rs.map(resourceToWire);
}

/**
 * Entries of an unknown type are dropped: they cannot be offered or checked. A negative or
 * non-finite amount, or a name used as two kinds, is a ResourceError that names it.
 */
export function resourcesFromWire(rs: readonly agora.v1.Resource.$Properties[] | null | undefined): Resources {
  const out: Resource[] = [];
  for (const r of rs ?? []) {
    const name = r.name ?? '';
    const role = r.role || '*';
    if (!name) continue;
    switch (r.type) {
      case pb.ValueType.SCALAR: {
        const value = Number(r.scalar?.value ?? 0);
        if (!Number.isFinite(value) || value < 0) throw new ResourceError(`resource '${name}' has amount ${value}: it must be a number ≥ 0`);
        out.push({ name, role, kind: 'scalar', value });
        break;
      }
      case pb.ValueType.RANGES: out.push({ name, role, kind: 'ranges', ranges: (r.ranges?.range ?? []).map((x): Range => [Number(x.begin ?? 0), Number(x.end ?? 0)]) }); break;
      case pb.ValueType.SET: out.push({ name, role, kind: 'set', items: [...(r.set?.item ?? [])] }); break;
      default: break;
    }
  }
  return normalize(out);
}

// ------------------------------------------------------------------ agents, frameworks, master

export function agentInfoToWire(a: AgentInfo): agora.v1.AgentInfo.$Properties {
  return { id: a.id, hostname: a.hostname, resources: resourcesToWire(a.resources), attributes: { ...a.attributes }, port: a.port };
}

export function agentInfoFromWire(a: agora.v1.AgentInfo.$Properties | null | undefined): AgentInfo {
  return {
    id: a?.id ?? '', hostname: a?.hostname ?? '', resources: resourcesFromWire(a?.resources),
    attributes: rec(a?.attributes), port: a?.port ?? 0,
  };
}

export function clusterAgentsToWire(agents: readonly ClusterAgent[]): agora.v1.GetAgentsResponse.$Properties {
  return { agents: agents.map(({ unreachable, ...info }) => ({ agentInfo: agentInfoToWire(info), unreachable })) };
}

export function clusterAgentsFromWire(r: agora.v1.GetAgentsResponse.$Properties | null | undefined): ClusterAgent[] {
  return (r?.agents ?? []).map((a) => ({ ...agentInfoFromWire(a.agentInfo), unreachable: a.unreachable ?? false }));
}

export function frameworkInfoToWire(f: FrameworkInfo): agora.v1.FrameworkInfo.$Properties {
  return {
    id: f.id, name: f.name, roles: [...f.roles], failoverTimeoutSeconds: sec(f.failoverTimeoutMs),
    capabilities: f.capabilities.map((c) => enumValue(pb.Capability, c)), principal: f.principal,
    user: f.user, hostname: f.hostname, labels: { ...f.labels }, webuiUrl: f.webuiUrl ?? '',
  };
}

export function frameworkInfoFromWire(f: agora.v1.FrameworkInfo.$Properties | null | undefined): FrameworkInfo {
  const roles = (f?.roles ?? []).filter(Boolean);
  return {
    id: f?.id ?? '', name: f?.name ?? '', roles: roles.length ? roles : ['*'],
    failoverTimeoutMs: ms(f?.failoverTimeoutSeconds),
    capabilities: (f?.capabilities ?? []).map((c) => enumName(pb.Capability, c)).filter((c): c is Capability => !!c && c !== 'CAPABILITY_UNKNOWN'),
    principal: f?.principal ?? '', user: f?.user ?? '', hostname: f?.hostname ?? '', labels: rec(f?.labels),
    ...(f?.webuiUrl ? { webuiUrl: f.webuiUrl } : {}),
  };
}

export function masterInfoToWire(m: MasterInfo): agora.v1.MasterInfo.$Properties {
  return { id: m.id, hostname: m.hostname, httpPort: m.httpPort, grpcPort: m.grpcPort, version: m.version };
}

export function masterInfoFromWire(m: agora.v1.MasterInfo.$Properties | null | undefined): MasterInfo | undefined {
  if (!m) return undefined;
  return { id: m.id ?? '', hostname: m.hostname ?? '', httpPort: m.httpPort ?? 0, grpcPort: m.grpcPort ?? 0, version: m.version ?? '' };
}

// ------------------------------------------------------------------ offers

export function offerToWire(o: Offer): agora.v1.Offer.$Properties {
  return {
    id: o.id, frameworkId: o.frameworkId, agentId: o.agentId, hostname: o.hostname,
    resources: resourcesToWire(o.resources), role: o.role, attributes: { ...o.attributes },
  };
}

export function offerFromWire(o: agora.v1.Offer.$Properties): Offer {
  return {
    id: o.id ?? '', frameworkId: o.frameworkId ?? '', agentId: o.agentId ?? '', hostname: o.hostname ?? '',
    resources: resourcesFromWire(o.resources), role: o.role || '*', attributes: rec(o.attributes),
  };
}

export function filtersToWire(f: Filters | undefined): agora.v1.Filters.$Properties | undefined {
  return f?.refuseMs === undefined ? undefined : { refuseSeconds: sec(f.refuseMs) };
}

export function filtersFromWire(f: agora.v1.Filters.$Properties | null | undefined): Filters {
  return f?.refuseSeconds === undefined || f.refuseSeconds === null ? {} : { refuseMs: ms(f.refuseSeconds) };
}

// ------------------------------------------------------------------ tasks

export function commandToWire(c: CommandInfo): agora.v1.CommandInfo.$Properties {
  return { value: c.value, argv: [...c.argv], environment: { ...c.environment }, user: c.user, workingDirectory: c.workingDirectory ?? '', secrets: { ...c.secrets } };
}

export function commandFromWire(c: agora.v1.CommandInfo.$Properties | null | undefined): CommandInfo {
  const out: CommandInfo = { value: c?.value ?? '', argv: [...(c?.argv ?? [])], environment: rec(c?.environment), user: c?.user ?? '' };
  if (c?.workingDirectory) out.workingDirectory = c.workingDirectory;
  const secrets = rec(c?.secrets);
  if (Object.keys(secrets).length > 0) out.secrets = secrets;
  return out;
}

function containerToWire(c: ContainerInfo): agora.v1.ContainerInfo.$Properties {
  const type = c.type === 'DEFAULT' ? 0 : enumValue(pb.ContainerType, c.type);
  const volumes = (c.volumes ?? []).map((v) => ({ containerPath: v.containerPath, hostPath: v.hostPath, mode: enumValue(pb.VolumeMode, v.mode) }));
  if (!c.docker) return { type, volumes };
  return {
    type,
    volumes,
    docker: {
      image: c.docker.image,
      network: c.docker.network ? enumValue(pb.NetworkMode, c.docker.network) : 0,
      portMappings: c.docker.portMappings.map((m) => ({ hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol })),
      forcePullImage: c.docker.forcePullImage,
    },
  };
}

function containerFromWire(c: agora.v1.ContainerInfo.$Properties | null | undefined): ContainerInfo {
  const typeName = enumName(pb.ContainerType, c?.type);
  const type = typeName === 'DOCKER' || typeName === 'PROCESS' ? typeName : 'DEFAULT';
  const volumes = (c?.volumes ?? []).map((v): Volume => ({
    containerPath: v.containerPath ?? '', hostPath: v.hostPath ?? '', mode: enumName(pb.VolumeMode, v.mode) === 'RO' ? 'RO' : 'RW',
  }));
  const d = c?.docker;
  if (!d) return volumes.length > 0 ? { type, volumes } : { type };
  const net = enumName(pb.NetworkMode, d.network);
  return {
    type,
    ...(volumes.length > 0 ? { volumes } : {}),
    docker: {
      image: d.image ?? '',
      network: net === 'HOST' || net === 'BRIDGE' || net === 'NONE' ? net : undefined,
      portMappings: (d.portMappings ?? []).map((m) => ({
        hostPort: m.hostPort ?? 0, containerPort: m.containerPort ?? 0, protocol: m.protocol === 'udp' ? 'udp' : 'tcp',
      })),
      forcePullImage: !!d.forcePullImage,
    },
  };
}

function healthCheckToWire(h: HealthCheck): agora.v1.HealthCheck.$Properties {
  return {
    type: enumValue(pb.HealthCheckType, h.type), delaySeconds: sec(h.delayMs), intervalSeconds: sec(h.intervalMs),
    timeoutSeconds: sec(h.timeoutMs), consecutiveFailures: h.consecutiveFailures, gracePeriodSeconds: sec(h.gracePeriodMs),
    command: h.command ? commandToWire(h.command) : undefined, port: h.port, path: h.path,
  };
}

/** Zero means the Mesos default, as documented in agora.proto. */
function healthCheckFromWire(h: agora.v1.HealthCheck.$Properties | null | undefined): HealthCheck | undefined {
  const type = enumName(pb.HealthCheckType, h?.type);
  if (!h || (type !== 'COMMAND' && type !== 'HTTP' && type !== 'TCP')) return undefined;
  return {
    type,
    delayMs: ms(h.delaySeconds) || 15_000,
    intervalMs: ms(h.intervalSeconds) || 10_000,
    timeoutMs: ms(h.timeoutSeconds) || 20_000,
    consecutiveFailures: h.consecutiveFailures || 3,
    gracePeriodMs: ms(h.gracePeriodSeconds) || 10_000,
    command: h.command ? commandFromWire(h.command) : undefined,
    port: h.port ?? 0,
    path: h.path || '/',
  };
}

export function killPolicyToWire(k: KillPolicy | undefined): agora.v1.KillPolicy.$Properties | undefined {
  if (!k) return undefined;
  return k.gracePeriodMs === undefined ? {} : { gracePeriodSeconds: sec(k.gracePeriodMs) };
}

export function killPolicyFromWire(k: agora.v1.KillPolicy.$Properties | null | undefined): KillPolicy | undefined {
  if (!k) return undefined;
  return k.gracePeriodSeconds === undefined || k.gracePeriodSeconds === null ? {} : { gracePeriodMs: ms(k.gracePeriodSeconds) };
}

export function taskInfoToWire(t: TaskInfo): agora.v1.TaskInfo.$Properties {
  return {
    taskId: t.taskId, name: t.name, agentId: t.agentId, resources: resourcesToWire(t.resources),
    command: commandToWire(t.command), container: containerToWire(t.container),
    healthCheck: t.healthCheck ? healthCheckToWire(t.healthCheck) : undefined,
    killPolicy: killPolicyToWire(t.killPolicy), labels: { ...t.labels },
  };
}

export function taskInfoFromWire(t: agora.v1.TaskInfo.$Properties): TaskInfo {
  return {
    taskId: t.taskId ?? '', name: t.name ?? '', agentId: t.agentId ?? '', resources: resourcesFromWire(t.resources),
    command: commandFromWire(t.command), container: containerFromWire(t.container),
    healthCheck: healthCheckFromWire(t.healthCheck), killPolicy: killPolicyFromWire(t.killPolicy), labels: rec(t.labels),
  };
}

export function taskStatusToWire(s: TaskStatus): agora.v1.TaskStatus.$Properties {
  return {
    taskId: s.taskId, state: enumValue(pb.TaskState, s.state), message: s.message,
    source: enumValue(pb.StatusSource, s.source), reason: enumValue(pb.StatusReason, s.reason),
    agentId: s.agentId, frameworkId: s.frameworkId, uuid: s.uuid, timestamp: sec(s.timestampMs),
    healthy: s.healthy, exitCode: s.exitCode, containerId: s.containerId,
  };
}

export function taskStatusFromWire(s: agora.v1.TaskStatus.$Properties): TaskStatus {
  return {
    taskId: s.taskId ?? '',
    state: (enumName(pb.TaskState, s.state) ?? 'TASK_UNKNOWN') as TaskState,
    message: s.message ?? '',
    source: (enumName(pb.StatusSource, s.source) ?? 'SOURCE_UNKNOWN') as StatusSource,
    reason: (enumName(pb.StatusReason, s.reason) ?? 'REASON_UNKNOWN') as StatusReason,
    agentId: s.agentId ?? '', frameworkId: s.frameworkId ?? '', uuid: s.uuid ?? '',
    timestampMs: ms(s.timestamp),
    healthy: s.healthy ?? undefined,
    exitCode: s.exitCode ?? undefined,
    containerId: s.containerId ?? '',
  };
}

export function taskToWire(t: Task): agora.v1.Task.$Properties {
  return {
    taskId: t.taskId, name: t.name, frameworkId: t.frameworkId, agentId: t.agentId,
    state: enumValue(pb.TaskState, t.state), resources: resourcesToWire(t.resources),
    status: t.status ? taskStatusToWire(t.status) : undefined, info: t.info ? taskInfoToWire(t.info) : undefined,
  };
}

export function taskFromWire(t: agora.v1.Task.$Properties): Task {
  return {
    taskId: t.taskId ?? '', name: t.name ?? '', frameworkId: t.frameworkId ?? '', agentId: t.agentId ?? '',
    state: (enumName(pb.TaskState, t.state) ?? 'TASK_UNKNOWN') as TaskState,
    resources: resourcesFromWire(t.resources),
    status: t.status ? taskStatusFromWire(t.status) : undefined,
    info: t.info ? taskInfoFromWire(t.info) : undefined,
  };
}

// ------------------------------------------------------------------ scheduler calls and events

/** Unknown operation types are reported, not silently dropped: the caller turns them into errors. */
// ------------------------------------------------------------------ usage

export function statisticsToWire(st: ResourceStatistics): agora.v1.ResourceStatistics.$Properties {
  return {
    timestamp: sec(st.timestampMs), cpusUserTimeSecs: st.cpusUserTimeSecs, cpusSystemTimeSecs: st.cpusSystemTimeSecs,
    cpusLimit: st.cpusLimit ?? 0, memRssBytes: st.memRssBytes, memTotalBytes: st.memTotalBytes, memLimitBytes: st.memLimitBytes ?? 0,
    cpusNrPeriods: st.cpusNrPeriods, cpusNrThrottled: st.cpusNrThrottled, cpusThrottledTimeSecs: st.cpusThrottledTimeSecs,
    processes: st.processes,
  };
}

/**
 * A uint64 as a number. Decoded values are numbers (`--force-number`), but protobufjs gives
 * some absent uint64 fields a Long zero as their default.
 */
function u64(v: number | { toNumber(): number } | null | undefined): number {
  if (typeof v === 'number') return v;
  return v ? v.toNumber() : 0;
}

/** Zero limits are unknown ones (proto3 cannot tell 0 from unset, and no task is limited to 0). */
export function statisticsFromWire(st: agora.v1.ResourceStatistics.$Properties): ResourceStatistics {
  return {
    timestampMs: ms(st.timestamp), cpusUserTimeSecs: st.cpusUserTimeSecs ?? 0, cpusSystemTimeSecs: st.cpusSystemTimeSecs ?? 0,
    ...(st.cpusLimit ? { cpusLimit: st.cpusLimit } : {}),
    memRssBytes: u64(st.memRssBytes), memTotalBytes: u64(st.memTotalBytes),
    ...(u64(st.memLimitBytes) > 0 ? { memLimitBytes: u64(st.memLimitBytes) } : {}),
    cpusNrPeriods: u64(st.cpusNrPeriods), cpusNrThrottled: u64(st.cpusNrThrottled),
    cpusThrottledTimeSecs: st.cpusThrottledTimeSecs ?? 0, processes: st.processes ?? 0,
  };
}

export function operationFromWire(o: agora.v1.Operation.$Properties): Operation | { type: 'UNKNOWN'; id: string; raw: number } {
  if (o.type === pb.Operation.Type.LAUNCH) {
    return { type: 'LAUNCH', id: o.id ?? '', tasks: (o.launch?.taskInfos ?? []).map(taskInfoFromWire) };
  }
  return { type: 'UNKNOWN', id: o.id ?? '', raw: o.type ?? 0 };
}

export function operationToWire(o: Operation): agora.v1.Operation.$Properties {
  return { type: pb.Operation.Type.LAUNCH, id: o.id, launch: { taskInfos: o.tasks.map(taskInfoToWire) } };
}

export function eventToWire(e: SchedulerEvent): agora.v1.Event.$Properties {
  const T = pb.Event.Type;
  switch (e.type) {
    case 'SUBSCRIBED': return { type: T.SUBSCRIBED, subscribed: {
      frameworkId: e.frameworkId, streamId: e.streamId, heartbeatIntervalSeconds: sec(e.heartbeatIntervalMs),
      masterInfo: e.master ? masterInfoToWire(e.master) : undefined } };
    case 'OFFERS': return { type: T.OFFERS, offers: { offers: e.offers.map(offerToWire) } };
    case 'RESCIND': return { type: T.RESCIND, rescind: { offerId: e.offerId } };
    case 'UPDATE': return { type: T.UPDATE, update: { status: taskStatusToWire(e.status) } };
    case 'MESSAGE': return { type: T.MESSAGE, message: { agentId: e.agentId, taskId: e.taskId, data: e.data } };
    case 'FAILURE': return { type: T.FAILURE, failure: { agentId: e.agentId, message: e.message } };
    case 'ERROR': return { type: T.ERROR, error: { message: e.message } };
    case 'HEARTBEAT': return { type: T.HEARTBEAT };
  }
}

/** An event of a type this build does not know decodes to undefined; callers skip it. */
export function eventFromWire(e: agora.v1.Event.$Properties): SchedulerEvent | undefined {
  const T = pb.Event.Type;
  switch (e.type) {
    case T.SUBSCRIBED: return {
      type: 'SUBSCRIBED', frameworkId: e.subscribed?.frameworkId ?? '', streamId: e.subscribed?.streamId ?? '',
      heartbeatIntervalMs: ms(e.subscribed?.heartbeatIntervalSeconds), master: masterInfoFromWire(e.subscribed?.masterInfo) };
    case T.OFFERS: return { type: 'OFFERS', offers: (e.offers?.offers ?? []).map(offerFromWire) };
    case T.RESCIND: return { type: 'RESCIND', offerId: e.rescind?.offerId ?? '' };
    case T.UPDATE: return e.update?.status ? { type: 'UPDATE', status: taskStatusFromWire(e.update.status) } : undefined;
    case T.MESSAGE: return { type: 'MESSAGE', agentId: e.message?.agentId ?? '', taskId: e.message?.taskId ?? '', data: e.message?.data ?? new Uint8Array() };
    case T.FAILURE: return { type: 'FAILURE', agentId: e.failure?.agentId ?? '', message: e.failure?.message ?? '' };
    case T.ERROR: return { type: 'ERROR', message: e.error?.message ?? '' };
    case T.HEARTBEAT: return { type: 'HEARTBEAT' };
    default: return undefined;
  }
}
