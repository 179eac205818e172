/**
 * The registry in Redis, for a master that must survive a restart (or hand over to another).
 * Layout, under a key prefix (default `agora:`) so clusters can share one Redis:
 *   <prefix>agents            hash: agent id → AgentInfo JSON
 *   <prefix>frameworks        hash: framework id → { info, failoverDeadlineMs } JSON
 *   <prefix>registry:version  a counter bumped by every write
 *   <prefix>epoch             the newest leader's epoch that wrote (common/fenced-redis.ts)
 * Every write is one fenced script: the record and the version move together or not at all, so
 * a reader that sees version n sees every record written up to n; and a master whose epoch is
 * older than the stored one writes nothing and gets a FencedError (it must stop: a newer
 * master leads). Reads are plain.
 */
import type { Redis } from 'ioredis';
import { FencedWriter, isFenced, type EpochSource, type RedisCommand } from '../common/fenced-redis';
import { connectRedis, linkOf } from '../common/redis';
import type { AgentInfo, FrameworkInfo } from '../common/types';
import type { AgentRegistry, RegistryLink, StoredFramework } from './registry';

export const DEFAULT_KEY_PREFIX = 'agora:';

export interface RedisRegistryOptions {
  keyPrefix?: string;
  /** How long the first connection may take before start-up fails. */
  connectTimeoutMs?: number;
  /** The epoch this master writes at (default 1: a master without election). */
  epoch?: EpochSource;
}

/** A stored record that does not parse, or a write Redis refused. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
}

export class RedisRegistry implements AgentRegistry {
  private readonly agentsKey: string;
  private readonly goneKey: string;
  private readonly weightsKey: string;
  private readonly frameworksKey: string;
  private readonly versionKey: string;
  private readonly fenced: FencedWriter;

  private constructor(private readonly redis: Redis, readonly keyPrefix: string, epoch: EpochSource) {
    this.agentsKey = `${keyPrefix}agents`;
    this.goneKey = `${keyPrefix}agents:gone`;
    this.weightsKey = `${keyPrefix}weights`;
    this.frameworksKey = `${keyPrefix}frameworks`;
    this.versionKey = `${keyPrefix}registry:version`;
    this.fenced = new FencedWriter(redis, `${keyPrefix}epoch`, epoch);
  }

  /**
   * Connects, or fails with an error naming the URL: a master started against the wrong Redis
   * should say so at once, not queue writes forever. Once connected, it reconnects (backing
   * off to 2 s) across Redis restarts; writes made meanwhile fail at once (common/redis.ts).
   */
  static async connect(url: string, options: RedisRegistryOptions = {}): Promise<RedisRegistry> {
    const redis = await connectRedis(url, { connectTimeoutMs: options.connectTimeoutMs, fail: (m, cause) => new RegistryError(m, { cause }) });
    return new RedisRegistry(redis, options.keyPrefix ?? DEFAULT_KEY_PREFIX, options.epoch ?? 1);
  }

  /** Whether its Redis answers now (master/registry-writes.ts refuses and defers by it). */
  get link(): RegistryLink {
    return linkOf(this.redis);
  }

  admit(agent: AgentInfo): Promise<void> {
    if (!agent.id) return Promise.reject(new RegistryError('cannot admit an agent without an id'));
    return this.write(`admit agent ${agent.id}`, ['HSET', this.agentsKey, agent.id, JSON.stringify(agent)]);
  }

  remove(agentId: string): Promise<void> {
    return this.write(`remove agent ${agentId}`, ['HDEL', this.agentsKey, agentId]);
  }

  markGone(agentId: string): Promise<void> {
    return this.write(`mark agent ${agentId} gone`, ['HDEL', this.agentsKey, agentId], ['SADD', this.goneKey, agentId]);
  }

  listGone(): Promise<string[]> {
    return this.redis.smembers(this.goneKey);
  }

  saveWeights(weights: Record<string, number>): Promise<void> {
    return this.write('save role weights', ['SET', this.weightsKey, JSON.stringify(weights)]);
  }

  async loadWeights(): Promise<Record<string, number>> {
    const text = await this.redis.get(this.weightsKey);
    if (text === null) return {};
    try {
      return JSON.parse(text) as Record<string, number>;
    } catch (err) {
      throw new RegistryError(`the stored role weights under ${this.weightsKey} do not parse: ${(err as Error).message}`, { cause: err });
    }
  }

  async list(): Promise<AgentInfo[]> {
    const all = await this.redis.hgetall(this.agentsKey);
    return Object.entries(all).map(([id, text]) => parseAgent(this.agentsKey, id, text));
  }

  saveFramework(info: FrameworkInfo, failoverDeadlineMs: number | null): Promise<void> {
    if (!info.id) return Promise.reject(new RegistryError('cannot save a framework without an id'));
    const record: StoredFramework = { info, failoverDeadlineMs };
    return this.write(`save framework ${info.id}`, ['HSET', this.frameworksKey, info.id, JSON.stringify(record)]);
  }

  removeFramework(frameworkId: string): Promise<void> {
    return this.write(`remove framework ${frameworkId}`, ['HDEL', this.frameworksKey, frameworkId]);
  }

  async listFrameworks(): Promise<StoredFramework[]> {
    const all = await this.redis.hgetall(this.frameworksKey);
    return Object.entries(all).map(([id, text]) => parseFramework(this.frameworksKey, id, text));
  }

  /** The number of writes ever made under this prefix. */
  async version(): Promise<number> {
    return Number((await this.redis.get(this.versionKey)) ?? 0);
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect(); // already broken: nothing left to flush
    }
  }

  /** The commands and the version's bump, fenced; a FencedError is passed on as it is, for the master to stop on. */
  private async write(what: string, ...commands: RedisCommand[]): Promise<void> {
    try {
      await this.fenced.write([...commands, ['INCR', this.versionKey]]);
    } catch (err) {
      if (isFenced(err)) throw err;
      throw new RegistryError(`registry write '${what}' failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

function parseJson(key: string, field: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RegistryError(`registry record ${key}[${field}] is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null) throw new RegistryError(`registry record ${key}[${field}] is not an object`);
  return value as Record<string, unknown>;
}

function parseAgent(key: string, field: string, text: string): AgentInfo {
  const v = parseJson(key, field, text);
  if (v.id !== field || typeof v.hostname !== 'string' || !Array.isArray(v.resources) || typeof v.port !== 'number') {
    throw new RegistryError(`registry record ${key}[${field}] is not an AgentInfo with id ${field}: ${text.slice(0, 200)}`);
  }
  return v as unknown as AgentInfo;
}

function parseFramework(key: string, field: string, text: string): StoredFramework {
  const v = parseJson(key, field, text);
  const info = v.info as Record<string, unknown> | undefined;
  const deadline = v.failoverDeadlineMs;
  if (!info || info.id !== field || !Array.isArray(info.roles) || typeof info.failoverTimeoutMs !== 'number'
    || !(deadline === null || typeof deadline === 'number')) {
    throw new RegistryError(`registry record ${key}[${field}] is not a framework with id ${field} and a deadline: ${text.slice(0, 200)}`);
  }
  return v as unknown as StoredFramework;
}
