/**
 * `startServices`: the services framework as a server, on the frameworks' shared skeleton
 * (../shared/server.ts: its store, its HTTP API and UI, its subscription to the master). What
 * is its own: its stores, Marathon's v2 REST API and `/v2/events`, its info, port 8080, and
 * that it is partition-aware.
 */
import { randomUUID } from 'crypto';
import { startFrameworkServer, type FrameworkServer, type ServerContext, type ServerOptions } from '../shared/server';
import { marathonFeed, route } from './api-routes';
import { Commands } from './commands';
import { ServicesFramework } from './framework';
import { MemoryStore, RedisStore, DEFAULT_SERVICES_PREFIX, type ServicesStore } from './store';
import { uiFile } from './ui';

/** `advertise` is also Marathon's leader, what /v2/leader answers. */
export type ServicesOptions = ServerOptions;
export type ServicesHandle = FrameworkServer<ServicesFramework>;

export const SERVICES_VERSION = '0.1.0';
/** The Marathon REST API release whose shapes this framework answers in. */
export const MARATHON_API_VERSION = '1.10.0';

export function startServices(o: ServicesOptions = {}): Promise<ServicesHandle> {
  return startFrameworkServer<ServicesStore, ServicesFramework>({
    kind: 'services', title: 'the Agora services framework',
    defaults: { port: 8080, name: 'agora-services', redisPrefix: DEFAULT_SERVICES_PREFIX },
    stores: { redis: (url, prefix, o) => RedisStore.connect(url, prefix, o), memory: () => new MemoryStore() },
    load: (store, { clock, log, role, fenced }) => ServicesFramework.load({ store, clock, log, newId: randomUUID, role, ...(fenced ? { fenced } : {}) }),
    serve: (ctx) => {
      const self = (): string => o.leadership?.self() ?? o.advertise ?? `${ctx.host === '0.0.0.0' ? '127.0.0.1' : ctx.host}:${ctx.port()}`;
      const { framework } = ctx;
      return {
        route: route({ framework, commands: new Commands(framework), self, ui: uiFile, connected: ctx.connected, sandbox: ctx.scheduler, info: () => info(ctx, self(), o.leadership !== undefined),
          storeAvailable: () => ctx.store().available }),
        events: { path: '/v2/events', feed: marathonFeed(framework.bus) },
      };
    },
    // TASK_UNREACHABLE, not TASK_LOST, for a partitioned agent: the app's unreachableStrategy decides.
    frameworkInfo: { capabilities: ['PARTITION_AWARE'] },
  }, o);
}

/**
 * Marathon's MarathonInfo, field for field: strict clients refuse anything else. The version
 * is the Marathon API this speaks; buildref says what answers it.
 */
function info(ctx: ServerContext<ServicesFramework>, leader: string, ha: boolean): Record<string, unknown> {
  const { frameworkId } = ctx.framework.state;
  return {
    name: 'agora-services', version: MARATHON_API_VERSION, buildref: `agora-${SERVICES_VERSION}`, elected: true, leader,
    ...(frameworkId ? { frameworkId } : {}),
    marathon_config: {
      master: ctx.master, framework_name: ctx.name,
      failover_timeout: Math.round(ctx.failoverTimeoutMs / 1000), mesos_role: ctx.role, ha, checkpoint: true, webui_url: ctx.webuiUrl(),
      local_port_min: 10000, local_port_max: 20000, task_launch_timeout: 300_000, features: [],
    },
    zookeeper_config: { zk: '', zk_timeout: 0, zk_connection_timeout: 0, zk_session_timeout: 0, zk_max_versions: 0 },
    http_config: { http_port: ctx.port(), https_port: 0 },
  };
}
