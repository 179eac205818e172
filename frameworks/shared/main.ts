/**
 * `agora services`, `agora jobs`: flags → options → the framework's server, until SIGINT or
 * SIGTERM. The flags are the common ones (flags.ts) and the framework's own.
 */
import { logger } from '../../common/log';
import { openDoors, processIdentity, SECURITY_USAGE, securityChoice } from '../../common/security/process-flags';
import { parseArgs, type Parsed } from '../../common/flags';
import { untilStopSignal } from '../../common/signals';
import { FRAMEWORK_FLAGS, frameworkOptions, type FrameworkServerOptions } from './flags';
import { startReplica } from './replica';
import type { ServerOptions } from './server';

export interface FrameworkCommand<S extends typeof FRAMEWORK_FLAGS, O extends ServerOptions> {
  /** 'services', 'jobs': `agora <kind>`. */
  kind: string;
  usage: string;
  /** FRAMEWORK_FLAGS and the framework's own. */
  flags: S;
  /** The options of its own flags, added to the common ones. */
  options(f: Parsed<S>['flags'], common: FrameworkServerOptions): O;
  start(o: O): Promise<{ port: number; stop(): Promise<void> }>;
  /** What it serves, for the line it prints once up: "REST API and UI". */
  serves: string;
  /** Its HTTP port and Redis prefix when none is given: a replica binds the port and names its lease by the prefix. */
  defaults: { port: number; redisPrefix: string };
}

export function parseFrameworkArgs<S extends typeof FRAMEWORK_FLAGS, O extends ServerOptions>(
  c: FrameworkCommand<S, O>, argv: readonly string[], env: NodeJS.ProcessEnv,
): { help: true } | { help: false; options: O } {
  const { flags: f } = parseArgs(argv, c.flags);
  if (f.help) return { help: true };
  return { help: false, options: c.options(f, frameworkOptions(common(f), env)) };
}

/** S extends FRAMEWORK_FLAGS, so its flags hold the common ones as they are typed there (TypeScript cannot see it through the mapped type). */
const common = <S extends typeof FRAMEWORK_FLAGS>(f: Parsed<S>['flags']) => f as Parsed<typeof FRAMEWORK_FLAGS>['flags'];

export async function runFrameworkCommand<S extends typeof FRAMEWORK_FLAGS, O extends ServerOptions>(c: FrameworkCommand<S, O>, argv: string[]): Promise<void> {
  const parsed = parseFrameworkArgs(c, argv, process.env);
  if (parsed.help) {
    process.stdout.write(c.usage);
    return;
  }
  const choice = securityChoice(common(parseArgs(argv, c.flags).flags));
  const security = openDoors(choice, logger(c.kind));
  const identity = processIdentity(choice, c.kind);
  const options: O = { ...parsed.options, ...(security ? { security } : {}), ...(identity ? { identity } : {}) };
  if (options.ha && options.redisUrl) {
    const replica = await startReplica({ kind: c.kind, defaults: c.defaults, start: (o) => c.start({ ...options, ...o }) }, { ...options, ha: options.ha, redisUrl: options.redisUrl });
    process.stdout.write(`agora ${c.kind} (HA): ${c.serves} on port ${replica.port}; standing for election as ${replica.id}\n`);
    const ended = await Promise.race([untilStopSignal().then(() => undefined), replica.ended]);
    await replica.stop();
    security?.close();
    // Deposed or fenced: stop for good, as a deposed master does; a supervisor starts it again as a standby.
    if (ended) {
      process.stderr.write(`agora ${c.kind}: ${ended.why}; exiting\n`);
      process.exit(ended.code);
    }
    return;
  }
  const server = await c.start(options);
  process.stdout.write(`agora ${c.kind}: ${c.serves} on port ${server.port}\n`);
  await untilStopSignal();
  await server.stop();
  security?.close();
}

/**
 * The usage text: the common flags, with the framework's words for what it keeps in Redis,
 * its defaults, and its own flags after --role.
 */
export function frameworkUsage(o: { kind: string; keeps: string; prefix: string; serves: string; port: number; name: string; own?: string; memoryNote?: string }): string {
  return `Usage: agora ${o.kind} [flags]

  --master HOST:PORT[,…]  the master's HTTP address, or every master's, comma-separated
                          (env AGORA_MASTER; default 127.0.0.1:5050)
  --redis URL             keep ${o.keeps} in Redis (env AGORA_REDIS;
                          default: in memory, forgotten when the framework stops)
  --redis-prefix NAME     key prefix in Redis (default ${o.prefix})
  --host ADDR             address to bind HTTP to (default 0.0.0.0)
  --port N                HTTP port of the ${o.serves} (default ${o.port}; 0 picks one)
  --name NAME             framework name (default ${o.name})
  --role ROLE             the role to take offers for (default *)
${o.own ?? ''}  --ha                    run as one of several replicas: the elected one leads, the others
                          stand by and forward the API to it; exit when deposed, for a
                          supervisor to start again (needs --redis and --nats)
  --nats URL[,URL…]       NATS server(s) holding the replicas' lease (env AGORA_NATS), with --ha
  --ha-replicas N         replicas of the lease's JetStream bucket: 3 on a 3-node NATS cluster
                          (default 1)
  --lease-ms N            the leader's lease (default 3000): a SIGKILLed leader is replaced
                          about this long after its last renewal
  --ha-id NAME            this replica among its peers (default HOST:PORT of its HTTP)
  --failover-timeout-ms N how long the master keeps our tasks while we are away (default one
                          week with --redis, one minute in memory${o.memoryNote ?? ''})
  --webui-url URL         where browsers reach the web UI, for the master's UI to link to
                          (default http://HOST:PORT/ui/, HOST this machine's name when --host
                          is 0.0.0.0 or ::); set it behind a proxy (http or https only)
${SECURITY_USAGE}  --help                  this text
`;
}
