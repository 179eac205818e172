/**
 * A services framework for a test file: started on the test cluster with its own Redis, and a
 * client for its REST API and its event stream (`/v2/events`), which records every event so
 * a test can wait for the one it expects.
 */
import { authHeaders } from '../../common/security/client-config';
import { request } from './http';
import { frameFields, readEventFrames } from '../../common/sse';
import { startRedisServer, type RedisServer } from '../../common/redis-server';
import { startServices, type ServicesHandle, type ServicesOptions } from '../../frameworks/services/server';
import type { MarathonEvent } from '../../frameworks/services/events';
import { startCluster, type TestCluster } from './cluster';
import type { ServerSecurity } from '../../common/security/security-dir';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export class ServicesClient {
  constructor(readonly port: number) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, method, path, headers: { 'content-type': 'application/json', ...authHeaders(), ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { text += c; });
        res.on('end', () => {
          let parsed: unknown = undefined;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
          resolve({ status: res.statusCode ?? 0, body: parsed as T, headers: res.headers, text });
        });
      });
      req.on('error', reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  }
}

/** Every event of `/v2/events`, recorded from the moment it is opened. */
export class EventStream {
  readonly events: MarathonEvent[] = [];
  private waiters: { match: (e: MarathonEvent) => boolean; resolve: (e: MarathonEvent) => void }[] = [];
  private req: ReturnType<typeof request> | undefined;

  static open(port: number): Promise<EventStream> {
    const s = new EventStream();
    return new Promise((resolve, reject) => {
      s.req = request({ host: '127.0.0.1', port, path: '/v2/events', headers: { accept: 'text/event-stream', ...authHeaders() } }, (res) => {
        readEventFrames(res, (frame) => {
          const { data } = frameFields(frame);
          if (data) s.push(JSON.parse(data) as MarathonEvent);
        });
        resolve(s);
      });
      s.req.on('error', reject);
      s.req.end();
    });
  }

  private push(e: MarathonEvent): void {
    this.events.push(e);
    this.waiters = this.waiters.filter((w) => (w.match(e) ? (w.resolve(e), false) : true));
  }

  /** The first event, past or future, that matches. */
  waitFor(match: (e: MarathonEvent) => boolean): Promise<MarathonEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The next matching event from now on. */
  next(match: (e: MarathonEvent) => boolean): Promise<MarathonEvent> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  deploymentDone(id: string): Promise<MarathonEvent> {
    return this.waitFor((e) => e.eventType === 'deployment_success' && e.id === id);
  }

  close(): void {
    this.req?.destroy();
  }
}

export interface TestServices {
  redis: RedisServer;
  services: ServicesHandle;
  api: ServicesClient;
  events: EventStream;
  /** The keys its doors were started with; absent on an open cluster. */
  security?: ServerSecurity;
  /** Stops the framework (not Redis) and starts it again on the same Redis and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestServices(cluster: TestCluster, extra: ServicesOptions = {}): Promise<TestServices> {
  const redis = await startRedisServer();
  const options: ServicesOptions = {
    grpcAddress: cluster.grpcAddr, master: cluster.masterAddr, redisUrl: redis.url, host: '127.0.0.1', port: 0,
    ...(cluster.security && cluster.doors ? { security: cluster.doors, identity: cluster.security.identity('services') } : {}),
    ...extra,
  };
  let services = await startServices(options);
  await services.subscribed;
  const t: TestServices = {
    redis, services, ...(options.security ? { security: options.security } : {}),
    api: new ServicesClient(services.port),
    events: await EventStream.open(services.port),
    restart: async () => {
      t.events.close();
      const port = services.port;
      await services.stop();
      services = await startServices({ ...options, port });
      t.services = services;
      t.events = await EventStream.open(port);
      await services.subscribed;
    },
    stop: async () => {
      t.events.close();
      await services.stop();
      await redis.stop();
    },
  };
  return t;
}

/**
 * For a file of API tests: a cluster of one process agent and the framework, started before
 * the file's tests and stopped after; `ready` hands them over once they are up.
 */
export function withServicesOnOneAgent(ready: (cluster: TestCluster, t: TestServices) => void): void {
  let cluster: TestCluster | undefined;
  let t: TestServices | undefined;
  beforeAll(async () => {
    const c = await startCluster({ containerizer: 'process', agents: 1 });
    cluster = c;
    t = await startTestServices(c);
    ready(c, t);
  });
  afterAll(async () => {
    await t?.stop();
    await cluster?.stop();
  });
}
