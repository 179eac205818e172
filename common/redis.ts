/**
 * A Redis connection for a component that keeps its state there (the master's registry, the
 * services and jobs frameworks): it connects at once or fails naming the URL — a process
 * started against the wrong Redis should say so, not queue writes forever — and once
 * connected it reconnects (backing off to 2 s) across Redis restarts.
 *
 * **Redis down is not a hang.** While the connection is down a command fails at once, it is
 * not queued: a queue would turn every call into a wait of unknown length, and the caller is
 * the one who knows whether to refuse, retry or defer. A command in flight when the connection
 * drops fails then (whether Redis applied it is unknown) and is never sent again behind its
 * caller's back. A Redis that holds the connection open but does not answer (stopped, its disk
 * stalled) fails a command after `commandTimeoutMs`. `RedisLink` follows the connection, so a
 * caller can say "Redis is down" before trying, explain a failure in words
 * (`RedisUnavailableError`), and act when Redis is back.
 *
 * **Sentinel.** A `redis-sentinel://` URL (common/redis-url.ts) names Sentinels: the connection
 * asks them for the primary, and after a failover finds the new one on its next reconnection:
 * the old primary's death closes the connection, and a primary demoted by the Sentinels drops
 * its clients. (ioredis's `failoverDetector`, which also listens for `+switch-master`, is left
 * off: its disconnect racing a reconnection already under way is one more path to get wrong,
 * for no gain in those two cases.) The rules above hold across a failover: a command in flight
 * when the old primary died fails, it is not resent.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { Listeners } from './listeners';
import { parseRedisUrl, redactRedisUrl, type RedisTarget } from './redis-url';

/** How long a command waits for Redis's answer before it fails, by default (ms). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;

/** The URL without its password, fit for an error message or a log line. */
export function redactUrl(url: string): string {
  if (/^redis-sentinel:/i.test(url)) return redactRedisUrl(url);
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return redactRedisUrl(url);
  }
}

export interface ConnectRedisOptions {
  connectTimeoutMs?: number;
  /** How long a command may wait for an answer (default DEFAULT_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs?: number;
  fail: (message: string, cause: unknown) => Error;
}

const links = new WeakMap<Redis, RedisLink>();
const targets = new WeakMap<Redis, RedisTarget>();

/**
 * Connects and answers PING, or rejects with `fail(message, cause)`. Its link is `linkOf(redis)`.
 * A malformed URL is a RedisUrlError, before anything is tried.
 */
export async function connectRedis(url: string, o: ConnectRedisOptions): Promise<Redis> {
  const target = parseRedisUrl(url);
  let ready = false;
  const commandTimeoutMs = o.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: o.connectTimeoutMs ?? 5000,
    // The header's rule: fail while down, never queue, never resend unseen.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    // ioredis waits this long for a dead socket to close, holding the process open meanwhile.
    disconnectTimeout: 200,
    retryStrategy: (times) => (ready ? Math.min(times * 100, 2000) : null),
  };
  const redis = target.kind === 'sentinel'
    ? new Redis({
      ...options,
      ...target.sentinel,
      // No Sentinel answering at start-up is a failure now; later it is a retry, as above.
      sentinelRetryStrategy: (times) => (ready ? Math.min(times * 100, 2000) : null),
      sentinelCommandTimeout: commandTimeoutMs,
    })
    : new Redis(url, options);
  // Without a listener ioredis prints every connection error; the callers see them as rejections.
  redis.on('error', () => undefined);
  const link = new RedisLink(url, redis, commandTimeoutMs);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw o.fail(`cannot connect to Redis at ${redactUrl(url)}: ${(err as Error).message}`, err);
  }
  ready = true;
  links.set(redis, link);
  targets.set(redis, target);
  return redis;
}

/**
 * How many replicas the deployment behind a connection `connectRedis` made is known to have:
 * 1 behind Sentinel, 0 for a direct URL (or a connection made otherwise).
 */
export function expectedReplicasOf(redis: Redis): number {
  return targets.get(redis)?.expectedReplicas ?? 0;
}

/** The link of a connection `connectRedis` made. */
export function linkOf(redis: Redis): RedisLink {
  const link = links.get(redis);
  if (!link) throw new Error('linkOf: not a connection made by connectRedis');
  return link;
}

export interface LinkStatus {
  available: boolean;
  /** Why not, while not: the connection's last error, or what failed. */
  why?: string;
  /** Since when (epoch ms) it has been as it is. */
  sinceMs: number;
}

/** Redis cannot be reached, or does not answer: nothing the caller asked was done (or known to be done); try again. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  constructor(readonly what: string, readonly where: string, readonly why: string, options?: { cause?: unknown }) {
    super(`${what} (${where}) is unavailable: ${why}; try again`, options);
  }
}

/**
 * Whether the connection is up, as its events say, and a failure put in words. Up means
 * connected and answering the ready check; a command that timed out does not bring it down
 * (only the connection's own events do), so a caller that must know trusts its own results too.
 */
export class RedisLink {
  /** "Redis at redis://host:port", for messages. */
  readonly where: string;
  private status: LinkStatus = { available: true, sinceMs: Date.now() };
  private lastError: string | undefined;
  private readonly changes = new Listeners<LinkStatus>();

  constructor(url: string, redis: Redis, private readonly commandTimeoutMs: number) {
    this.where = `Redis at ${redactUrl(url)}`;
    redis.on('ready', () => {
      this.lastError = undefined;
      this.set({ available: true });
    });
    redis.on('error', (err: Error) => {
      this.lastError = err.message;
      // A reconnection attempt that fails says more than "closed": say that instead.
      if (!this.status.available) this.status = { ...this.status, why: err.message };
    });
    redis.on('close', () => this.set({ available: false, why: this.lastError ?? 'the connection closed' }));
    redis.on('end', () => this.set({ available: false, why: 'the connection was closed for good' }));
  }

  now(): LinkStatus {
    return { ...this.status };
  }

  /** Told each time the connection goes down or comes back; the function returned stops it. */
  onChange(listener: (status: LinkStatus) => void): () => void {
    return this.changes.add(listener);
  }

  /**
   * `err` as a RedisUnavailableError about `what` ("the registry", "the store") when it says
   * Redis cannot be reached or did not answer; undefined for any other error (a refusal that
   * a retry would not cure, a record that does not parse).
   */
  unavailable(what: string, err: unknown): RedisUnavailableError | undefined {
    if (err instanceof RedisUnavailableError) return err;
    const why = unavailableWhy(err, this.commandTimeoutMs);
    if (why === undefined) return undefined;
    // Down, the connection's own words ("connect ECONNREFUSED …") say more than the command's.
    const said = !this.status.available && this.status.why ? this.status.why : why;
    return new RedisUnavailableError(what, this.where, said, { cause: err });
  }

  private set(next: { available: boolean; why?: string }): void {
    if (next.available === this.status.available) {
      if (next.why) this.status = { ...this.status, why: next.why };
      return;
    }
    this.status = { ...next, sinceMs: Date.now() };
    this.changes.emit(this.now());
  }
}

/**
 * Redis's replies that mean "not now" rather than "no": still loading its data, refusing
 * writes after a failed save or as a replica, out of memory, busy with a script, without its
 * master. A retry cures them; any other reply is a refusal.
 */
const NOT_NOW = /(^|: |because of: )(LOADING|MISCONF|READONLY|OOM|BUSY|MASTERDOWN|TRYAGAIN|NOREPLICAS)\b/;

/**
 * Why `err` (or an error it wraps) says Redis is unavailable, in words; undefined when it says
 * something else. ioredis's own messages are put plainly.
 */
export function unavailableWhy(err: unknown, commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const m = e.message;
    if (e.name === 'MaxRetriesPerRequestError') return 'the connection dropped with the command in flight (it may or may not have been applied)';
    if (m.startsWith("Stream isn't writeable")) return 'not connected';
    if (m === 'Connection is closed.') return 'the connection is closed';
    if (m === 'Command timed out') return `no answer within ${commandTimeoutMs} ms`;
    if (NOT_NOW.test(m)) return m;
    const previous = (e as { previousErrors?: unknown[] }).previousErrors;
    const inner = previous?.map((p) => unavailableWhy(p, commandTimeoutMs)).find((w) => w !== undefined);
    if (inner) return inner;
  }
  return undefined;
}
