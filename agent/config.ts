/**
 * The agent's configuration: options → defaults → one validated, frozen config, checked once
 * at start-up. Every duration carries its unit in its name. A bad value is an
 * AgentConfigError that names the field, the value and what would be right.
 */
import { hostname as osHostname } from 'os';
import { resolve } from 'path';
import { systemClock, systemRandom, type Clock, type Random } from '../common/clock';
import { parse, ResourceError, type Resources } from '../common/resources';
import { subjects } from '../common/subjects';
import { diskUsageOf } from './gc-collector';
import { detectResources } from './resource-detect';

export type ContainerizerChoice = 'docker' | 'process' | 'auto';
/** `auto`: process containers get cgroup limits when the host allows; `none`: never. */
export type IsolationChoice = 'auto' | 'none';

export type RecoverMode = 'reconnect' | 'cleanup';

export interface AgentOptions {
  natsUrl?: string;
  subjectPrefix?: string;
  workDir?: string;
  /** `cpus:2;mem:1024;ports:[31000-32000]`; what is absent (cpus, mem, disk, ports) is detected. */
  resources?: string;
  hostname?: string;
  httpHost?: string;
  /** 0 picks an ephemeral port; the handle reports the one bound. */
  httpPort?: number;
  containerizer?: ContainerizerChoice;
  dockerSocket?: string;
  defaultImage?: string;
  /**
   * Who a process task runs as when it names no user: default `nobody` on an agent running as
   * root (never root by accident); '' runs it as the agent's own user.
   */
  processUser?: string;
  /** Who a Docker task runs as when it names no user: default nobody (65534:65534); '' for its image's own user. */
  dockerUser?: string;
  /** A Docker image pull that has not finished by then fails the launch. */
  imagePullTimeoutMs?: number;
  /**
   * At most this many of the agent's calls are at the Docker engine at once; the others wait
   * in line, kills first (containerizer/docker-client.ts).
   */
  dockerConcurrentCalls?: number;
  /** How long after one engine probe (`/_ping`, `/info`) ended the next begins. */
  dockerProbeIntervalMs?: number;
  /** An engine probe not answered by then counts as failed. */
  dockerProbeTimeoutMs?: number;
  /** This many failed engine probes in a row make the engine wedged and the agent degraded. */
  dockerProbeFailures?: number;
  isolation?: IsolationChoice;
  /** Overrides the interval the master sends in its register reply. */
  heartbeatIntervalMs?: number;
  statusRetryInitialMs?: number;
  statusRetryMaxMs?: number;
  killGracePeriodMs?: number;
  registerBackoffFactorMs?: number;
  registerBackoffMaxMs?: number;
  /** How long a register or heartbeat request waits for the master's reply. */
  requestTimeoutMs?: number;
  /** How often the usage of the running tasks is measured and sent to the master. */
  usageIntervalMs?: number;
  attributes?: Record<string, string>;
  /**
   * What a restarted agent does with the runs an earlier process of it left: `reconnect`
   * (default) takes them back under the same agent id; `cleanup` kills them all, forgets
   * them and registers as a new agent.
   */
  recover?: RecoverMode;
  /**
   * The longest a finished run's sandbox is kept (Mesos `--gc_delay`); it goes sooner as the
   * disk fills: after gcDelayMs × max(0, 1 − gcDiskHeadroom − usage).
   */
  gcDelayMs?: number;
  /** The fraction of the work directory's disk GC tries to keep free (Mesos `--gc_disk_headroom`). */
  gcDiskHeadroom?: number;
  /** How often the disk is checked and GC looks again (Mesos `--disk_watch_interval`). */
  diskWatchIntervalMs?: number;
  /** The fraction (0..1) of the work directory's filesystem in use; default: statfs. */
  diskUsage?: (workDir: string) => Promise<number>;
  clock?: Clock;
  random?: Random;
}

export interface AgentConfig {
  readonly natsUrl: string;
  readonly subjectPrefix: string;
  readonly workDir: string;
  readonly resources: Resources;
  readonly hostname: string;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly containerizer: ContainerizerChoice;
  readonly dockerSocket: string;
  readonly defaultImage: string;
  /** undefined: the containerizer's default (nobody under root). */
  readonly processUser: string | undefined;
  /** undefined: the Docker containerizer's default (nobody). */
  readonly dockerUser: string | undefined;
  readonly imagePullTimeoutMs: number;
  readonly dockerConcurrentCalls: number;
  readonly dockerProbeIntervalMs: number;
  readonly dockerProbeTimeoutMs: number;
  readonly dockerProbeFailures: number;
  readonly isolation: IsolationChoice;
  readonly heartbeatIntervalMs: number | undefined;
  readonly statusRetryInitialMs: number;
  readonly statusRetryMaxMs: number;
  readonly killGracePeriodMs: number;
  readonly registerBackoffFactorMs: number;
  readonly registerBackoffMaxMs: number;
  readonly requestTimeoutMs: number;
  readonly usageIntervalMs: number;
  readonly attributes: Readonly<Record<string, string>>;
  readonly recover: RecoverMode;
  readonly gcDelayMs: number;
  readonly gcDiskHeadroom: number;
  readonly diskWatchIntervalMs: number;
  readonly diskUsage: (workDir: string) => Promise<number>;
  readonly clock: Clock;
  readonly random: Random;
}

export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
  constructor(readonly field: string, message: string, options?: { cause?: unknown }) {
    super(`invalid agent config '${field}': ${message}`, options);
  }
}

// Mesos's values: status updates resent from 10 s doubling to 10 min; registration backoff
// random in [0, 1 s·2^n] capped at 1 min; the command executor's 3 s kill grace period.
export const DEFAULTS = {
  natsUrl: 'nats://127.0.0.1:4222',
  subjectPrefix: 'agora',
  workDir: '/tmp/agora/agent',
  httpHost: '0.0.0.0',
  httpPort: 5051,
  containerizer: 'auto' as ContainerizerChoice,
  dockerSocket: '/var/run/docker.sock',
  defaultImage: 'agora/busybox:latest',
  imagePullTimeoutMs: 300_000,
  // Eight calls at once keep a burst of removals well clear of Docker 20.10's deadlock
  // (moby/moby#42545) and still launch and kill side by side.
  dockerConcurrentCalls: 8,
  // A probe every 5 s, each given 5 s: three failures in a row, about 30 s of silence,
  // make the engine wedged; a slow moment (a probe late once) does not.
  dockerProbeIntervalMs: 5_000,
  dockerProbeTimeoutMs: 5_000,
  dockerProbeFailures: 3,
  isolation: 'auto' as IsolationChoice,
  statusRetryInitialMs: 10_000,
  statusRetryMaxMs: 600_000,
  killGracePeriodMs: 3_000,
  registerBackoffFactorMs: 1_000,
  registerBackoffMaxMs: 60_000,
  requestTimeoutMs: 5_000,
  // Mesos's GC defaults: a week, 10 % of the disk kept free, the disk checked every minute.
  gcDelayMs: 7 * 24 * 3_600_000,
  gcDiskHeadroom: 0.1,
  diskWatchIntervalMs: 60_000,
  // Mesos's agents are asked for usage when scraped; pushed, 5 s keeps a task's figures fresh
  // at a few hundred bytes per task and interval.
  usageIntervalMs: 5_000,
  ports: '[31000-32000]',
} as const;

/** Applies the defaults, detects missing resources and validates everything. */
export function agentConfig(options: AgentOptions = {}): AgentConfig {
  const o = options;
  const c = checkedChoices(o);
  return Object.freeze({
    natsUrl: c.natsUrl,
    subjectPrefix: c.prefix,
    workDir: c.workDir,
    resources: resourcesOf(o.resources, c.workDir),
    hostname: nonEmpty('hostname', o.hostname ?? osHostname()),
    httpHost: nonEmpty('httpHost', o.httpHost ?? DEFAULTS.httpHost),
    httpPort: port('httpPort', o.httpPort ?? DEFAULTS.httpPort),
    containerizer: c.containerizer,
    dockerSocket: nonEmpty('dockerSocket', o.dockerSocket ?? DEFAULTS.dockerSocket),
    defaultImage: nonEmpty('defaultImage', o.defaultImage ?? DEFAULTS.defaultImage),
    processUser: o.processUser,
    dockerUser: o.dockerUser,
    imagePullTimeoutMs: positive('imagePullTimeoutMs', o.imagePullTimeoutMs ?? DEFAULTS.imagePullTimeoutMs),
    dockerConcurrentCalls: wholeNumber('dockerConcurrentCalls', o.dockerConcurrentCalls ?? DEFAULTS.dockerConcurrentCalls),
    dockerProbeIntervalMs: positive('dockerProbeIntervalMs', o.dockerProbeIntervalMs ?? DEFAULTS.dockerProbeIntervalMs),
    dockerProbeTimeoutMs: positive('dockerProbeTimeoutMs', o.dockerProbeTimeoutMs ?? DEFAULTS.dockerProbeTimeoutMs),
    dockerProbeFailures: wholeNumber('dockerProbeFailures', o.dockerProbeFailures ?? DEFAULTS.dockerProbeFailures),
    isolation: c.isolation,
    heartbeatIntervalMs: o.heartbeatIntervalMs === undefined ? undefined : positive('heartbeatIntervalMs', o.heartbeatIntervalMs),
    statusRetryInitialMs: c.statusRetryInitialMs,
    statusRetryMaxMs: c.statusRetryMaxMs,
    killGracePeriodMs: nonNegative('killGracePeriodMs', o.killGracePeriodMs ?? DEFAULTS.killGracePeriodMs),
    registerBackoffFactorMs: c.registerBackoffFactorMs,
    registerBackoffMaxMs: Math.max(c.registerBackoffMaxMs, c.registerBackoffFactorMs),
    requestTimeoutMs: positive('requestTimeoutMs', o.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs),
    usageIntervalMs: positive('usageIntervalMs', o.usageIntervalMs ?? DEFAULTS.usageIntervalMs),
    attributes: Object.freeze(attributesOf(o.attributes ?? {})),
    recover: c.recover,
    gcDelayMs: nonNegative('gcDelayMs', o.gcDelayMs ?? DEFAULTS.gcDelayMs),
    gcDiskHeadroom: c.gcDiskHeadroom,
    diskWatchIntervalMs: positive('diskWatchIntervalMs', o.diskWatchIntervalMs ?? DEFAULTS.diskWatchIntervalMs),
    diskUsage: o.diskUsage ?? diskUsageOf,
    clock: o.clock ?? systemClock,
    random: o.random ?? systemRandom,
  });
}

/**
 * The options checked against a list of choices or against each other, before the rest, in
 * the order a bad one is reported.
 */
function checkedChoices(o: AgentOptions) {
  const prefix = o.subjectPrefix ?? DEFAULTS.subjectPrefix;
  try {
    subjects(prefix);
  } catch (err) {
    throw new AgentConfigError('subjectPrefix', (err as Error).message, { cause: err });
  }
  const natsUrl = nonEmpty('natsUrl', o.natsUrl ?? DEFAULTS.natsUrl);
  const workDir = resolve(nonEmpty('workDir', o.workDir ?? DEFAULTS.workDir));
  const containerizer = o.containerizer ?? DEFAULTS.containerizer;
  if (!['docker', 'process', 'auto'].includes(containerizer)) {
    throw new AgentConfigError('containerizer', `'${String(containerizer)}' is not one of docker, process, auto`);
  }
  const isolation = o.isolation ?? DEFAULTS.isolation;
  if (!['auto', 'none'].includes(isolation)) {
    throw new AgentConfigError('isolation', `'${String(isolation)}' is not one of auto, none`);
  }
  const statusRetryInitialMs = positive('statusRetryInitialMs', o.statusRetryInitialMs ?? DEFAULTS.statusRetryInitialMs);
  const statusRetryMaxMs = positive('statusRetryMaxMs', o.statusRetryMaxMs ?? DEFAULTS.statusRetryMaxMs);
  if (statusRetryMaxMs < statusRetryInitialMs) {
    throw new AgentConfigError('statusRetryMaxMs', `${statusRetryMaxMs} is below statusRetryInitialMs ${statusRetryInitialMs}`);
  }
  const recover = o.recover ?? 'reconnect';
  if (recover !== 'reconnect' && recover !== 'cleanup') {
    throw new AgentConfigError('recover', `'${String(recover)}' is not one of reconnect, cleanup`);
  }
  const registerBackoffFactorMs = positive('registerBackoffFactorMs', o.registerBackoffFactorMs ?? DEFAULTS.registerBackoffFactorMs);
  const registerBackoffMaxMs = positive('registerBackoffMaxMs', o.registerBackoffMaxMs ?? DEFAULTS.registerBackoffMaxMs);
  const gcDiskHeadroom = o.gcDiskHeadroom ?? DEFAULTS.gcDiskHeadroom;
  if (!Number.isFinite(gcDiskHeadroom) || gcDiskHeadroom < 0 || gcDiskHeadroom >= 1) {
    throw new AgentConfigError('gcDiskHeadroom', `${gcDiskHeadroom} must be a fraction in [0, 1), e.g. 0.1 to keep 10 % of the disk free`);
  }
  if (o.diskUsage !== undefined && typeof o.diskUsage !== 'function') throw new AgentConfigError('diskUsage', 'must be a function of the work directory');
  return { prefix, natsUrl, workDir, containerizer, isolation, statusRetryInitialMs, statusRetryMaxMs, recover, registerBackoffFactorMs, registerBackoffMaxMs, gcDiskHeadroom };
}

/** Parses `k:v;k2:v2`, the `--attributes` flag syntax. */
export function parseAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(';').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf(':');
    if (i <= 0) throw new AgentConfigError('attributes', `'${part}' is not key:value, e.g. rack:r1;zone:a`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a duration as flags give it: a number and a unit, `500ms`, `30s`, `10m`, `1h`,
 * `7d`, `2w`, also combined (`1h30m`) or with a fraction (`1.5h`); in milliseconds. `field`
 * names the setting in the error.
 */
export function parseDuration(field: string, text: string): number {
  const s = text.trim();
  const unitList = 'ms, s, m, h, d, w';
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(s)) {
    throw new AgentConfigError(field, `'${text}' is not a duration: a number and a unit (${unitList}), e.g. 30s, 10m, 1h, 7d or 1h30m`);
  }
  let ms = 0;
  for (const [, n, , unit] of s.matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d|w)/g)) ms += Number(n) * DURATION_UNITS_MS[unit!]!;
  if (!Number.isSafeInteger(Math.round(ms))) throw new AgentConfigError(field, `'${text}' is too long a duration`);
  return Math.round(ms);
}

/** Given resources win; the predefined ones the operator left out are detected (as Mesos does). */
function resourcesOf(text: string | undefined, workDir: string): Resources {
  let given: Resources;
  try {
    given = parse(text ?? '');
  } catch (err) {
    if (err instanceof ResourceError) throw new AgentConfigError('resources', err.message, { cause: err });
    throw err;
  }
  return detectResources(given, workDir, DEFAULTS.ports);
}

function attributesOf(attrs: Record<string, string>): Record<string, string> {
  for (const [k, v] of Object.entries(attrs)) {
    if (!/^[A-Za-z0-9_.-]+$/.test(k)) throw new AgentConfigError('attributes', `key '${k}' must be letters, digits, '_', '.', '-'`);
    if (typeof v !== 'string') throw new AgentConfigError('attributes', `value of '${k}' must be a string`);
  }
  return { ...attrs };
}

function nonEmpty(field: string, v: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new AgentConfigError(field, 'must be a non-empty string');
  return v;
}

function positive(field: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new AgentConfigError(field, `${v} must be a number > 0`);
  return v;
}

function wholeNumber(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new AgentConfigError(field, `${v} must be a whole number ≥ 1`);
  return v;
}

function nonNegative(field: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new AgentConfigError(field, `${v} must be a number ≥ 0`);
  return v;
}

function port(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new AgentConfigError(field, `${v} must be an integer port in 0..65535 (0: any free port)`);
  return v;
}
