/**
 * A jobs framework for a test file: started on the test cluster with its own Redis, a client
 * for its REST APIs, and its event stream (`/v1/events`) recorded so a test waits for the
 * run it expects instead of for time to pass.
 */
import { authHeaders } from '../../common/security/client-config';
import { request } from './http';
import { frameFields, readEventFrames } from '../../common/sse';
import { startRedisServer, type RedisServer } from '../../common/redis-server';
import type { JobsEvent } from '../../frameworks/jobs/framework';
import type { RunRecord } from '../../frameworks/jobs/history';
import { startJobs, type JobsHandle, type JobsOptions } from '../../frameworks/jobs/server';
import { ServicesClient } from './services';
import type { TestCluster } from './cluster';

/** A REST client on 127.0.0.1 (the same calls as the services framework's). */
export { ServicesClient as ApiClient, type Answer } from './services';

/** Every event of `/v1/events`, recorded from the moment it is opened. */
export class JobsEvents {
  readonly events: JobsEvent[] = [];
  private waiters: { match: (e: JobsEvent) => boolean; resolve: (e: JobsEvent) => void }[] = [];
  private req: ReturnType<typeof request> | undefined;

  static open(port: number): Promise<JobsEvents> {
    const s = new JobsEvents();
    return new Promise((resolve, reject) => {
      s.req = request({ host: '127.0.0.1', port, path: '/v1/events', headers: { accept: 'text/event-stream', ...authHeaders() } }, (res) => {
        readEventFrames(res, (frame) => {
          const { data } = frameFields(frame);
          if (data) s.push(JSON.parse(data) as JobsEvent);
        });
        resolve(s);
      });
      s.req.on('error', reject);
      s.req.end();
    });
  }

  private push(e: JobsEvent): void {
    this.events.push(e);
    this.waiters = this.waiters.filter((w) => (w.match(e) ? (w.resolve(e), false) : true));
  }

  /** The first event, past or future, that matches. */
  waitFor(match: (e: JobsEvent) => boolean): Promise<JobsEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The first run update, past or future, of `jobId` that matches. */
  async run(jobId: string, match: (r: RunRecord) => boolean): Promise<RunRecord> {
    const e = await this.waitFor((x) => x.type === 'run_updated' && x.run.jobId === jobId && match(x.run));
    return (e as Extract<JobsEvent, { type: 'run_updated' }>).run;
  }

  /** Every run update of `jobId` so far, the latest version of each run, in the order runs were made. */
  runs(jobId: string): RunRecord[] {
    const byId = new Map<string, RunRecord>();
    for (const e of this.events) if (e.type === 'run_updated' && e.run.jobId === jobId) byId.set(e.run.runId, e.run);
    return [...byId.values()];
  }

  close(): void {
    this.req?.destroy();
  }
}

export interface TestJobs {
  redis: RedisServer;
  jobs: JobsHandle;
  api: ServicesClient;
  events: JobsEvents;
  /** Stops the framework (not Redis) and starts it again on the same Redis and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestJobs(cluster: TestCluster, extra: JobsOptions = {}): Promise<TestJobs> {
  const redis = await startRedisServer();
  const options: JobsOptions = {
    grpcAddress: cluster.grpcAddr, master: cluster.masterAddr, redisUrl: redis.url, host: '127.0.0.1', port: 0, retryDelayMs: 200,
    ...(cluster.security && cluster.doors ? { security: cluster.doors, identity: cluster.security.identity('jobs') } : {}),
    ...extra,
  };
  let jobs = await startJobs(options);
  await jobs.subscribed;
  const t: TestJobs = {
    redis, jobs,
    api: new ServicesClient(jobs.port),
    events: await JobsEvents.open(jobs.port),
    restart: async () => {
      t.events.close();
      const port = jobs.port;
      await jobs.stop();
      jobs = await startJobs({ ...options, port });
      t.jobs = jobs;
      t.events = await JobsEvents.open(port);
      await jobs.subscribed;
    },
    stop: async () => {
      t.events.close();
      await jobs.stop();
      await redis.stop();
    },
  };
  return t;
}
