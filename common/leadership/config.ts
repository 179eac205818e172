/**
 * Election options → defaults → one validated, frozen config, checked once when joining. A bad
 * value is an ElectionConfigError naming the option, the value and what would be right.
 */
import { ElectionConfigError } from './errors';
import type { Candidate } from './lease-value';

/**
 * 3 s: a SIGKILLed leader is replaced 2–3 s later (a lease after the followers last saw it
 * renew, which it did at most a renewal interval before dying), leaving the new leader about
 * 2 s of the 5 s failover goal to recover its state. Kubernetes's 15 s would miss the goal;
 * much shorter would make a slow disk or a GC pause depose healthy leaders.
 */
export const DEFAULT_LEASE_MS = 3000;
/**
 * The leader stops believing in its lease this fraction early, so that a follower whose
 * monotonic clock runs up to a few percent fast never takes over while the leader still acts.
 */
export const DEFAULT_DRIFT_MARGIN = 0.1;
/** A request unanswered this long is lost, however long the lease: the default timeout stops here. */
export const MAX_DEFAULT_REQUEST_MS = 5000;
/** Longer is a typo: a leader nobody replaces for ten minutes is an outage, not a lease. */
export const MAX_LEASE_MS = 10 * 60 * 1000;

export interface LeaseTimingOptions {
  /** How long a lease lasts after the renewal that last extended it was sent (default 3000). */
  leaseMs?: number;
  /** How often the leader renews (default a third of the lease). */
  renewEveryMs?: number;
  /** See DEFAULT_DRIFT_MARGIN (default 0.1). */
  driftMargin?: number;
  /** How long one write or read of the lease may take before it counts as failed (default the renewal interval, at most 5000). */
  requestTimeoutMs?: number;
}

export type LeaseTiming = Readonly<Required<LeaseTimingOptions>>;

const integerMs = (option: string, v: number, min: number, max: number): number => {
  if (!Number.isInteger(v) || v < min || v > max) throw new ElectionConfigError(option, v, `expected a whole number of milliseconds in ${min}..${max}`);
  return v;
};

export function leaseTiming(o: LeaseTimingOptions = {}): LeaseTiming {
  const leaseMs = integerMs('leaseMs', o.leaseMs ?? DEFAULT_LEASE_MS, 1, MAX_LEASE_MS);
  const driftMargin = o.driftMargin ?? DEFAULT_DRIFT_MARGIN;
  if (typeof driftMargin !== 'number' || !(driftMargin >= 0 && driftMargin < 0.5)) {
    throw new ElectionConfigError('driftMargin', driftMargin, 'expected a fraction in [0, 0.5)');
  }
  // Two renewals must fit in the time the leader trusts its lease: one lost renewal is not a lost lease.
  const maxRenew = Math.floor((leaseMs * (1 - driftMargin)) / 2);
  if (maxRenew < 1) throw new ElectionConfigError('leaseMs', leaseMs, 'expected a lease long enough for two renewals of at least 1 ms');
  const renewEveryMs = integerMs('renewEveryMs', o.renewEveryMs ?? Math.max(1, Math.min(maxRenew, Math.round(leaseMs / 3))), 1, maxRenew);
  const requestTimeoutMs = integerMs('requestTimeoutMs', o.requestTimeoutMs ?? Math.min(renewEveryMs, MAX_DEFAULT_REQUEST_MS), 1, leaseMs);
  return Object.freeze({ leaseMs, renewEveryMs, driftMargin, requestTimeoutMs });
}

export interface ElectionTarget {
  /** The KV bucket of the cluster's leases (see `leadersBucket`). */
  bucket: string;
  /** The key: who competes with whom (`master`, `services`, `jobs`). */
  group: string;
  candidate: Candidate;
  /** The bucket's replicas: 3 (or 5) on a NATS cluster, 1 on a single server (the default). */
  replicas?: number;
}

export type ElectionConfig = Readonly<{ bucket: string; group: string; candidate: Readonly<Candidate>; replicas: number; timing: LeaseTiming }>;

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function electionConfig(o: ElectionTarget & LeaseTimingOptions): ElectionConfig {
  if (typeof o.bucket !== 'string' || !NAME.test(o.bucket)) throw new ElectionConfigError('bucket', o.bucket, 'expected 1–64 letters, digits, \'_\' or \'-\' (a JetStream bucket name)');
  if (typeof o.group !== 'string' || !NAME.test(o.group)) throw new ElectionConfigError('group', o.group, 'expected 1–64 letters, digits, \'_\' or \'-\' (it is a key of the bucket)');
  const c = o.candidate as Partial<Candidate> | undefined;
  if (typeof c?.id !== 'string' || c.id.trim() === '' || c.id.length > 256) throw new ElectionConfigError('candidate.id', c?.id, 'expected a non-empty string of at most 256 characters');
  if (typeof c.address !== 'string') throw new ElectionConfigError('candidate.address', c.address, 'expected the address clients should be sent to, as a string');
  if (!Number.isSafeInteger(c.pid) || (c.pid as number) < 0) throw new ElectionConfigError('candidate.pid', c.pid, 'expected a process id (an integer ≥ 0)');
  const replicas = o.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new ElectionConfigError('replicas', replicas, 'expected 1 to 5 (3 on a 3-node NATS cluster)');
  const candidate = Object.freeze({ id: c.id, address: c.address, pid: c.pid as number, ...(c.endpoints ? { endpoints: Object.freeze({ ...c.endpoints }) } : {}) });
  return Object.freeze({ bucket: o.bucket, group: o.group, candidate, replicas, timing: leaseTiming(o) });
}

/**
 * The bucket of the frameworks' leases (services, jobs): `<PREFIX>_FRAMEWORKS`, apart from the
 * masters' so that a framework's NATS user may use it and never touch the master's lease.
 */
export const frameworksBucket = (subjectPrefix = 'agora'): string => `${subjectPrefix.replace(/[.]/g, '_').toUpperCase()}_FRAMEWORKS`;

/** The bucket of a cluster's leases: `<PREFIX>_LEADERS`, from its NATS subject prefix (`agora` → `AGORA_LEADERS`). */
export const leadersBucket = (subjectPrefix = 'agora'): string => `${subjectPrefix.replace(/[.]/g, '_').toUpperCase()}_LEADERS`;
