/**
 * The flags every framework server takes (`agora services`, `agora jobs`): where the master
 * is (or the masters, as a list), Redis or memory, where to serve, its name and role, how long the master keeps its tasks,
 * and where its web UI is for the master's UI to link to.
 */
import { SECURITY_FLAGS } from '../../common/security/process-flags';
import { hostname } from 'os';
import { UsageError } from '../../common/flags';
import { MasterAddressError, parseMasterList } from '../../common/master-list';
import { isWebUrl } from '../../common/web-url';
import { ElectionConfigError, leaseTiming } from '../../common/leadership';

export const FRAMEWORK_FLAGS = {
  master: 'string', redis: 'string', 'redis-prefix': 'string', host: 'string', port: 'number', name: 'string', role: 'string',
  'failover-timeout-ms': 'number', 'webui-url': 'string', help: 'boolean',
  ha: 'boolean', nats: 'string', 'ha-replicas': 'number', 'lease-ms': 'number', 'ha-id': 'string', ...SECURITY_FLAGS,
} as const;

/** Running as one of several replicas (`--ha`): one leads under a lease on NATS, the others stand by (replica.ts). */
export interface HaOptions {
  /** The NATS server(s) holding the lease bucket, comma-separated (all of a cluster's, to reconnect to another). */
  natsUrl: string;
  /** The lease bucket's replicas: 3 on a 3-node NATS cluster (default 1). */
  replicas?: number;
  /** How long a lease lasts (default 3000 ms, the master's). */
  leaseMs?: number;
  /** This replica among its peers (default host:port of its HTTP). */
  id?: string;
}

export interface FrameworkServerOptions {
  /**
   * The master's HTTP address (host:5050), or every master's as a comma-separated list
   * (m1:5050,m2:5050,m3:5050) so that the framework finds the leader through any of them;
   * defaults to AGORA_MASTER, then the local cluster.
   */
  master?: string;
  /** Keep state in Redis under `redisPrefix` (default: the framework's own); without it, in memory (lost on stop). */
  redisUrl?: string;
  redisPrefix?: string;
  /** The address to bind HTTP to (default 0.0.0.0). */
  host?: string;
  /** HTTP port (default: the framework's, 8080 for services, 4400 for jobs; 0 picks one). */
  port?: number;
  /** The framework's name (default: agora-services, agora-jobs). */
  name?: string;
  /** The role it takes offers for (default *). */
  role?: string;
  /** How long the master keeps our tasks while we are away (default: a week with Redis; a minute in memory). */
  failoverTimeoutMs?: number;
  /** FrameworkInfo.webui_url, when the default (this server's own address) is not where browsers reach it. */
  webuiUrl?: string;
  /** Stand for election with the other replicas (`--ha`); without it the server leads alone, at epoch 1. */
  ha?: HaOptions;
}

type Parsed = {
  master?: string; redis?: string; 'redis-prefix'?: string; host?: string; port?: number; name?: string; role?: string;
  'failover-timeout-ms'?: number; 'webui-url'?: string; ha?: boolean; nats?: string; 'ha-replicas'?: number; 'lease-ms'?: number; 'ha-id'?: string;
};

/** The common options from parsed flags, with AGORA_MASTER and AGORA_REDIS behind --master and --redis. */
export function frameworkOptions(f: Parsed, env: NodeJS.ProcessEnv): FrameworkServerOptions {
  const o: FrameworkServerOptions = {};
  const master = f.master ?? env.AGORA_MASTER;
  if (master) o.master = checkedMasters(master);
  const redis = f.redis ?? env.AGORA_REDIS;
  if (redis) o.redisUrl = redis;
  if (f['redis-prefix'] !== undefined) o.redisPrefix = f['redis-prefix'];
  if (f.host !== undefined) o.host = f.host;
  if (f.port !== undefined) o.port = f.port;
  if (f.name !== undefined) o.name = f.name;
  if (f.role !== undefined) o.role = f.role;
  if (f['failover-timeout-ms'] !== undefined) o.failoverTimeoutMs = f['failover-timeout-ms'];
  if (f['webui-url'] !== undefined) {
    const problem = webuiUrlProblem(f['webui-url']);
    if (problem) throw new UsageError(`--webui-url ${problem}`);
    o.webuiUrl = f['webui-url'];
  }
  const ha = haOptions(f, env, o.redisUrl !== undefined);
  if (ha) o.ha = ha;
  return o;
}

/** A master list the framework could not use, refused at start rather than at every subscription. */
function checkedMasters(master: string): string {
  try {
    parseMasterList(master, 'http');
  } catch (err) {
    if (err instanceof MasterAddressError) throw new UsageError(`--master (or AGORA_MASTER): ${err.message}`);
    throw err;
  }
  return master;
}

/**
 * `--ha` and its companions, checked here so a bad combination is a UsageError at start, never
 * a replica that runs alone: replicas share their state in Redis (so `--redis`) and their lease
 * on NATS (so `--nats`, or AGORA_NATS).
 */
function haOptions(f: Parsed, env: NodeJS.ProcessEnv, redis: boolean): HaOptions | undefined {
  if (!f.ha) {
    if (f.nats !== undefined || f['ha-replicas'] !== undefined || f['lease-ms'] !== undefined || f['ha-id'] !== undefined) {
      throw new UsageError('--nats, --ha-replicas, --lease-ms and --ha-id need --ha');
    }
    return undefined;
  }
  if (!redis) throw new UsageError('--ha needs --redis (or AGORA_REDIS): the replicas share their state there, and a memory store would die with its leader');
  const natsUrl = f.nats ?? env.AGORA_NATS;
  if (!natsUrl) throw new UsageError('--ha needs --nats URL[,URL…] (or AGORA_NATS): the replicas\' lease is a JetStream KV bucket there');
  const replicas = f['ha-replicas'];
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)) {
    throw new UsageError(`--ha-replicas must be 1 to 5 (3 on a 3-node NATS cluster), got ${replicas}`);
  }
  const leaseMs = f['lease-ms'];
  if (leaseMs !== undefined) {
    try {
      leaseTiming({ leaseMs });
    } catch (err) {
      if (err instanceof ElectionConfigError) throw new UsageError(`--lease-ms ${leaseMs}: ${err.message.replace(/^.*?: /, '')}`);
      throw err;
    }
  }
  if (f['ha-id'] !== undefined && f['ha-id'].trim() === '') throw new UsageError('--ha-id must not be empty');
  return { natsUrl, ...(replicas !== undefined ? { replicas } : {}), ...(leaseMs !== undefined ? { leaseMs } : {}), ...(f['ha-id'] !== undefined ? { id: f['ha-id'] } : {}) };
}

/**
 * Why `text` cannot be a framework's web UI URL, or undefined. Only http and https: the
 * master refuses a subscription with any other (its UI makes it a link), and a framework
 * refused that way would only try again, for ever.
 */
export function webuiUrlProblem(text: string): string | undefined {
  if (isWebUrl(text)) return undefined;
  return `must be an http or https URL such as http://proxy.example.com/services/ui/, got '${text}'`;
}

/**
 * A framework's web UI where it serves it: `https://<host>:<port>/ui/` (`http://` when it
 * serves plain HTTP, `--insecure`). Bound to every address (0.0.0.0, ::), the host is this
 * machine's name, which a browser elsewhere may reach where it could not reach 127.0.0.1.
 */
export function defaultWebuiUrl(host: string, port: number, machine: () => string = hostname, scheme: 'http' | 'https' = 'http'): string {
  const wildcard = host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
  const name = wildcard ? machine() : host;
  const literal = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;   // an IPv6 address
  return `${scheme}://${literal}:${port}/ui/`;
}
