/**
 * What the services and jobs frameworks' Redis stores share: a connection, keys under a prefix,
 * and fenced writes (common/fenced-redis.ts) at the epoch the framework was given — a commit and
 * the framework id alike — so a framework whose epoch is older than the stored `<prefix>epoch`
 * writes nothing and gets a FencedError, on which the runtime stops (runtime.ts). Reads are
 * plain; each store reads its own layout.
 */
import type { Redis } from 'ioredis';
import { FencedWriter, isFenced, type EpochSource, type RedisCommand } from '../../common/fenced-redis';
import { connectRedis, linkOf, type RedisLink } from '../../common/redis';

/** The store's own error for a connection or a write that failed (not a fenced one). */
export type StoreFailure = (message: string, cause: unknown) => Error;

export interface RedisStoreOptions {
  /** The epoch this framework writes at (default 1: a framework without election). */
  epoch?: EpochSource;
}

/** Connects, or fails at once naming the URL: a framework pointed at the wrong Redis should say so. */
export function connectStore(url: string, fail: StoreFailure): Promise<Redis> {
  return connectRedis(url, { fail });
}

export abstract class FencedRedisStore {
  private readonly fenced: FencedWriter;

  protected constructor(protected readonly redis: Redis, private readonly prefix: string, epoch: EpochSource, private readonly fail: StoreFailure) {
    this.fenced = new FencedWriter(redis, this.key('epoch'), epoch);
  }

  protected key(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** Whether its Redis answers now (the REST API answers 503 by it; frameworks/shared/server.ts). */
  get link(): RedisLink {
    return linkOf(this.redis);
  }

  /** All of `commands` or none; a FencedError is passed on as it is, for the runtime to stop on. */
  protected async write(commands: readonly RedisCommand[]): Promise<void> {
    try {
      await this.fenced.write(commands);
    } catch (err) {
      if (isFenced(err)) throw err;
      throw this.fail(`Redis refused a commit: ${(err as Error).message}`, err);
    }
  }

  async saveFrameworkId(id: string): Promise<void> {
    await this.write([['SET', this.key('framework-id'), id]]);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
