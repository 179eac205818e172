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
 *   epoch                         the newest leader's epoch that wrote
 *
 * Every write (a commit, the framework id) is fenced (shared/redis-store.ts): one script that
 * refuses, writing nothing, a framework whose epoch is older than the stored one — a newer
 * leader of this framework runs — with a FencedError, on which the runtime stops.
 */
import type { Redis } from 'ioredis';
import type { RedisCommand } from '../../common/fenced-redis';
import { connectStore, FencedRedisStore, type RedisStoreOptions } from '../shared/redis-store';
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

export class RedisStore extends FencedRedisStore implements ServicesStore {
  private constructor(redis: Redis, prefix: string, o: RedisStoreOptions) {
    super(redis, prefix, o.epoch ?? 1, (m, cause) => new StoreError(m, { cause }));
  }

  static async connect(url: string, prefix = DEFAULT_SERVICES_PREFIX, o: RedisStoreOptions = {}): Promise<RedisStore> {
    return new RedisStore(await connectStore(url, (m, cause) => new StoreError(m, { cause })), prefix, o);
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
    const m: RedisCommand[] = [];
    const hset = (hash: string, field: string, value: unknown) => m.push(['HSET', this.key(hash), field, JSON.stringify(value)]);
    const hdel = (hash: string, field: string) => m.push(['HDEL', this.key(hash), field]);
    for (const r of c.apps ?? []) hset('apps', r.app.id, r);
    for (const v of c.versions ?? []) hset(`versions:${v.appId}`, v.version, v.app);
    for (const id of c.deleteApps ?? []) {
      hdel('apps', id);
      m.push(['DEL', this.key(`versions:${id}`)]);
      hdel('failures', id);
    }
    for (const i of c.instances ?? []) hset('instances', i.taskId, i);
    for (const id of c.deleteInstances ?? []) hdel('instances', id);
    for (const d of c.deployments ?? []) hset('deployments', d.id, d);
    for (const id of c.deleteDeployments ?? []) hdel('deployments', id);
    for (const { appId, backoff } of c.backoffs ?? []) {
      if (backoff) hset('backoffs', appId, backoff); else hdel('backoffs', appId);
    }
    for (const f of c.failures ?? []) hset('failures', f.appId, f);
    await this.write(m);
  }

  async versions(appId: string): Promise<string[]> {
    return (await this.redis.hkeys(this.key(`versions:${appId}`))).sort();
  }

  async version(appId: string, version: string): Promise<App | undefined> {
    const text = await this.redis.hget(this.key(`versions:${appId}`), version);
    return text === null ? undefined : (JSON.parse(text) as App);
  }
}
