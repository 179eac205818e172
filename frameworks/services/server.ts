/**
 * `startServices`: the services framework as a server — its store (Redis, or memory), the
 * framework, its HTTP API and UI, and its subscription to the master. The API serves from
 * the start; the subscription is made, and made again, in the background, so a framework
 * started before its master (or outliving it for a while) still answers, and catches up.
 */
import { clientIdentity, type ClientIdentity } from '../../common/security/client-config';
import type { ServerSecurity } from '../../common/security/security-dir';
import { lockedDoor } from '../../common/security/http-door';
import { randomUUID } from 'crypto';
import { systemClock, type Clock } from '../../common/clock';
import { logger, type Logger } from '../../common/log';
import type { MasterStateView } from '../../common/operator-types';
import { getJson, masterAddress } from '../sdk/master-address';
import { defaultWebuiUrl, webuiUrlProblem } from '../shared/flags';
import { keepSubscribed } from '../shared/subscription';
import { route } from './api-routes';
import { Commands } from './commands';
import { ServicesFramework } from './framework';
import { startHttp } from './http';
import { MemoryStore, RedisStore, DEFAULT_SERVICES_PREFIX, type ServicesStore } from './store';
import { uiFile } from './ui';

export interface ServicesOptions {
  /** The master's HTTP address (host:5050); defaults to AGORA_MASTER, then the local cluster. */
  master?: string;
  /** The master's gRPC address, to skip looking it up. */
  grpcAddress?: string;
  /** Keep state in Redis under `redisPrefix`; without it, in memory (lost on stop). */
  redisUrl?: string;
  redisPrefix?: string;
  host?: string;
  /** HTTP port (default 8080; 0 picks one). */
  port?: number;
  /** The address clients reach this server at, for /v2/leader (default host:port). */
  advertise?: string;
  name?: string;
  role?: string;
  /** How long the master keeps our tasks while we are away (default: a week as Marathon with Redis; a minute in memory). */
  failoverTimeoutMs?: number;
  /** Where browsers reach the UI, for the master's UI to link to (default http://<advertised host:port>/ui/). */
  webuiUrl?: string;
  /** Bytes a `/v2/events` client may leave unread before its stream is cut (default 16 MiB). */
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

export interface ServicesHandle {
  port: number;
  framework: ServicesFramework;
  /** Resolves once subscribed to the master for the first time. */
  subscribed: Promise<string>;
  stop(): Promise<void>;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;
/**
 * Kept in memory, the state dies with the process, and a new one could never claim the old
 * tasks: the master should not keep them for a week, only across a short loss of connection.
 */
const MEMORY_FAILOVER_MS = 60_000;
export const SERVICES_VERSION = '0.1.0';
/** The Marathon REST API release whose shapes this framework answers in. */
export const MARATHON_API_VERSION = '1.10.0';

export async function startServices(o: ServicesOptions = {}): Promise<ServicesHandle> {
  const log = o.log ?? logger('services');
  const webuiProblem = o.webuiUrl === undefined ? undefined : webuiUrlProblem(o.webuiUrl);
  if (webuiProblem) throw new Error(`webuiUrl ${webuiProblem}`);
  const clock = o.clock ?? systemClock;
  const failoverTimeoutMs = o.failoverTimeoutMs ?? (o.redisUrl ? WEEK_MS : MEMORY_FAILOVER_MS);
  const store: ServicesStore = o.redisUrl ? await RedisStore.connect(o.redisUrl, o.redisPrefix ?? DEFAULT_SERVICES_PREFIX) : new MemoryStore();
  const framework = await ServicesFramework.load({ store, clock, log, newId: randomUUID, role: o.role ?? '*' });
  const commands = new Commands(framework);
  const host = o.host ?? '0.0.0.0';
  let port = 0;
  const self = (): string => o.advertise ?? `${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  // For browsers, not this machine's clients: a wildcard bind names the machine, not 127.0.0.1.
  const webuiUrl = (): string => o.webuiUrl ?? (o.advertise ? `${o.security ? 'https' : 'http'}://${o.advertise}/ui/` : defaultWebuiUrl(host, port, undefined, o.security ? 'https' : 'http'));
  const door = o.security && lockedDoor(o.security.credentials, { kind: 'services', tls: o.security.tls, port: o.port ?? 8080, title: 'the Agora services framework', log });
  const http = await startHttp({
    ...(door ? { door } : {}),
    host, port: o.port ?? 8080, log, events: framework.bus, maxEventBacklogBytes: o.maxEventBacklogBytes,
    route: route({
      framework, commands, self, ui: uiFile, connected: () => subscription.scheduler()?.connected ?? false,
      agents: async () => (await getJson<MasterStateView>(masterAddress(o.master, o.identity ?? clientIdentity()), '/api/v1/state')).agents
        .map(({ id, hostname, port: agentPort }) => ({ id, hostname, port: agentPort })),
      info: () => ({
        // Marathon's MarathonInfo, field for field: strict clients refuse anything else. The
        // version is the Marathon API this speaks; buildref says what answers it.
        name: 'agora-services', version: MARATHON_API_VERSION, buildref: `agora-${SERVICES_VERSION}`, elected: true, leader: self(),
        ...(framework.state.frameworkId ? { frameworkId: framework.state.frameworkId } : {}),
        marathon_config: {
          master: o.master ?? process.env.AGORA_MASTER ?? '127.0.0.1:5050', framework_name: o.name ?? 'agora-services',
          failover_timeout: Math.round(failoverTimeoutMs / 1000), mesos_role: o.role ?? '*', ha: false, checkpoint: true, webui_url: webuiUrl(),
          local_port_min: 10000, local_port_max: 20000, task_launch_timeout: 300_000, features: [],
        },
        zookeeper_config: { zk: '', zk_timeout: 0, zk_connection_timeout: 0, zk_session_timeout: 0, zk_max_versions: 0 },
        http_config: { http_port: port, https_port: 0 },      }),
    }),
  }).catch(async (err: Error) => {
    door?.close();
    await store.close();   // a taken port: nothing may stay open behind the error
    throw err;
  });
  port = http.port;

  const subscription = keepSubscribed(framework, {
    master: o.master, grpcAddress: o.grpcAddress, log, ...(o.identity ? { credentials: o.identity } : {}),
    framework: {
      name: o.name ?? 'agora-services', roles: [o.role ?? '*'], failoverTimeoutMs, webuiUrl: webuiUrl(),
      // TASK_UNREACHABLE, not TASK_LOST, for a partitioned agent: the app's unreachableStrategy decides.
      capabilities: ['PARTITION_AWARE'],
    },
  });
  let stopped: Promise<void> | undefined;

  return {
    port, framework, subscribed: subscription.subscribed,
    stop: () => stopped ??= (async () => {
      subscription.close();
      await framework.stop();
      await http.stop();
      door?.close();
      await store.close();
    })(),
  };
}
