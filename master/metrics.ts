/**
 * The master's metrics in the Prometheus text exposition format (version 0.0.4), the same
 * numbers a Mesos operator reads from `/metrics/snapshot` under `agora_` names. Pure: a
 * `MasterMetrics` snapshot in, the text out. Written by hand — the format is a few lines of
 * `# HELP`, `# TYPE` and `name{label="value"} number` — so the master needs no client library.
 *
 * Every known label value is always present (zero included): a series that vanishes when a
 * count drops to zero makes `rate()` and alerts misread it as missing data.
 */
import type { ResourceStatistics, TaskState } from '../common/types';
import type { HistogramSnapshot } from './metrics-histogram';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const RESOURCE_NAMES = ['cpus', 'mem', 'disk', 'gpus'] as const;
export type ResourceName = (typeof RESOURCE_NAMES)[number];
export type ResourceAmounts = Record<ResourceName, number>;

/** The states a task holds resources in, listed whether or not a task is in them. */
export const LIVE_TASK_STATES = ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_UNREACHABLE'] as const satisfies readonly TaskState[];
/** The terminal states, as `common/types.ts` isTerminal() has them. */
export const TERMINAL_TASK_STATES = [
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
] as const satisfies readonly TaskState[];

export const OFFER_EVENTS = ['offered', 'accepted', 'declined', 'rescinded', 'expired'] as const;
export type OfferEvent = (typeof OFFER_EVENTS)[number];

/** What the master counted since it started; only ever grows. */
export interface MasterCounts {
  offers: Record<OfferEvent, number>;
  /** Known tasks that reached each terminal state. */
  taskEnds: Partial<Record<TaskState, number>>;
  allocationRuns: number;
}

/**
 * The latencies the master times, each a histogram over LATENCY_BUCKETS_SECONDS
 * (metrics-histogram.ts); where each one starts and stops is in master/README.md.
 */
export const LATENCIES = ['allocation', 'offerAccept', 'launchToRunning', 'statusUpdate'] as const;
export type LatencyName = (typeof LATENCIES)[number];

/** The numbers of one scrape. */
export interface MasterMetrics {
  master: { id: string; hostname: string; version: string };
  /** Whether this master acts as the leader now: it holds its lease and was not fenced. */
  elected: boolean;
  /** The epoch it leads in (1 without election). */
  epoch: number;
  uptimeSeconds: number;
  agents: { active: number; unreachable: number };
  frameworks: { connected: number; disconnected: number };
  /** Non-terminal tasks by state; absent states count 0. */
  tasks: Partial<Record<TaskState, number>>;
  resources: { total: ResourceAmounts; used: ResourceAmounts; offered: ResourceAmounts };
  outstandingOffers: number;
  counts: MasterCounts;
  latencies: Record<LatencyName, HistogramSnapshot>;
  /** The newest usage of each live task that has one (none when per-task metrics are off). */
  taskUsage: { frameworkId: string; taskId: string; statistics: ResourceStatistics }[];
}

export type MetricType = 'gauge' | 'counter' | 'summary' | 'histogram';

export interface Sample {
  /** Appended to the family name: a histogram's `_bucket`, `_sum` and `_count`. */
  suffix?: string;
  labels?: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

/** Label values escape backslash, double quote and newline; HELP text backslash and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's float syntax, which Prometheus parses: NaN, +Inf, -Inf, else the shortest decimal. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function sampleLine(name: string, sample: Sample): string {
  const pairs = Object.entries(sample.labels ?? {}).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  const labels = pairs.length > 0 ? `{${pairs.join(',')}}` : '';
  return `${name}${sample.suffix ?? ''}${labels} ${formatValue(sample.value)}`;
}

/** The exposition of any families: HELP, TYPE, then the samples, each line ending in \n. */
export function exposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const sample of f.samples) lines.push(sampleLine(f.name, sample));
  }
  return lines.map((l) => `${l}\n`).join('');
}

const gauge = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name, type: 'gauge', help, samples });
const counter = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name, type: 'counter', help, samples });
const by = <K extends string>(label: string, keys: readonly K[], value: (k: K) => number): Sample[] =>
  keys.map((k) => ({ labels: { [label]: k }, value: value(k) }));

function resourceFamily(kind: 'total' | 'used' | 'offered', help: string, amounts: ResourceAmounts): MetricFamily {
  return gauge(`agora_resources_${kind}`, help, by('resource', RESOURCE_NAMES, (r) => amounts[r]));
}

export function metricFamilies(m: MasterMetrics): MetricFamily[] {
  const { counts } = m;
  return [
    gauge('agora_master_info', 'The master answering: its id, hostname and version.', [{ labels: m.master, value: 1 }]),
    ...leadershipFamilies(m.elected, m.epoch),
    gauge('agora_master_uptime_seconds', 'Seconds since this master started.', [{ value: m.uptimeSeconds }]),
    gauge('agora_agents', 'Registered agents, by state.', by('state', ['active', 'unreachable'] as const, (k) => m.agents[k])),
    gauge('agora_frameworks', 'Known frameworks, by whether their subscription is live.',
      by('state', ['connected', 'disconnected'] as const, (k) => m.frameworks[k])),
    gauge('agora_tasks', 'Non-terminal tasks the master knows, by state.', by('state', LIVE_TASK_STATES, (k) => m.tasks[k] ?? 0)),
    resourceFamily('total', 'Resources of all registered agents.', m.resources.total),
    resourceFamily('used', 'Resources held by non-terminal tasks.', m.resources.used),
    resourceFamily('offered', 'Resources held in outstanding offers.', m.resources.offered),
    gauge('agora_outstanding_offers', 'Offers made and not yet accepted, declined or rescinded.', [{ value: m.outstandingOffers }]),
    counter('agora_offers_total', 'Offer outcomes, as written to the offer log.', by('event', OFFER_EVENTS, (k) => counts.offers[k])),
    counter('agora_task_updates_total', 'Known tasks that reached a terminal state, by that state.',
      by('state', TERMINAL_TASK_STATES, (k) => counts.taskEnds[k] ?? 0)),
    counter('agora_allocation_runs_total', 'Allocation cycles run.', [{ value: counts.allocationRuns }]),
    ...latencyFamilies(m.latencies),
    // Families only while a task has a report: a cluster without usage shows none of them.
    ...taskUsageFamilies(m.taskUsage).filter((f) => f.samples.length > 0),
  ];
}

/**
 * The family of a histogram in exposition 0.0.4: one `_bucket` per bound with `le`, in
 * increasing order, then `le="+Inf"` (equal to `_count`), `_sum` and `_count`. Every bucket
 * is written, empty ones included, so `histogram_quantile` always sees the same series.
 */
export function histogramFamily(name: string, help: string, h: HistogramSnapshot): MetricFamily {
  const samples: Sample[] = h.bounds.map((b, i) => ({ suffix: '_bucket', labels: { le: formatValue(b) }, value: h.cumulative[i] ?? 0 }));
  samples.push(
    { suffix: '_bucket', labels: { le: '+Inf' }, value: h.count },
    { suffix: '_sum', value: h.sum },
    { suffix: '_count', value: h.count },
  );
  return { name, type: 'histogram', help, samples };
}

const LATENCY_HELP: Record<LatencyName, [name: string, help: string]> = {
  allocation: ['agora_allocation_duration_seconds', 'Time one allocation cycle took: snapshot, allocator, offers made and sent.'],
  offerAccept: ['agora_offer_accept_seconds', 'From an offer being sent to its framework until an Accept that used it arrived, once per accepted offer.'],
  launchToRunning: ['agora_task_launch_to_running_seconds', "From the master sending a task's run message to its agent until it heard TASK_RUNNING."],
  statusUpdate: ['agora_status_update_seconds',
    "From the agent's timestamp on a status update until the master forwarded it to the framework, first delivery only (agent and master clocks both count)."],
};

function latencyFamilies(latencies: MasterMetrics['latencies']): MetricFamily[] {
  return LATENCIES.map((k) => histogramFamily(LATENCY_HELP[k][0], LATENCY_HELP[k][1], latencies[k]));
}

/** How late the master's event loop ran: rendered apart, since the sampler is the shell's (event-loop-lag.ts). */
export function eventLoopLagFamilies(lag: HistogramSnapshot): MetricFamily[] {
  return [histogramFamily('agora_event_loop_lag_seconds', 'How late a sampling timer fired: time the event loop was busy with something else.', lag)];
}

/**
 * Per-task usage, labelled by framework and task: a live task's series exist from its first
 * report until it ends — the one place where series vanish, since the task is gone. Cpu time
 * is a counter (as cAdvisor's `container_cpu_user_seconds_total`), so `rate()` gives cores in use.
 */
function taskUsageFamilies(usage: MasterMetrics['taskUsage']): MetricFamily[] {
  const each = (value: (st: ResourceStatistics) => number | undefined): Sample[] => usage.flatMap((u) => {
    const v = value(u.statistics);
    return v === undefined ? [] : [{ labels: { framework_id: u.frameworkId, task_id: u.taskId }, value: v }];
  });
  return [
    counter('agora_task_cpu_user_seconds_total', 'Cpu time a live task spent in user mode, as its agent last reported.', each((s) => s.cpusUserTimeSecs)),
    counter('agora_task_cpu_system_seconds_total', 'Cpu time a live task spent in the kernel, as its agent last reported.', each((s) => s.cpusSystemTimeSecs)),
    gauge('agora_task_cpus_limit', 'The cpus a live task may use (its allocation).', each((s) => s.cpusLimit)),
    gauge('agora_task_mem_rss_bytes', 'Resident anonymous memory of a live task.', each((s) => s.memRssBytes)),
    gauge('agora_task_mem_total_bytes', 'All memory charged to a live task, page cache included.', each((s) => s.memTotalBytes)),
    gauge('agora_task_mem_limit_bytes', 'The memory limit of a live task.', each((s) => s.memLimitBytes)),
  ];
}

/** The durable offer log's state: rendered apart, since the core does not know JetStream. */
export function offerLogFamilies(status: { durable: boolean; notPersisted: number }): MetricFamily[] {
  return [
    gauge('agora_offer_log_durable', 'Whether offer-log lines reach the JetStream stream (1) or only the in-memory ring (0).', [{ value: status.durable ? 1 : 0 }]),
    counter('agora_offer_log_not_persisted_total', 'Offer-log lines kept in the ring but not in the JetStream stream.', [{ value: status.notPersisted }]),
  ];
}

/** Whether the registry takes writes: rendered apart, as the offer log is. */
export function registryFamilies(health: { available: boolean; pendingWrites: number }): MetricFamily[] {
  return [
    gauge('agora_registry_available', 'Whether the registry (Redis) takes writes (1) or not (0): registrations, new subscriptions, teardowns, weights are refused while 0.',
      [{ value: health.available ? 1 : 0 }]),
    gauge('agora_registry_pending_writes', 'Registry writes made and not yet stored, those waiting for Redis to come back included.', [{ value: health.pendingWrites }]),
  ];
}

/**
 * Whether this master leads, and in which epoch: every master answers these, standbys too
 * (standby.ts), so a scrape of each replica tells which one leads (Mesos's `master/elected`).
 * A leader that lost its lease or was fenced says 0 before it exits.
 */
export function leadershipFamilies(elected: boolean, epoch: number | undefined): MetricFamily[] {
  return [
    gauge('agora_master_elected', 'Whether this master is the elected leader acting now (1) or not (0).', [{ value: elected ? 1 : 0 }]),
    gauge('agora_master_epoch', 'The epoch the leader leads in, as this master knows it (0 while no leader is known).', [{ value: epoch ?? 0 }]),
  ];
}

export function renderMetrics(m: MasterMetrics): string {
  return exposition(metricFamilies(m));
}
