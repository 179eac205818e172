/**
 * What the lease key holds, and what a candidate learns from it: the leader's identity as JSON,
 * `{ id, address, pid, session, epoch?, leaseMs }`. The codec is the only code that reads the
 * bytes; everything else works on `LeaseValue`.
 */

/** Who stands for election: what clients are redirected to when it leads. */
export interface Candidate {
  /** Unique among the group's candidates, stable across restarts (`master-1`, a host name). */
  id: string;
  /** What clients should be sent to while it leads (`http://10.0.0.5:5050`). */
  address: string;
  pid: number;
  /** Other addresses its clients need, by name (a master's `grpc`, host:port). */
  endpoints?: Readonly<Record<string, string>>;
}

export interface LeaseValue extends Candidate {
  /**
   * Random per join. Tells this process's writes from those of an earlier one with the same
   * `id` (a restarted master), whose lease it must not mistake for its own.
   */
  session: string;
  /** The revision at which the lease was won; absent on the winning write itself, whose revision it is. */
  epoch?: number;
  /** The holder's lease: a follower waits the longer of this and its own before taking over. */
  leaseMs: number;
}

/** Who leads a group, as followers (for redirects) and the leader itself see it. */
export interface LeaderInfo extends Candidate {
  epoch: number;
  leaseMs: number;
}

/** The key as read at one revision. */
export interface Observation {
  /** The key's revision; 0 when it was never written. */
  revision: number;
  /** Who holds the lease; undefined when the key is absent or deleted (a leader abdicated). */
  holder?: LeaseValue;
}

export const leaderInfo = (holder: LeaseValue, revision: number): LeaderInfo => ({
  id: holder.id, address: holder.address, pid: holder.pid, epoch: holder.epoch ?? revision, leaseMs: holder.leaseMs,
  ...(holder.endpoints ? { endpoints: holder.endpoints } : {}),
});

/** Whether `holder`, read at `revision`, is the lease `session` won at `epoch` (the winning write carries no epoch: its revision is it). */
export const holds = (holder: LeaseValue, revision: number, session: string, epoch: number): boolean =>
  holder.session === session && (holder.epoch ?? revision) === epoch;

/**
 * Stands for a value nobody of ours wrote (bytes that are not a lease): the key is held, by
 * nobody who will renew it, so followers take it over after a lease like any other.
 */
export const unreadableHolder = (leaseMs: number): LeaseValue => ({ id: '(unreadable)', address: '', pid: 0, session: '', leaseMs });

export function encodeLease(value: LeaseValue): Uint8Array {
  const { id, address, pid, session, epoch, leaseMs, endpoints } = value;
  return new TextEncoder().encode(JSON.stringify({ id, address, pid, session, ...(epoch === undefined ? {} : { epoch }), leaseMs, ...(endpoints ? { endpoints } : {}) }));
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** The lease in `bytes`, or undefined if they are not one (then the caller treats the key as held by a stranger). */
export function decodeLease(bytes: Uint8Array): LeaseValue | undefined {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const o = json as Record<string, unknown>;
  if (typeof o.id !== 'string' || typeof o.address !== 'string' || typeof o.session !== 'string') return undefined;
  if (!isCount(o.pid) || !isCount(o.leaseMs) || o.leaseMs === 0) return undefined;
  if (o.epoch !== undefined && (!isCount(o.epoch) || o.epoch === 0)) return undefined;
  const endpoints = stringRecord(o.endpoints);
  return {
    id: o.id, address: o.address, pid: o.pid, session: o.session, ...(o.epoch === undefined ? {} : { epoch: o.epoch as number }), leaseMs: o.leaseMs,
    ...(endpoints ? { endpoints } : {}),
  };
}

/** A JSON object of strings, or undefined (absent, or anything else: ignored rather than refused). */
function stringRecord(x: unknown): Record<string, string> | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const entries = Object.entries(x as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string');
  return entries.length ? Object.fromEntries(entries) : undefined;
}
