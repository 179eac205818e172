/**
 * `startJobs`: the jobs framework as a server, on the frameworks' shared skeleton
 * (../shared/server.ts: its store, its HTTP APIs and UI, its subscription to the master).
 * What is its own: its stores, Chronos's and Metronome's APIs and `/v1/events`, its info,
 * port 4400, and its retry delay and runs kept.
 */
import { randomBytes } from 'crypto';
import { startFrameworkServer, type FrameworkServer, type ServerOptions } from '../shared/server';
import { jobsEvents, route } from './api-routes';
import { JobsFramework } from './framework';
import { DEFAULT_JOBS_PREFIX, MemoryJobsStore, RedisJobsStore, type JobsStore } from './store';
import { uiFile } from './ui';

export interface JobsOptions extends Omit<ServerOptions, 'advertise'> {
  /** The delay before a failed run's first retry (default 10 s; it doubles for each one after). */
  retryDelayMs?: number;
  /** Runs kept per job (default 100). */
  keepRuns?: number;
}

export type JobsHandle = FrameworkServer<JobsFramework>;

export const JOBS_VERSION = '0.1.0';

export function startJobs(o: JobsOptions = {}): Promise<JobsHandle> {
  return startFrameworkServer<JobsStore, JobsFramework>({
    kind: 'jobs', title: 'the Agora jobs framework',
    defaults: { port: 4400, name: 'agora-jobs', redisPrefix: DEFAULT_JOBS_PREFIX },
    stores: { redis: (url, prefix, o) => RedisJobsStore.connect(url, prefix, o), memory: () => new MemoryJobsStore() },
    load: (store, { clock, log, fenced }) => JobsFramework.load({
      store, clock, log, random: () => randomBytes(8).toString('base64url'), ...(fenced ? { fenced } : {}),
      ...(o.retryDelayMs !== undefined ? { retryDelayMs: o.retryDelayMs } : {}), ...(o.keepRuns !== undefined ? { keepRuns: o.keepRuns } : {}),
    }),
    serve: (ctx) => {
      const { framework } = ctx;
      return {
        route: route({
          framework, ui: uiFile, connected: ctx.connected, sandbox: ctx.scheduler, store: ctx.store,
          info: () => ({ name: ctx.name, version: JOBS_VERSION, frameworkId: framework.state.frameworkId ?? null, master: ctx.master, store: o.redisUrl ? 'redis' : 'memory' }),
        }),
        events: { path: '/v1/events', feed: jobsEvents(framework) },
      };
    },
  }, o);
}
