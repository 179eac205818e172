/**
 * Fenced writes to Redis: every write of a leader (the master's registry, the services and jobs
 * frameworks' stores) carries the **epoch** at which that leader won its election, and Redis
 * itself refuses a write whose epoch is older than one it has already seen. A leader that was
 * paused (GC, a stopped VM, a partition) past its lease and woke up still believing it leads
 * cannot overwrite what its successor wrote: the lease alone cannot stop it, only the resource
 * being written can (Kleppmann's fencing token, shared/REFERENCE.md "Leader election and fencing").
 *
 * One small Lua script does it, atomically (no other client runs between its steps):
 *   1. read `<prefix>epoch` (absent: 0 — data written before fencing existed);
 *   2. stored > the writer's epoch: refuse, writing nothing → FencedError;
 *   3. stored < the writer's epoch: raise it to the writer's (this leader's first write);
 *   4. run the write's commands, in order.
 * The commands are data (a name and string arguments each), so the script stays generic and
 * every store keeps its own layout. Like the MULTI/EXEC it replaces, the script is all-or-none
 * towards other clients; a command Redis rejects mid-way (a key of the wrong type) does not
 * undo the ones before it, as in MULTI/EXEC.
 *
 * The keys a script touches are passed as arguments, not as KEYS: fine on one Redis (or a
 * primary with replicas), not on Redis Cluster, where a store would need one hash slot.
 *
 * **With a replica** (a Sentinel deployment: `expectedReplicasOf`, common/redis-url.ts) Redis
 * replicates asynchronously: the primary answers before the replica has the write, and a
 * failover promotes the replica without it. Most lost writes are redone or repaired by their
 * writer (docs/production-redis.md), but a lost epoch claim is worse: the new leader's epoch
 * vanishes, and the deposed leader it was meant to fence may write again on the promoted
 * replica. So a writer's first write at each epoch (the one that claims it) is followed by
 * `WAIT <replicas> <replicaWaitMs>`, and fails with a ReplicaWaitError (a "try again", like
 * Redis's own NOREPLICAS) until enough replicas have it; later writes at that epoch do not wait.
 * WAIT narrows the window, it does not close it: Sentinel may still promote a replica that
 * lagged (shared/REFERENCE.md, "Redis Sentinel").
 */
import type { Redis } from 'ioredis';
import { expectedReplicasOf } from './redis';

/** One Redis command: its name and arguments, e.g. `['HSET', 'agora:agents', id, json]`. */
export type RedisCommand = readonly [name: string, ...args: string[]];

/** The epoch a writer writes at: fixed, or read at each write (an election may raise it). */
export type EpochSource = number | (() => number);

/**
 * A newer leader has written: this one must stop acting (its shell exits; the framework runtime
 * stops stepping; the master refuses calls). Nothing of the refused write was applied.
 */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  constructor(readonly storedEpoch: number, readonly writerEpoch: number, readonly epochKey: string) {
    super(`a newer leader (epoch ${storedEpoch}) has written under ${epochKey}; this one (epoch ${writerEpoch}) must stop`);
  }
}

/**
 * Whether `err` says this process was fenced and must stop acting. By name, so that the
 * election's own FencedError (common/leadership: the lease ran out) means the same to a caller
 * as the one Redis answers.
 */
export function isFenced(err: unknown): boolean {
  return err instanceof Error && err.name === 'FencedError';
}

/**
 * An epoch claim was written on the primary but not acknowledged by enough replicas in time: a
 * failover now could lose it. Its message starts with NOREPLICAS, so common/redis.ts counts it as
 * "Redis unavailable, try again"; the next write at that epoch waits again.
 */
export class ReplicaWaitError extends Error {
  override readonly name = 'ReplicaWaitError';
  constructor(readonly epoch: number, readonly acknowledged: number, readonly wanted: number, readonly waitedMs: number) {
    super(`NOREPLICAS the claim of epoch ${epoch} reached ${acknowledged} of ${wanted} replica(s) within ${waitedMs} ms`);
  }
}

export interface FencedWriterOptions {
  /** Replicas that must have an epoch claim before it is taken as made (default: expectedReplicasOf the connection). */
  replicas?: number;
  /** How long the claim's WAIT may block (default DEFAULT_REPLICA_WAIT_MS; below the command timeout). */
  replicaWaitMs?: number;
}

/** Below common/redis.ts's 2 s command timeout, so WAIT answers before the client gives up on it. */
export const DEFAULT_REPLICA_WAIT_MS = 1000;

const SCRIPT = `
local raw = redis.call('GET', KEYS[1])
local stored = 0
if raw then
  stored = tonumber(raw)
  if not stored then return redis.error_reply('EPOCHKEY ' .. KEYS[1] .. ' holds ' .. raw .. ', not an epoch') end
end
if stored > tonumber(ARGV[1]) then return redis.error_reply('FENCED ' .. raw) end
if stored < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return 0
`;

const COMMAND = 'agoraFencedWrite';

interface WithFencedWrite {
  [COMMAND](epochKey: string, epoch: string, ...args: string[]): Promise<unknown>;
}

/** Writes through the fencing script on one connection, at the epoch `epoch` gives. */
export class FencedWriter {
  private readonly epoch: () => number;
  readonly replicas: number;
  private readonly replicaWaitMs: number;
  /** The highest epoch whose claim enough replicas acknowledged (0: none yet). */
  private replicatedEpoch = 0;

  constructor(private readonly redis: Redis, readonly epochKey: string, epoch: EpochSource, o: FencedWriterOptions = {}) {
    this.epoch = typeof epoch === 'number' ? () => epoch : epoch;
    checkEpoch(this.epoch());
    this.replicas = o.replicas ?? expectedReplicasOf(redis);
    this.replicaWaitMs = o.replicaWaitMs ?? DEFAULT_REPLICA_WAIT_MS;
    if (!Number.isSafeInteger(this.replicas) || this.replicas < 0) throw new RangeError(`replicas is an integer, 0 or more, got ${this.replicas}`);
    if (!Number.isSafeInteger(this.replicaWaitMs) || this.replicaWaitMs < 1) throw new RangeError(`replicaWaitMs is an integer, 1 or more, got ${this.replicaWaitMs}`);
    // EVALSHA, falling back to EVAL once after a Redis restart forgot the script (ioredis does it).
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: SCRIPT });
  }

  /**
   * Applies `commands` atomically at this writer's epoch, or throws FencedError having applied
   * nothing. The first write at an epoch, with replicas expected, also waits for them (header);
   * a ReplicaWaitError then says the write is on the primary but not yet safe from a failover.
   */
  async write(commands: readonly RedisCommand[]): Promise<void> {
    const epoch = checkEpoch(this.epoch());
    const args: string[] = [];
    for (const [name, ...rest] of commands) args.push(String(rest.length + 1), name, ...rest);
    try {
      await (this.redis as unknown as WithFencedWrite)[COMMAND](this.epochKey, String(epoch), ...args);
    } catch (err) {
      const fenced = /^FENCED (\d+)/.exec((err as Error).message ?? '');
      if (fenced) throw new FencedError(Number(fenced[1]), epoch, this.epochKey);
      throw err;
    }
    if (this.replicas > 0 && epoch > this.replicatedEpoch) await this.waitForReplicas(epoch);
  }

  private async waitForReplicas(epoch: number): Promise<void> {
    const acknowledged = await this.redis.wait(this.replicas, this.replicaWaitMs);
    if (acknowledged < this.replicas) throw new ReplicaWaitError(epoch, acknowledged, this.replicas, this.replicaWaitMs);
    this.replicatedEpoch = Math.max(this.replicatedEpoch, epoch);
  }
}

/** An epoch is a positive integer that a double holds exactly (as Lua compares it). */
function checkEpoch(epoch: number): number {
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new RangeError(`a fencing epoch is an integer in 1..2^53-1, got ${epoch}`);
  return epoch;
}
