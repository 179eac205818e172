/**
 * Where the services framework keeps its state: Redis for anything that must survive a
 * restart, or memory for a throwaway local cluster (`agora up` without --redis).
 *
 * Every change is one atomic commit; the framework applies it in memory only once the
 * store took it, and answers an API call only after that. So what a client was told is
 * stored, and a launch is stored before its Accept goes out: a restarted framework knows
 * every task it may have started.
 *
 * Redis layout, under a key prefix (default `agora:services:`):
 *   framework-id                  the framework id the master gave
 *   apps                          hash: app id → AppRecord JSON
 *   versions:<app id>             hash: version → App JSON (every definition the app had)
 *   instances                     hash: task id → InstanceRecord JSON
 *   deployments                   hash: deployment id → Deployment JSON
 *   backoffs                      hash: app id → Backoff JSON
 *   failures                      hash: app id → TaskFailure JSON
 */
import type { Redis } from 'ioredis';
import { connectRedis, linkOf, type RedisLink } from '../../common/redis';
import type { App } from './app';
import { applyChange, emptyState, type Change, type ServicesState } from './model';

export interface ServicesStore {
  load(): Promise<ServicesState>;
  commit(change: Change): Promise<void>;
  saveFrameworkId(id: string): Promise<void>;
  /** Every version of an app, oldest first. */
  versions(appId: string): Promise<string[]>;
  version(appId: string, version: string): Promise<App | undefined>;
  close(): Promise<void>;
}

/** A stored record that does not parse, or a write the store refused. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

export class MemoryStore implements ServicesStore {
  private readonly state = emptyState();
  private readonly history = new Map<string, Map<string, App>>();

  load(): Promise<ServicesState> {
    // As from Redis: health histories are not kept across a restart.
    return Promise.resolve({ ...structuredClone(this.state), health: new Map() });
  }

  commit(change: Change): Promise<void> {
    applyChange(this.state, structuredClone(change));
    for (const v of change.versions ?? []) {
      const h = this.history.get(v.appId) ?? new Map<string, App>();
      h.set(v.version, structuredClone(v.app));
      this.history.set(v.appId, h);
    }
    for (const id of change.deleteApps ?? []) this.history.delete(id);
    return Promise.resolve();
  }

  saveFrameworkId(id: string): Promise<void> {
    this.state.frameworkId = id;
    return Promise.resolve();
  }

  versions(appId: string): Promise<string[]> {
    return Promise.resolve([...(this.history.get(appId)?.keys() ?? [])].sort());
  }

  version(appId: string, version: string): Promise<App | undefined> {
    return Promise.resolve(structuredClone(this.history.get(appId)?.get(version)));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const DEFAULT_SERVICES_PREFIX = 'agora:services:';

export class RedisStore implements ServicesStore {
  private constructor(private readonly redis: Redis, private readonly prefix: string) {}

  /** Connects, or fails at once naming the URL: a framework pointed at the wrong Redis should say so. */
  static async connect(url: string, prefix = DEFAULT_SERVICES_PREFIX): Promise<RedisStore> {
    const redis = await connectRedis(url, { fail: (m, cause) => new StoreError(m, { cause }) });
    return new RedisStore(redis, prefix);
  }

  /** Whether its Redis answers now (the REST API answers 503 by it; frameworks/shared/server.ts). */
  get link(): RedisLink {
    return linkOf(this.redis);
  }

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  async load(): Promise<ServicesState> {
    const s = emptyState();
    const [id, apps, instances, deployments, backoffs, failures] = await Promise.all([
      this.redis.get(this.key('framework-id')),
      this.redis.hgetall(this.key('apps')), this.redis.hgetall(this.key('instances')),
      this.redis.hgetall(this.key('deployments')), this.redis.hgetall(this.key('backoffs')),
      this.redis.hgetall(this.key('failures')),
    ]);
    if (id) s.frameworkId = id;
    const parse = <T>(hash: string, field: string, text: string): T => {
      try {
        return JSON.parse(text) as T;
      } catch (err) {
        throw new StoreError(`${this.key(hash)} ${field} does not parse: ${(err as Error).message}`, { cause: err });
      }
    };
    for (const [k, v] of Object.entries(apps)) s.apps.set(k, parse('apps', k, v));
    for (const [k, v] of Object.entries(instances)) s.instances.set(k, parse('instances', k, v));
    for (const [k, v] of Object.entries(deployments)) s.deployments.set(k, parse('deployments', k, v));
    for (const [k, v] of Object.entries(backoffs)) s.backoffs.set(k, parse('backoffs', k, v));
    for (const [k, v] of Object.entries(failures)) s.failures.set(k, parse('failures', k, v));
    return s;
  }

  async commit(c: Change): Promise<void> {
    const m = this.redis.multi();
    for (const r of c.apps ?? []) m.hset(this.key('apps'), r.app.id, JSON.stringify(r));
    for (const v of c.versions ?? []) m.hset(this.key(`versions:${v.appId}`), v.version, JSON.stringify(v.app));
    for (const id of c.deleteApps ?? []) m.hdel(this.key('apps'), id).del(this.key(`versions:${id}`)).hdel(this.key('failures'), id);
    for (const i of c.instances ?? []) m.hset(this.key('instances'), i.taskId, JSON.stringify(i));
    for (const id of c.deleteInstances ?? []) m.hdel(this.key('instances'), id);
    for (const d of c.deployments ?? []) m.hset(this.key('deployments'), d.id, JSON.stringify(d));
    for (const id of c.deleteDeployments ?? []) m.hdel(this.key('deployments'), id);
    for (const { appId, backoff } of c.backoffs ?? []) {
      if (backoff) m.hset(this.key('backoffs'), appId, JSON.stringify(backoff)); else m.hdel(this.key('backoffs'), appId);
    }
    for (const f of c.failures ?? []) m.hset(this.key('failures'), f.appId, JSON.stringify(f));
    const results = await m.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw new StoreError(`Redis refused a commit: ${failed?.[0]?.message ?? 'the transaction was aborted'}`);
  }

  async saveFrameworkId(id: string): Promise<void> {
    await this.redis.set(this.key('framework-id'), id);
  }

  async versions(appId: string): Promise<string[]> {
    return (await this.redis.hkeys(this.key(`versions:${appId}`))).sort();
  }

  async version(appId: string, version: string): Promise<App | undefined> {
    const text = await this.redis.hget(this.key(`versions:${appId}`), version);
    return text === null ? undefined : (JSON.parse(text) as App);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
