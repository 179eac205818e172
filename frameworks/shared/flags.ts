/**
 * The flags every framework server takes (`agora services`, `agora jobs`): where the master
 * is, Redis or memory, where to serve, its name and role, how long the master keeps its tasks.
 */
export const FRAMEWORK_FLAGS = {
  master: 'string', redis: 'string', 'redis-prefix': 'string', host: 'string', port: 'number', name: 'string', role: 'string',
  'failover-timeout-ms': 'number', help: 'boolean',
} as const;

export interface FrameworkServerOptions {
  master?: string;
  redisUrl?: string;
  redisPrefix?: string;
  host?: string;
  port?: number;
  name?: string;
  role?: string;
  failoverTimeoutMs?: number;
}

type Parsed = { master?: string; redis?: string; 'redis-prefix'?: string; host?: string; port?: number; name?: string; role?: string; 'failover-timeout-ms'?: number };

/** The common options from parsed flags, with AGORA_MASTER and AGORA_REDIS behind --master and --redis. */
export function frameworkOptions(f: Parsed, env: NodeJS.ProcessEnv): FrameworkServerOptions {
  const o: FrameworkServerOptions = {};
  const master = f.master ?? env.AGORA_MASTER;
  if (master) o.master = master;
  const redis = f.redis ?? env.AGORA_REDIS;
  if (redis) o.redisUrl = redis;
  if (f['redis-prefix'] !== undefined) o.redisPrefix = f['redis-prefix'];
  if (f.host !== undefined) o.host = f.host;
  if (f.port !== undefined) o.port = f.port;
  if (f.name !== undefined) o.name = f.name;
  if (f.role !== undefined) o.role = f.role;
  if (f['failover-timeout-ms'] !== undefined) o.failoverTimeoutMs = f['failover-timeout-ms'];
  return o;
}
