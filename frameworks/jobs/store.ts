/**
 * Where the jobs framework keeps what must survive it: job definitions, each scheduled job's
 * cursor (the last occurrence dealt with), runs, and the dependency state. Redis, or memory
 * for a throwaway local cluster.
 *
 * A change is one atomic write. Starting an occurrence writes its run record and moves the
 * cursor together, before the task is launched: after a crash either both are there (the run
 * is known, and reconciled) or neither (the occurrence is due again) — never run twice, never
 * forgotten.
 *
 * Redis layout, under a key prefix (default `agora:jobs:`):
 *   framework-id            the framework id the master gave
 *   jobs                    hash: job id → Job JSON
 *   cursors                 hash: job id → the last occurrence dealt with (ms)
 *   runs:<job id>           hash: run id → RunRecord JSON (kept to the newest, by the framework)
 *   dag                     the DagState JSON
 *   epoch                   the newest leader's epoch that wrote
 *
 * Every write (a commit, the framework id) is fenced (shared/redis-store.ts): one script that
 * refuses, writing nothing, a framework whose epoch is older than the stored one — a newer
 * leader of this framework runs — with a FencedError, on which the runtime stops.
 */
import type { Redis } from 'ioredis';
import type { RedisCommand } from '../../common/fenced-redis';
import { connectStore, FencedRedisStore, type RedisStoreOptions } from '../shared/redis-store';
import type { DagState } from './dag';
import type { RunRecord } from './history';
import type { Job } from './job';

export interface JobsState {
  frameworkId?: string;
  jobs: Map<string, Job>;
  cursors: Map<string, number>;
  runs: Map<string, RunRecord[]>;
  dag: DagState;
}

export interface JobsChange {
  jobs?: Job[];
  deleteJobs?: string[];
  cursors?: { jobId: string; at: number }[];
  runs?: RunRecord[];
  deleteRuns?: { jobId: string; runId: string }[];
  dag?: DagState;
}

export interface JobsStore {
  load(): Promise<JobsState>;
  commit(change: JobsChange): Promise<void>;
  saveFrameworkId(id: string): Promise<void>;
  close(): Promise<void>;
}

export class JobsStoreError extends Error {
  override readonly name = 'JobsStoreError';
}

export function emptyJobsState(): JobsState {
  return { jobs: new Map(), cursors: new Map(), runs: new Map(), dag: { doneAt: {}, triggeredAt: {} } };
}

/** Applies a committed change in memory (runs kept in the order they were made). */
export function applyJobsChange(s: JobsState, c: JobsChange): void {
  for (const j of c.jobs ?? []) s.jobs.set(j.id, j);
  for (const id of c.deleteJobs ?? []) {
    s.jobs.delete(id);
    s.cursors.delete(id);
    s.runs.delete(id);
  }
  for (const { jobId, at } of c.cursors ?? []) s.cursors.set(jobId, at);
  for (const r of c.runs ?? []) {
    const list = s.runs.get(r.jobId) ?? [];
    const at = list.findIndex((x) => x.runId === r.runId);
    s.runs.set(r.jobId, at < 0 ? [...list, r] : list.map((x, i) => (i === at ? r : x)));
  }
  for (const { jobId, runId } of c.deleteRuns ?? []) s.runs.set(jobId, (s.runs.get(jobId) ?? []).filter((x) => x.runId !== runId));
  if (c.dag) s.dag = c.dag;
}

export class MemoryJobsStore implements JobsStore {
  private readonly state = emptyJobsState();
  load(): Promise<JobsState> {
    return Promise.resolve(structuredClone(this.state));
  }
  commit(change: JobsChange): Promise<void> {
    applyJobsChange(this.state, structuredClone(change));
    return Promise.resolve();
  }
  saveFrameworkId(id: string): Promise<void> {
    this.state.frameworkId = id;
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const DEFAULT_JOBS_PREFIX = 'agora:jobs:';

export class RedisJobsStore extends FencedRedisStore implements JobsStore {
  private constructor(redis: Redis, prefix: string, o: RedisStoreOptions) {
    super(redis, prefix, o.epoch ?? 1, (m, cause) => new JobsStoreError(m, { cause }));
  }

  static async connect(url: string, prefix = DEFAULT_JOBS_PREFIX, o: RedisStoreOptions = {}): Promise<RedisJobsStore> {
    return new RedisJobsStore(await connectStore(url, (m, cause) => new JobsStoreError(m, { cause })), prefix, o);
  }

  private parse<T>(what: string, text: string): T {
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new JobsStoreError(`${what} does not parse: ${(err as Error).message}`, { cause: err });
    }
  }

  async load(): Promise<JobsState> {
    const s = emptyJobsState();
    const [id, jobs, cursors, dag] = await Promise.all([
      this.redis.get(this.key('framework-id')), this.redis.hgetall(this.key('jobs')), this.redis.hgetall(this.key('cursors')), this.redis.get(this.key('dag')),
    ]);
    if (id) s.frameworkId = id;
    for (const [k, v] of Object.entries(jobs)) s.jobs.set(k, this.parse(`${this.key('jobs')} ${k}`, v));
    for (const [k, v] of Object.entries(cursors)) s.cursors.set(k, Number(v));
    if (dag) s.dag = this.parse(this.key('dag'), dag);
    for (const jobId of s.jobs.keys()) {
      const runs = Object.entries(await this.redis.hgetall(this.key(`runs:${jobId}`))).map(([k, v]) => this.parse<RunRecord>(`${this.key(`runs:${jobId}`)} ${k}`, v));
      s.runs.set(jobId, runs.sort((a, b) => madeAt(a) - madeAt(b) || (a.runId < b.runId ? -1 : 1)));
    }
    return s;
  }

  async commit(c: JobsChange): Promise<void> {
    const m: RedisCommand[] = [];
    for (const j of c.jobs ?? []) m.push(['HSET', this.key('jobs'), j.id, JSON.stringify(j)]);
    for (const id of c.deleteJobs ?? []) m.push(['HDEL', this.key('jobs'), id], ['HDEL', this.key('cursors'), id], ['DEL', this.key(`runs:${id}`)]);
    for (const { jobId, at } of c.cursors ?? []) m.push(['HSET', this.key('cursors'), jobId, String(at)]);
    for (const r of c.runs ?? []) m.push(['HSET', this.key(`runs:${r.jobId}`), r.runId, JSON.stringify(r)]);
    for (const { jobId, runId } of c.deleteRuns ?? []) m.push(['HDEL', this.key(`runs:${jobId}`), runId]);
    if (c.dag) m.push(['SET', this.key('dag'), JSON.stringify(c.dag)]);
    await this.write(m);
  }
}

function madeAt(r: RunRecord): number {
  return r.createdAt ?? r.startedAt ?? r.scheduledAt ?? 0;
}
