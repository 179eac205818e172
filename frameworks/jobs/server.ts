/**
 * `startJobs`: the jobs framework as a server — its store (Redis, or memory), the framework,
 * its HTTP APIs (Chronos's and Metronome's) and UI on port 4400, and its subscription to the
 * master. The API serves from the start; the subscription is made, and made again, in the
 * background (../shared/subscription.ts).
 */
import { clientIdentity, type ClientIdentity } from '../../common/security/client-config';
import type { ServerSecurity } from '../../common/security/security-dir';
import { lockedDoor } from '../../common/security/http-door';
import { randomBytes } from 'crypto';
import { systemClock, type Clock } from '../../common/clock';
import { logger, type Logger } from '../../common/log';
import type { MasterStateView } from '../../common/operator-types';
import { getJson, masterAddress } from '../sdk/master-address';
import { defaultWebuiUrl, webuiUrlProblem } from '../shared/flags';
import { startHttp } from '../shared/http';
import { keepSubscribed } from '../shared/subscription';
import { eventStream, route } from './api-routes';
import { JobsFramework } from './framework';
import { DEFAULT_JOBS_PREFIX, MemoryJobsStore, RedisJobsStore, type JobsStore } from './store';
import { uiFile } from './ui';

export interface JobsOptions {
  /** The master's HTTP address (host:5050); defaults to AGORA_MASTER, then the local cluster. */
  master?: string;
  /** The master's gRPC address, to skip looking it up. */
  grpcAddress?: string;
  /** Keep state in Redis under `redisPrefix`; without it, in memory (lost on stop). */
  redisUrl?: string;
  redisPrefix?: string;
  host?: string;
  /** HTTP port (default 4400; 0 picks one). */
  port?: number;
  name?: string;
  role?: string;
  /** How long the master keeps our tasks while we are away (default: a week with Redis; a minute in memory). */
  failoverTimeoutMs?: number;
  /** Where browsers reach the UI, for the master's UI to link to (default http://<host>:<port>/ui/). */
  webuiUrl?: string;
  /** The delay before a failed run's first retry (default 10 s; it doubles for each one after). */
  retryDelayMs?: number;
  /** Runs kept per job (default 100). */
  keepRuns?: number;
  /** Bytes a `/v1/events` client may leave unread before its stream is cut (default 16 MiB). */
  maxEventBacklogBytes?: number;
  clock?: Clock;
  log?: Logger;
  /**
   * The HTTP door's keys: every API call, stream and UI page needs credentials (writes an
   * admin's). Without it the API is open to anyone who reaches the port (`--insecure`).
   */
  security?: ServerSecurity;
  /** Who this framework is to the master (gRPC and HTTP); default: the client config's user. */
  identity?: ClientIdentity;
}

export interface JobsHandle {
  port: number;
  framework: JobsFramework;
  /** Resolves once subscribed to the master for the first time. */
  subscribed: Promise<string>;
  stop(): Promise<void>;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;
/** Kept in memory, the state dies with the process: the master should keep our tasks only across a short loss of connection. */
const MEMORY_FAILOVER_MS = 60_000;
export const JOBS_VERSION = '0.1.0';

export async function startJobs(o: JobsOptions = {}): Promise<JobsHandle> {
  const log = o.log ?? logger('jobs');
  const webuiProblem = o.webuiUrl === undefined ? undefined : webuiUrlProblem(o.webuiUrl);
  if (webuiProblem) throw new Error(`webuiUrl ${webuiProblem}`);
  const clock = o.clock ?? systemClock;
  const failoverTimeoutMs = o.failoverTimeoutMs ?? (o.redisUrl ? WEEK_MS : MEMORY_FAILOVER_MS);
  const store: JobsStore = o.redisUrl ? await RedisJobsStore.connect(o.redisUrl, o.redisPrefix ?? DEFAULT_JOBS_PREFIX) : new MemoryJobsStore();
  const framework = await JobsFramework.load({
    store, clock, log, random: () => randomBytes(8).toString('base64url'),
    ...(o.retryDelayMs !== undefined ? { retryDelayMs: o.retryDelayMs } : {}), ...(o.keepRuns !== undefined ? { keepRuns: o.keepRuns } : {}),
  });
  const name = o.name ?? 'agora-jobs';
  const identity = o.identity ?? clientIdentity();
  const host = o.host ?? '0.0.0.0';
  let subscription: ReturnType<typeof keepSubscribed> | undefined;
  const door = o.security && lockedDoor(o.security.credentials, { kind: 'jobs', tls: o.security.tls, port: o.port ?? 4400, title: 'the Agora jobs framework', log });
  const http = await startHttp({
    ...(door ? { door } : {}),
    host, port: o.port ?? 4400, log,
    stream: (req, url, res, open) => {
      if (url.pathname !== '/v1/events' || req.method !== 'GET') return false;
      eventStream(framework, res, open, { log, maxBacklogBytes: o.maxEventBacklogBytes });
      return true;
    },
    route: route({
      framework, ui: uiFile, connected: () => subscription?.scheduler()?.connected ?? false,
      ...(identity ? { agentIdentity: identity } : {}),
      agents: async () => (await getJson<MasterStateView>(masterAddress(o.master, o.identity ?? clientIdentity()), '/api/v1/state')).agents
        .map(({ id, hostname, port: agentPort }) => ({ id, hostname, port: agentPort })),
      info: () => ({ name, version: JOBS_VERSION, frameworkId: framework.state.frameworkId ?? null, master: o.master ?? process.env.AGORA_MASTER ?? '127.0.0.1:5050', store: o.redisUrl ? 'redis' : 'memory' }),
    }),
  }).catch(async (err: Error) => {
    door?.close();
    await framework.stop();
    await store.close();   // a taken port: nothing may stay open behind the error
    throw err;
  });
  subscription = keepSubscribed(framework, {
    master: o.master, grpcAddress: o.grpcAddress, log, ...(o.identity ? { credentials: o.identity } : {}),
    // The port is known only now that it is bound (0 picks one).
    framework: { name, roles: [o.role ?? '*'], failoverTimeoutMs, webuiUrl: o.webuiUrl ?? defaultWebuiUrl(host, http.port, undefined, door ? 'https' : 'http') },
  });
  let stopped: Promise<void> | undefined;
  return {
    port: http.port, framework, subscribed: subscription.subscribed,
    stop: () => stopped ??= (async () => {
      subscription?.close();
      await framework.stop();
      await http.stop();
      door?.close();
      await store.close();
    })(),
  };
}
