/**
 * The master's configuration: options → defaults → one validated, frozen config. Checked once
 * at start-up; a bad value is a ConfigError that names the option, the value and what would
 * be right, so a typo in a flag never surfaces later as a strange runtime failure.
 */
import { hostname as osHostname } from 'os';
import { systemClock, systemRandom, type Clock, type Random } from '../common/clock';
import { parse, ResourceError, type Resources } from '../common/resources';
import { subjects } from '../common/subjects';

export const MASTER_VERSION = '0.1.0';

/** Mesos caps refuse_seconds at 365 days: longer is a typo, not a wish. */
export const MAX_REFUSE_MS = 365 * 24 * 60 * 60 * 1000;

/** Ten years: a longer age is a typo, and in nanoseconds it nears what JetStream's int64 holds. */
export const MAX_OFFER_LOG_AGE_MS = 10 * 365 * 24 * 60 * 60 * 1000;

export interface MasterOptions {
  natsUrl?: string;
  /** The NATS subject prefix; two clusters can share one NATS with different prefixes. */
  subjectPrefix?: string;
  /** The address the HTTP and gRPC servers bind to. */
  host?: string;
  /** 0 picks a free port; the handle reports the actual one. */
  httpPort?: number;
  grpcPort?: number;
  allocationIntervalMs?: number;
  /**
   * An offer nobody answers within this long is rescinded (RESCIND to the framework, EXPIRED
   * in the offer log) and its resources go back to the allocator; 0: offers never expire.
   * Mesos's `--offer_timeout` is off by default, and there a framework that hoards offers
   * (a stuck scheduler, one waiting for more than it will ever get) starves every other
   * framework of those agents for as long as it lives. 60 s is what we ship: far longer than
   * a healthy framework takes to answer, short enough that a stuck one is not noticed by others.
   */
  offerTimeoutMs?: number;
  frameworkHeartbeatIntervalMs?: number;
  /** Told to agents when they register: how often they should heartbeat. */
  agentHeartbeatIntervalMs?: number;
  /**
   * Heartbeats an agent may miss before it is unreachable: after interval × this, silence.
   * 5 s × 3 by default, against Mesos's 15 s × 5: a partition is noticed in seconds.
   */
  agentMaxMissedHeartbeats?: number;
  /**
   * How long an agent recovered from the registry (a master that took over) has to register
   * again before it is unreachable. Until then it gets no offers and reconciliation gives no
   * answer for tasks on it — the master does not know them yet, and guessing (LOST,
   * UNREACHABLE) would make frameworks replace tasks that never stopped. Mesos's
   * `--agent_reregister_timeout`, 10 min by default; agents told of a new master come back
   * within a heartbeat, so the window only matters for agents that died with the old master.
   */
  agentReregisterTimeoutMs?: number;
  /**
   * When the master's own link to NATS returns after an outage, how long before it judges
   * agents' silence again. Agents lost NATS too and reconnect on their own schedule (nats.js
   * tries every 2 s, a restarting NATS cluster takes longer), so the agent timeout alone would
   * declare unreachable agents that are only a retry away. Nomad grants client heartbeats 5 min
   * after a leader change; 30 s is enough for a reconnect and short enough to notice the dead.
   */
  agentReconnectGraceMs?: number;
  /**
   * A task still STAGING this long after its run message was sent is asked about on its agent
   * (and again every heartbeat interval): NATS delivers at most once, so a run message sent
   * while the agent was reconnecting is lost, and the task would wait forever. An agent that
   * never got it answers TASK_DROPPED; one that did is already sending its updates.
   */
  stagingCheckAfterMs?: number;
  /** How long declined or unused resources stay away when a framework gives no refuse_seconds. */
  defaultRefuseMs?: number;
  /** Free resources smaller than all of these are not offered, e.g. 'cpus:0.01|mem:32'. */
  minAllocatable?: string | readonly string[];
  /** Role weights for DRF; a role not listed weighs 1. */
  weights?: Readonly<Record<string, number>>;
  /** How many offer-log events the master keeps for replay. */
  offerLogCapacity?: number;
  /** The durable offer log (a JetStream stream) keeps at most this many bytes; the oldest lines go first. */
  offerLogMaxBytes?: number;
  /** …and no line older than this. */
  offerLogMaxAgeMs?: number;
  /** The durable offer log's JetStream replicas: 3 on a 3-node NATS cluster (an HA master passes its lease's). */
  offerLogReplicas?: number;
  /**
   * How many operator events (GET /api/v1/events) the master keeps for clients resuming with
   * Last-Event-ID; one away for longer is told to RESYNC. About 1 kB each.
   */
  operatorEventCapacity?: number;
  /** How often an operator event stream gets a HEARTBEAT event. */
  operatorHeartbeatIntervalMs?: number;
  /**
   * Bytes of events a client may leave unread before the master cuts its stream, so that a
   * stalled reader cannot grow the master's memory without bound: GET /api/v1/events (it
   * resumes with Last-Event-ID; room for the whole journal replayed), GET
   * /api/v1/offers/events, and a framework's Subscribe (ended RESOURCE_EXHAUSTED; it
   * subscribes again with its id).
   */
  maxEventBacklogBytes?: number;
  maxOfferEventBacklogBytes?: number;
  maxSubscriberBacklogBytes?: number;
  /**
   * Whether `/metrics` has per-task usage series (a handful per live task): off for clusters
   * whose task count would swamp Prometheus; `/api/v1/state` shows the usage either way.
   */
  taskUsageMetrics?: boolean;
  /**
   * The epoch this master leads with: a positive integer that only grows from one leader to the
   * next (the election's win revision). It fences every effect: registry writes (Redis refuses an
   * older one), run, kill and ack messages (agents drop an older one), offer ids (an Accept of
   * another epoch's offer is refused). 1 for a master without election.
   */
  epoch?: number;
  clock?: Clock;
  random?: Random;
  /** The name the master reports in MasterInfo. */
  hostname?: string;
}

export interface MasterConfig {
  readonly natsUrl: string;
  readonly subjectPrefix: string;
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly allocationIntervalMs: number;
  readonly offerTimeoutMs: number;
  readonly frameworkHeartbeatIntervalMs: number;
  readonly agentHeartbeatIntervalMs: number;
  readonly agentMaxMissedHeartbeats: number;
  readonly agentReregisterTimeoutMs: number;
  readonly agentReconnectGraceMs: number;
  readonly stagingCheckAfterMs: number;
  readonly defaultRefuseMs: number;
  readonly minAllocatable: readonly Resources[];
  readonly weights: ReadonlyMap<string, number>;
  readonly offerLogCapacity: number;
  readonly offerLogMaxBytes: number;
  readonly offerLogMaxAgeMs: number;
  readonly offerLogReplicas: number;
  readonly operatorEventCapacity: number;
  readonly operatorHeartbeatIntervalMs: number;
  readonly maxEventBacklogBytes: number;
  readonly maxOfferEventBacklogBytes: number;
  readonly maxSubscriberBacklogBytes: number;
  readonly taskUsageMetrics: boolean;
  readonly epoch: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly hostname: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly option: string, readonly value: unknown, expected: string) {
    super(`invalid master option ${option}=${JSON.stringify(value)}: ${expected}`);
  }
}

export const DEFAULTS = {
  natsUrl: 'nats://127.0.0.1:4222',
  subjectPrefix: 'agora',
  host: '0.0.0.0',
  httpPort: 5050,
  grpcPort: 5053,
  allocationIntervalMs: 1000,
  offerTimeoutMs: 60_000,
  frameworkHeartbeatIntervalMs: 15_000,
  agentHeartbeatIntervalMs: 5000,
  agentMaxMissedHeartbeats: 3,
  agentReregisterTimeoutMs: 10 * 60 * 1000,
  agentReconnectGraceMs: 30_000,
  stagingCheckAfterMs: 10_000,
  defaultRefuseMs: 5000,
  minAllocatable: 'cpus:0.01|mem:32',
  offerLogCapacity: 1000,
  offerLogMaxBytes: 64 * 1024 * 1024,
  offerLogMaxAgeMs: 7 * 24 * 60 * 60 * 1000,
  offerLogReplicas: 1,
  operatorEventCapacity: 10_000,
  // Mesos's operator API heartbeats its event streams every 15 s.
  operatorHeartbeatIntervalMs: 15_000,
  maxEventBacklogBytes: 64 * 1024 * 1024,
  maxOfferEventBacklogBytes: 16 * 1024 * 1024,
  maxSubscriberBacklogBytes: 64 * 1024 * 1024,
  taskUsageMetrics: true,
  epoch: 1,
} as const;

function port(option: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new ConfigError(option, v, 'expected an integer port in 0..65535 (0 picks a free one)');
  return v;
}

function durationMs(option: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isFinite(v) || v < min || v > max) throw new ConfigError(option, v, `expected a number of milliseconds in ${min}..${max}`);
  return v;
}

function nonEmpty(option: string, v: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(option, v, 'expected a non-empty string');
  return v;
}

function minAllocatable(v: string | readonly string[]): Resources[] {
  const parts = typeof v === 'string' ? v.split('|') : [...v];
  return parts.map((p) => p.trim()).filter(Boolean).map((p) => {
    try {
      return parse(p);
    } catch (err) {
      if (err instanceof ResourceError) throw new ConfigError('minAllocatable', v, err.message);
      throw err;
    }
  });
}

function weights(v: Readonly<Record<string, number>>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [role, w] of Object.entries(v)) {
    if (!role || !Number.isFinite(w) || w <= 0) throw new ConfigError(`weights.${role}`, w, 'expected a role name with a weight > 0');
    out.set(role, w);
  }
  return out;
}

export function resolveConfig(options: MasterOptions = {}): MasterConfig {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  const prefix = nonEmpty('subjectPrefix', o.subjectPrefix);
  try {
    subjects(prefix);
  } catch (err) {
    throw new ConfigError('subjectPrefix', prefix, (err as Error).message);
  }
  return Object.freeze({
    natsUrl: nonEmpty('natsUrl', o.natsUrl),
    subjectPrefix: prefix,
    host: nonEmpty('host', o.host),
    httpPort: port('httpPort', o.httpPort),
    grpcPort: port('grpcPort', o.grpcPort),
    allocationIntervalMs: durationMs('allocationIntervalMs', o.allocationIntervalMs, 1),
    offerTimeoutMs: durationMs('offerTimeoutMs', o.offerTimeoutMs, 0),
    frameworkHeartbeatIntervalMs: durationMs('frameworkHeartbeatIntervalMs', o.frameworkHeartbeatIntervalMs, 1),
    agentHeartbeatIntervalMs: durationMs('agentHeartbeatIntervalMs', o.agentHeartbeatIntervalMs, 1),
    agentMaxMissedHeartbeats: positiveInt('agentMaxMissedHeartbeats', o.agentMaxMissedHeartbeats),
    agentReregisterTimeoutMs: durationMs('agentReregisterTimeoutMs', o.agentReregisterTimeoutMs, 1),
    agentReconnectGraceMs: durationMs('agentReconnectGraceMs', o.agentReconnectGraceMs, 0),
    stagingCheckAfterMs: durationMs('stagingCheckAfterMs', o.stagingCheckAfterMs, 1),
    defaultRefuseMs: durationMs('defaultRefuseMs', o.defaultRefuseMs, 0, MAX_REFUSE_MS),
    minAllocatable: minAllocatable(o.minAllocatable),
    weights: weights(options.weights ?? {}),
    offerLogCapacity: positiveInt('offerLogCapacity', o.offerLogCapacity),
    offerLogMaxBytes: positiveInt('offerLogMaxBytes', o.offerLogMaxBytes),
    // JetStream keeps ages in nanoseconds; under a second it would prune lines as they land.
    offerLogMaxAgeMs: durationMs('offerLogMaxAgeMs', o.offerLogMaxAgeMs, 1000, MAX_OFFER_LOG_AGE_MS),
    offerLogReplicas: positiveInt('offerLogReplicas', o.offerLogReplicas),
    operatorEventCapacity: positiveInt('operatorEventCapacity', o.operatorEventCapacity),
    operatorHeartbeatIntervalMs: durationMs('operatorHeartbeatIntervalMs', o.operatorHeartbeatIntervalMs, 1),
    maxEventBacklogBytes: positiveInt('maxEventBacklogBytes', o.maxEventBacklogBytes),
    maxOfferEventBacklogBytes: positiveInt('maxOfferEventBacklogBytes', o.maxOfferEventBacklogBytes),
    maxSubscriberBacklogBytes: positiveInt('maxSubscriberBacklogBytes', o.maxSubscriberBacklogBytes),
    taskUsageMetrics: bool('taskUsageMetrics', o.taskUsageMetrics),
    epoch: epoch(o.epoch),
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    hostname: nonEmpty('hostname', options.hostname ?? osHostname()),
  });
}

function bool(option: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(option, v, 'expected true or false');
  return v;
}

/** Safe, so that Redis's Lua (doubles) and the agents' checkpoints compare it exactly. */
function epoch(v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new ConfigError('epoch', v, 'expected an integer in 1..2^53-1');
  return v;
}

function positiveInt(option: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(option, v, 'expected an integer ≥ 1');
  return v;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The host others should reach this master at: the address it binds to, unless that is every
 * address (0.0.0.0, ::), when its hostname.
 */
export const advertisedHost = (c: Pick<MasterConfig, 'host' | 'hostname'>): string =>
  (c.host === '0.0.0.0' || c.host === '::' ? c.hostname : c.host);
