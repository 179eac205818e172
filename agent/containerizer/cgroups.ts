/**
 * Resource limits for process containers through Linux control groups, v1 or v2.
 *
 * Each container gets a cgroup of its own under an `agora` parent, which sits inside the
 * agent's own cgroup rather than at the root of the hierarchy: whatever limits the agent
 * itself runs under (a systemd unit, an outer container) keep holding its tasks too.
 *
 *   v1: <mount>/memory/<agent's memory cgroup>/agora/<containerId>   memory.limit_in_bytes, memory.memsw.limit_in_bytes
 *       <mount>/cpu/<agent's cpu cgroup>/agora/<containerId>         cpu.cfs_quota_us (cpus × cpu.cfs_period_us), cpu.shares
 *       <mount>/cpuacct/<agent's cpuacct cgroup>/agora/<containerId> no limits: cpu time accounting, when cpuacct is
 *                                                                    a hierarchy of its own (else it is the cpu one)
 *   v2: <mount>/<agent's cgroup>/agora/<containerId>                  memory.max, memory.swap.max = 0, cpu.max
 *
 * Detection says plainly why limits cannot be had (not root, read-only, a controller
 * missing), so the agent can report it once and run tasks without them.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { cgroupV1Statistics, cgroupV2Statistics, type ContainerUsage } from './statistics';

export type CgroupsVersion = 'v1' | 'v2';

/** What `/state` shows about isolation: the cgroups version in use, or 'none' and why. */
export interface IsolationView {
  cgroups: CgroupsVersion | 'none';
  why: string;
}

export interface CgroupLimits {
  /** Hard memory limit; no swap beyond it where the kernel lets us say so. */
  memBytes?: number;
  /** CPU time per period, as a number of cores (0.5 = half a core). */
  cpus?: number;
}

/** One container's cgroup (on v1, one directory per controller). */
export interface ContainerCgroup {
  /** The cgroup directories, one per v1 controller or the single v2 one. */
  readonly dirs: readonly string[];
  /** Moves a process (and the threads of it) into the cgroup, in every controller. */
  addProcess(pid: number): void;
  /** The processes in it now. */
  pids(): number[];
  /** Whether the kernel's OOM killer killed a process of it for exceeding the limit. */
  oomKilled(): boolean;
  /** What its processes use now, as far as its controllers account for it. */
  usage(): ContainerUsage;
  /** Kills whatever still runs in it and removes it. Idempotent. */
  destroy(): Promise<void>;
}

export interface Cgroups {
  readonly version: CgroupsVersion;
  /** The `agora` parent directories the containers' cgroups are made in. */
  readonly parents: readonly string[];
  create(containerId: string, limits: CgroupLimits): ContainerCgroup;
  /** A container's cgroup made by an earlier agent process, if it is still there. */
  open(containerId: string): ContainerCgroup | undefined;
}

export class CgroupError extends Error {
  override readonly name = 'CgroupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface DetectOptions {
  /** Where the cgroup filesystems are mounted. */
  mount?: string;
  /** The text of /proc/self/cgroup: where the agent itself is. */
  selfCgroup?: string;
  /** The directory name the containers' cgroups are grouped under. */
  parent?: string;
  /** The agent's uid (only root can make cgroups and move tasks into them). */
  uid?: number;
}

export type Detection = { ok: true; cgroups: Cgroups; view: IsolationView } | { ok: false; view: IsolationView };

/** The CFS period Mesos and Docker use when a cgroup does not tell its own. */
const DEFAULT_CFS_PERIOD_US = 100_000;
/** The kernel refuses quotas under 1 ms. */
const MIN_CFS_QUOTA_US = 1_000;
/** How often destroy kills and retries before it gives up on a cgroup that stays busy. */
const DESTROY_ATTEMPTS = 200;
const DESTROY_RETRY_MS = 10;

/** Finds which cgroups version this host runs and whether the agent may use it. */
export function detectCgroups(opts: DetectOptions = {}): Detection {
  const mount = opts.mount ?? '/sys/fs/cgroup';
  const parent = opts.parent ?? 'agora';
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  const none = (why: string): Detection => ({ ok: false, view: { cgroups: 'none', why } });
  if (process.platform !== 'linux' && opts.mount === undefined) return none(`cgroups exist only on Linux (this is ${process.platform})`);
  if (uid !== 0) return none(`the agent runs as uid ${uid}, not root: it cannot create cgroups or move tasks into them`);
  let self: string;
  try {
    self = opts.selfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8');
  } catch (err) {
    return none(`cannot read /proc/self/cgroup: ${(err as Error).message}`);
  }
  try {
    const cgroups = existsSync(join(mount, 'cgroup.controllers'))
      ? v2(mount, ownPath(self, ''), parent)
      : v1(mount, self, parent);
    return { ok: true, cgroups, view: { cgroups: cgroups.version, why: `limits in ${cgroups.parents.join(', ')}` } };
  } catch (err) {
    return none((err as Error).message);
  }
}

/** The agent's own cgroup path for a v1 controller ('' = the v2 unified line `0::`). */
export function ownPath(procSelfCgroup: string, controller: string): string {
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const names = m[1]!.split(',');
    if (controller === '' ? m[1] === '' : names.includes(controller)) return m[2]!;
  }
  return '/';
}

/**
 * The directory the agent's own cgroup has under a mount. Inside a container the path in
 * /proc/self/cgroup may be the host's while the mount shows only the container's subtree:
 * then the mount's root is the agent's cgroup.
 */
function ownDir(mountDir: string, path: string): string {
  const dir = join(mountDir, path);
  return existsSync(dir) ? dir : mountDir;
}

function v1(mount: string, self: string, parent: string): Cgroups {
  const memRoot = join(mount, 'memory');
  const cpuRoot = join(mount, 'cpu');
  if (!existsSync(join(memRoot, 'memory.limit_in_bytes'))) throw new CgroupError(`cgroup v1 without the memory controller (no ${memRoot})`);
  if (!existsSync(join(cpuRoot, 'cpu.cfs_quota_us'))) throw new CgroupError(`cgroup v1 without CFS bandwidth control (no ${join(cpuRoot, 'cpu.cfs_quota_us')})`);
  const memParent = join(ownDir(memRoot, ownPath(self, 'memory')), parent);
  const cpuParent = join(ownDir(cpuRoot, ownPath(self, 'cpu')), parent);
  // cpu time is accounted by cpuacct: often co-mounted with cpu (`cpu,cpuacct`), then the cpu
  // cgroup has its files; else a hierarchy of its own, where each container needs a cgroup
  // too. Without either, usage falls back to /proc.
  const cpuacctRoot = join(mount, 'cpuacct');
  const cpuacctParent = !existsSync(join(cpuRoot, 'cpuacct.usage')) && existsSync(join(cpuacctRoot, 'cpuacct.usage'))
    ? join(ownDir(cpuacctRoot, ownPath(self, 'cpuacct')), parent)
    : undefined;
  const parents = cpuacctParent ? [memParent, cpuParent, cpuacctParent] : [memParent, cpuParent];
  for (const dir of parents) makeDir(dir);
  return {
    version: 'v1',
    parents,
    create(containerId, limits) {
      const made: string[] = [];
      try {
        for (const dir of parents.map((p) => join(p, containerId))) { makeDir(dir); made.push(dir); }
        writeV1Limits(join(memParent, containerId), join(cpuParent, containerId), limits);
      } catch (err) {
        for (const dir of made.reverse()) removeDir(dir);
        throw err;
      }
      return this.open(containerId) as ContainerCgroup;
    },
    open(containerId) {
      const mem = join(memParent, containerId);
      const cpu = join(cpuParent, containerId);
      if (!existsSync(mem) || !existsSync(cpu)) return undefined;
      // A run an older agent started may have no cpuacct cgroup: its cpu time comes from /proc.
      const acct = cpuacctParent ? join(cpuacctParent, containerId) : cpu;
      const dirs = acct !== cpu && existsSync(acct) ? [mem, cpu, acct] : [mem, cpu];
      return containerCgroup(dirs, () => v1OomKilled(mem), () => v1Statistics(mem, cpu, acct));
    },
  };
}

/** A v1 container's memory limit (swap included where the kernel accounts it) and cpu quota and shares. */
function writeV1Limits(mem: string, cpu: string, limits: CgroupLimits): void {
  if (limits.memBytes !== undefined) {
    write(join(mem, 'memory.limit_in_bytes'), limits.memBytes);
    // Without swap accounting the file is absent and swap cannot be limited here.
    const memsw = join(mem, 'memory.memsw.limit_in_bytes');
    if (existsSync(memsw)) write(memsw, limits.memBytes);
  }
  if (limits.cpus !== undefined) {
    const period = readNumber(join(cpu, 'cpu.cfs_period_us')) ?? DEFAULT_CFS_PERIOD_US;
    write(join(cpu, 'cpu.cfs_quota_us'), cfsQuotaUs(limits.cpus, period));
    write(join(cpu, 'cpu.shares'), Math.max(2, Math.round(limits.cpus * 1024)));
  }
}

function v1OomKilled(mem: string): boolean {
  // oom_kill counts kills since 4.13; older kernels only say the limit was hit.
  const control = keyValues(read(join(mem, 'memory.oom_control')));
  if (control.oom_kill !== undefined) return control.oom_kill > 0;
  return (readNumber(join(mem, 'memory.failcnt')) ?? 0) > 0;
}

function v1Statistics(mem: string, cpu: string, acct: string): ContainerUsage {
  return cgroupV1Statistics({
    cpuacctUsageUser: readIfThere(join(acct, 'cpuacct.usage_user')),
    cpuacctUsageSys: readIfThere(join(acct, 'cpuacct.usage_sys')),
    cpuacctStat: readIfThere(join(acct, 'cpuacct.stat')),
    cpuStat: readIfThere(join(cpu, 'cpu.stat')),
    memoryStat: readIfThere(join(mem, 'memory.stat')),
    memoryUsageInBytes: readIfThere(join(mem, 'memory.usage_in_bytes')),
    memoryLimitInBytes: readIfThere(join(mem, 'memory.limit_in_bytes')),
    procs: readIfThere(join(mem, 'cgroup.procs')),
  });
}

function v2(mount: string, self: string, parent: string): Cgroups {
  const controllers = read(join(mount, 'cgroup.controllers')).split(/\s+/);
  for (const c of ['memory', 'cpu']) {
    if (!controllers.includes(c)) throw new CgroupError(`cgroup v2 without the ${c} controller (not in ${join(mount, 'cgroup.controllers')})`);
  }
  const own = ownDir(mount, self);
  const parentDir = join(own, parent);
  // v2 gives a cgroup's children controllers only if it holds no processes itself (the
  // root excepted): an agent sharing its cgroup with other processes must be moved to a
  // cgroup of its own first (systemd: Delegate=yes), and this says so.
  enableControllers(own);
  makeDir(parentDir);
  enableControllers(parentDir);
  return {
    version: 'v2',
    parents: [parentDir],
    create(containerId, limits) {
      const dir = join(parentDir, containerId);
      makeDir(dir);
      try {
        if (limits.memBytes !== undefined) {
          write(join(dir, 'memory.max'), limits.memBytes);
          const swap = join(dir, 'memory.swap.max');
          if (existsSync(swap)) write(swap, 0);
        }
        if (limits.cpus !== undefined) {
          writeFileSync(join(dir, 'cpu.max'), `${cfsQuotaUs(limits.cpus, DEFAULT_CFS_PERIOD_US)} ${DEFAULT_CFS_PERIOD_US}`);
        }
      } catch (err) {
        removeDir(dir);
        throw err;
      }
      return this.open(containerId) as ContainerCgroup;
    },
    open(containerId) {
      const dir = join(parentDir, containerId);
      if (!existsSync(dir)) return undefined;
      return containerCgroup([dir], () => (keyValues(read(join(dir, 'memory.events'))).oom_kill ?? 0) > 0, () => cgroupV2Statistics({
        cpuStat: readIfThere(join(dir, 'cpu.stat')),
        memoryStat: readIfThere(join(dir, 'memory.stat')),
        memoryCurrent: readIfThere(join(dir, 'memory.current')),
        memoryMax: readIfThere(join(dir, 'memory.max')),
        procs: readIfThere(join(dir, 'cgroup.procs')),
      }));
    },
  };
}

function enableControllers(dir: string): void {
  try {
    writeFileSync(join(dir, 'cgroup.subtree_control'), '+memory +cpu');
  } catch (err) {
    const busy = (err as NodeJS.ErrnoException).code === 'EBUSY' ? ' (it holds processes: run the agent in a cgroup of its own)' : '';
    throw new CgroupError(`cannot enable the memory and cpu controllers for the children of ${dir}: ${(err as Error).message}${busy}`, { cause: err });
  }
}

/** cpus × period, never below what the kernel accepts. */
export function cfsQuotaUs(cpus: number, periodUs: number): number {
  return Math.max(MIN_CFS_QUOTA_US, Math.round(cpus * periodUs));
}

function containerCgroup(dirs: string[], oomKilled: () => boolean, usage: () => ContainerUsage): ContainerCgroup {
  let destroyed = false;
  const pids = (): number[] => {
    const all = new Set<number>();
    for (const dir of dirs) {
      try {
        for (const p of read(join(dir, 'cgroup.procs')).split('\n')) if (p.trim()) all.add(Number(p));
      } catch {
        // Already removed.
      }
    }
    return [...all];
  };
  return {
    dirs,
    addProcess(pid) {
      for (const dir of dirs) write(join(dir, 'cgroup.procs'), pid);
    },
    pids,
    oomKilled() {
      try {
        return oomKilled();
      } catch {
        return false;
      }
    },
    usage,
    async destroy() {
      if (destroyed) return;
      // Killing by cgroup reaches what left the task's process group (setsid, daemons);
      // a cgroup with processes in it cannot be removed, so kill until it is empty.
      for (let attempt = 0; ; attempt++) {
        for (const pid of pids()) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Gone meanwhile.
          }
        }
        const left = dirs.filter((dir) => !removeDir(dir));
        if (left.length === 0) break;
        if (attempt >= DESTROY_ATTEMPTS) throw new CgroupError(`cgroup ${left.join(', ')} stays busy after killing its processes`);
        await new Promise((r) => setTimeout(r, DESTROY_RETRY_MS));
      }
      destroyed = true;
    },
  };
}

function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new CgroupError(`cannot create cgroup ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Removes a cgroup directory; false while it still holds processes. */
function removeDir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'EBUSY') return false;
    throw new CgroupError(`cannot remove cgroup ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

function write(file: string, value: number): void {
  try {
    writeFileSync(file, String(value));
  } catch (err) {
    throw new CgroupError(`cannot write ${value} to ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function read(file: string): string {
  return readFileSync(file, 'utf8');
}

/** A cgroup file's text, or undefined where this kernel (or a removed cgroup) has none. */
function readIfThere(file: string): string | undefined {
  try {
    return read(file);
  } catch {
    return undefined;
  }
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(read(file).trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** `key value` lines (memory.oom_control, memory.events) as numbers. */
export function keyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) out[k] = Number(v);
  }
  return out;
}
