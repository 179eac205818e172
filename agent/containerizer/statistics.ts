/**
 * What a container uses, read from where the kernel or the engine keeps it: Docker's stats
 * JSON, a cgroup's files (v1 or v2), `/proc/<pid>/stat` and `status`. Pure parsers, text in
 * and numbers out, so each format is tested on its own; the containerizers do the reading.
 *
 * Units come out as ResourceStatistics has them: cpu times in seconds, memory in bytes.
 * Kernel conventions on the way: cpuacct.stat and /proc times are in USER_HZ ticks (100 a
 * second on every Linux architecture; sysconf(_SC_CLK_TCK) reports the same), cpuacct.usage_*
 * and Docker's usage in nanoseconds, cgroup v2's cpu.stat in microseconds.
 */
import type { ResourceStatistics } from '../../common/types';

/** What a containerizer measured of one container; what it could not measure is absent. */
export type ContainerUsage = Partial<Omit<ResourceStatistics, 'timestampMs'>>;

/** The usage of a container could not be read (gone, not running, unreadable). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** USER_HZ: the unit of cpuacct.stat and of /proc/<pid>/stat times. */
export const TICKS_PER_SECOND = 100;
const NS = 1e9;
const US = 1e6;
/** cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit value; anything this big is none. */
const UNLIMITED_BYTES = 2 ** 62;

// ------------------------------------------------------------------ Docker

interface DockerStats {
  read?: string;
  pids_stats?: { current?: number };
  cpu_stats?: {
    cpu_usage?: { usage_in_usermode?: number; usage_in_kernelmode?: number };
    throttling_data?: { periods?: number; throttled_periods?: number; throttled_time?: number };
  };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

/**
 * `GET /containers/<id>/stats?stream=false` (Engine API). Memory: `rss` is `total_rss` (v1,
 * the cgroup and its children), `rss`, or `anon` on a cgroup v2 host; `total` is `usage`.
 * A container that is not running answers with a zero `read` time and no memory figures.
 */
export function dockerStatistics(json: unknown): ContainerUsage {
  if (typeof json !== 'object' || json === null) throw new UsageError(`docker stats is not a JSON object: ${String(json).slice(0, 80)}`);
  const s = json as DockerStats;
  if (!s.read || s.read.startsWith('0001-01-01') || !s.memory_stats || s.memory_stats.usage === undefined) {
    throw new UsageError('docker has no stats for the container: it is not running');
  }
  const cpu = s.cpu_stats?.cpu_usage ?? {};
  const throttling = s.cpu_stats?.throttling_data ?? {};
  const mem = s.memory_stats;
  const stats = mem.stats ?? {};
  const rss = stats.total_rss ?? stats.rss ?? stats.anon;
  return {
    cpusUserTimeSecs: (cpu.usage_in_usermode ?? 0) / NS,
    cpusSystemTimeSecs: (cpu.usage_in_kernelmode ?? 0) / NS,
    ...(rss !== undefined ? { memRssBytes: rss } : {}),
    memTotalBytes: mem.usage ?? 0,
    ...(mem.limit && mem.limit < UNLIMITED_BYTES ? { memLimitBytes: mem.limit } : {}),
    cpusNrPeriods: throttling.periods ?? 0,
    cpusNrThrottled: throttling.throttled_periods ?? 0,
    cpusThrottledTimeSecs: (throttling.throttled_time ?? 0) / NS,
    ...(s.pids_stats?.current !== undefined ? { processes: s.pids_stats.current } : {}),
  };
}

// ------------------------------------------------------------------ cgroups

/** `key value` lines (cpu.stat, memory.stat, cpuacct.stat) as numbers; other lines are skipped. */
export function flatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v, extra] = line.trim().split(/\s+/);
    if (k && v !== undefined && extra === undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

function singleNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

function countLines(text: string | undefined): number | undefined {
  return text === undefined ? undefined : text.split('\n').filter((l) => l.trim() !== '').length;
}

/** The cgroup v1 files usage is read from, each absent when the kernel does not offer it. */
export interface CgroupV1Files {
  /** cpuacct.usage_user / cpuacct.usage_sys: nanoseconds (kernels since 4.16). */
  cpuacctUsageUser?: string;
  cpuacctUsageSys?: string;
  /** cpuacct.stat: `user` and `system` in USER_HZ ticks, for older kernels. */
  cpuacctStat?: string;
  /** The cpu controller's cpu.stat: nr_periods, nr_throttled, throttled_time (ns). */
  cpuStat?: string;
  memoryStat?: string;
  memoryUsageInBytes?: string;
  memoryLimitInBytes?: string;
  /** cgroup.procs of the memory cgroup: one pid a line. */
  procs?: string;
}

export function cgroupV1Statistics(f: CgroupV1Files): ContainerUsage {
  const out: ContainerUsage = {};
  const user = singleNumber(f.cpuacctUsageUser);
  const sys = singleNumber(f.cpuacctUsageSys);
  if (user !== undefined && sys !== undefined) {
    out.cpusUserTimeSecs = user / NS;
    out.cpusSystemTimeSecs = sys / NS;
  } else if (f.cpuacctStat !== undefined) {
    const st = flatKeyed(f.cpuacctStat);
    out.cpusUserTimeSecs = (st.user ?? 0) / TICKS_PER_SECOND;
    out.cpusSystemTimeSecs = (st.system ?? 0) / TICKS_PER_SECOND;
  }
  if (f.cpuStat !== undefined) {
    const st = flatKeyed(f.cpuStat);
    out.cpusNrPeriods = st.nr_periods ?? 0;
    out.cpusNrThrottled = st.nr_throttled ?? 0;
    out.cpusThrottledTimeSecs = (st.throttled_time ?? 0) / NS;
  }
  if (f.memoryStat !== undefined) {
    // total_rss counts the cgroup's children too; a leaf has none, but say what we mean.
    const st = flatKeyed(f.memoryStat);
    const rss = st.total_rss ?? st.rss;
    if (rss !== undefined) out.memRssBytes = rss;
  }
  const usage = singleNumber(f.memoryUsageInBytes);
  if (usage !== undefined) out.memTotalBytes = usage;
  const limit = singleNumber(f.memoryLimitInBytes);
  if (limit !== undefined && limit < UNLIMITED_BYTES) out.memLimitBytes = limit;
  const processes = countLines(f.procs);
  if (processes !== undefined) out.processes = processes;
  return out;
}

/** The cgroup v2 files usage is read from. */
export interface CgroupV2Files {
  /** usage_usec, user_usec, system_usec, nr_periods, nr_throttled, throttled_usec. */
  cpuStat?: string;
  /** `anon` is the resident anonymous memory. */
  memoryStat?: string;
  memoryCurrent?: string;
  /** A number, or `max`. */
  memoryMax?: string;
  procs?: string;
}

export function cgroupV2Statistics(f: CgroupV2Files): ContainerUsage {
  const out: ContainerUsage = {};
  if (f.cpuStat !== undefined) {
    const st = flatKeyed(f.cpuStat);
    out.cpusUserTimeSecs = (st.user_usec ?? 0) / US;
    out.cpusSystemTimeSecs = (st.system_usec ?? 0) / US;
    out.cpusNrPeriods = st.nr_periods ?? 0;
    out.cpusNrThrottled = st.nr_throttled ?? 0;
    out.cpusThrottledTimeSecs = (st.throttled_usec ?? 0) / US;
  }
  if (f.memoryStat !== undefined) {
    const anon = flatKeyed(f.memoryStat).anon;
    if (anon !== undefined) out.memRssBytes = anon;
  }
  const current = singleNumber(f.memoryCurrent);
  if (current !== undefined) out.memTotalBytes = current;
  const max = singleNumber(f.memoryMax);
  if (max !== undefined) out.memLimitBytes = max;
  const processes = countLines(f.procs);
  if (processes !== undefined) out.processes = processes;
  return out;
}

// ------------------------------------------------------------------ /proc

/** The fields of `/proc/<pid>/stat` usage needs. */
export interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  utimeTicks: number;
  stimeTicks: number;
  /** Times of children it has waited for: they are gone from /proc but were the task's. */
  cutimeTicks: number;
  cstimeTicks: number;
  /** When it started, in clock ticks since boot: with the pid, what tells it from a later process of the same pid. */
  startTicks: number;
}

/** Parses one `/proc/<pid>/stat` line; undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  // The command name, field 2, is in parentheses and may hold spaces and ')': count from the last one.
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, text.indexOf(' ')));
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  const f = text.slice(close + 2).trim().split(' ');
  // After the name: state(3) ppid(4) pgrp(5) … utime(14) stime(15) cutime(16) cstime(17) … starttime(22).
  const at = (field: number) => Number(f[field - 3]);
  const stat = {
    pid, state: f[0] ?? '', pgrp: at(5), utimeTicks: at(14), stimeTicks: at(15), cutimeTicks: at(16), cstimeTicks: at(17), startTicks: at(22),
  };
  return [stat.pgrp, stat.utimeTicks, stat.stimeTicks, stat.cutimeTicks, stat.cstimeTicks, stat.startTicks].every(Number.isFinite) ? stat : undefined;
}

/** `VmRSS:   1234 kB` of `/proc/<pid>/status`, in bytes; 0 for a kernel thread or a zombie, which have none. */
export function parseVmRssBytes(statusText: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(statusText);
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * A process group's usage: the sum over its live members of their own cpu times and those of
 * the children they reaped (so the total does not drop when a short-lived child ends), and of
 * their resident memory. What left the group (setsid) or was reaped by a process outside it
 * is not seen: cgroups, where there are any, count those too.
 */
export function processGroupStatistics(members: readonly { stat: ProcStat; rssBytes: number }[]): ContainerUsage {
  let user = 0, sys = 0, rss = 0;
  for (const { stat, rssBytes } of members) {
    user += stat.utimeTicks + stat.cutimeTicks;
    sys += stat.stimeTicks + stat.cstimeTicks;
    rss += rssBytes;
  }
  return { cpusUserTimeSecs: user / TICKS_PER_SECOND, cpusSystemTimeSecs: sys / TICKS_PER_SECOND, memRssBytes: rss, processes: members.length };
}
