/**
 * A Redis connection for a component that keeps its state there (the master's registry, the
 * services framework): it connects at once or fails naming the URL — a process started
 * against the wrong Redis should say so, not queue writes forever — and once connected it
 * reconnects (backing off to 2 s) across Redis restarts; writes made meanwhile fail after a
 * few retries.
 */
import { Redis } from 'ioredis';

/** The URL without its password, fit for an error message or a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Connects and answers PING, or rejects with `fail(message, cause)`. */
export async function connectRedis(url: string, o: { connectTimeoutMs?: number; fail: (message: string, cause: unknown) => Error }): Promise<Redis> {
  let ready = false;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: o.connectTimeoutMs ?? 5000,
    maxRetriesPerRequest: 5,
    // ioredis waits this long for a dead socket to close, holding the process open meanwhile.
    disconnectTimeout: 200,
    retryStrategy: (times) => (ready ? Math.min(times * 100, 2000) : null),
  });
  // Without a listener ioredis prints every connection error; the callers see them as rejections.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw o.fail(`cannot connect to Redis at ${redactUrl(url)}: ${(err as Error).message}`, err);
  }
  ready = true;
  return redis;
}
