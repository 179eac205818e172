/**
 * `agora master`: flags → options → startMaster, until SIGINT or SIGTERM.
 */
import { logger } from '../common/log';
import { openDoors, processIdentity, SECURITY_FLAGS, SECURITY_USAGE, securityChoice, type SecurityChoice } from '../common/security/process-flags';
import { parseArgs, UsageError } from '../common/flags';
import { untilStopSignal } from '../common/signals';
import { startMasterNode, type ElectionOptions } from './node';
import { startMaster } from './server';
import type { StartMasterOptions } from './server';

export const MASTER_USAGE = `Usage: agora master [flags]

  --nats URL                  NATS server (env AGORA_NATS; default nats://127.0.0.1:4222)
  --prefix NAME               NATS subject prefix (default agora)
  --redis URL                 keep the registry in Redis, keys under <prefix>: (env AGORA_REDIS;
                              default: in memory, forgotten when the master stops)
  --host ADDR                 address to bind HTTP and gRPC to (default 0.0.0.0)
  --port N                    HTTP operator API port (default 5050; 0 picks one)
  --grpc-port N               gRPC scheduler API port (default 5053; 0 picks one)
  --allocation-interval-ms N  time between allocation cycles (default 1000)
  --offer-timeout-ms N        rescind offers not answered within N ms (default 60000; 0: never)
  --framework-heartbeat-interval-ms N
                              HEARTBEAT to each framework every N ms (default 15000)
  --agent-reregister-timeout-ms N
                              agents recovered from the registry that have not registered again
                              within N ms are unreachable (default 600000, Mesos's 10 min)
  --ha                        stand for election with the other masters on the same NATS: lead
                              when elected, else serve as a standby (307 to the leader); exit
                              when deposed, for a supervisor to start again (master/node.ts)
  --ha-replicas N             replicas of the lease's JetStream bucket: 3 on a 3-node NATS cluster
                              (default 1)
  --lease-ms N                the leader's lease (default 3000): a SIGKILLed leader is replaced
                              about this long after its last renewal
  --ha-id NAME                this master among its peers (default HOST:PORT)
  --offer-log-max-bytes N     the durable offer log (JetStream) keeps at most N bytes (default 64 MiB)
  --offer-log-max-age-ms N    …and no line older than N ms (default 7 days)
${SECURITY_USAGE}  --help                      this text
`;

export { UsageError };

const SPEC = {
  nats: 'string', prefix: 'string', redis: 'string', host: 'string', port: 'number', 'grpc-port': 'number',
  'allocation-interval-ms': 'number', 'offer-timeout-ms': 'number', 'framework-heartbeat-interval-ms': 'number',
  'agent-reregister-timeout-ms': 'number', ha: 'boolean', 'ha-replicas': 'number', 'lease-ms': 'number', 'ha-id': 'string',
  'offer-log-max-bytes': 'number', 'offer-log-max-age-ms': 'number', help: 'boolean', ...SECURITY_FLAGS,
} as const;

/** Pure: argv (without node and script) and the environment → options, or a request for help. */
export function parseMasterArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env):
  { help: true } | { help: false; options: StartMasterOptions; security: SecurityChoice; election?: ElectionOptions } {
  const { flags: f } = parseArgs(argv, SPEC);
  if (f.help) return { help: true };
  const options: StartMasterOptions = {};
  const natsUrl = f.nats ?? env.AGORA_NATS;
  if (natsUrl) options.natsUrl = natsUrl;
  if (f.prefix !== undefined) options.subjectPrefix = f.prefix;
  const redisUrl = f.redis ?? env.AGORA_REDIS;
  if (redisUrl) options.redisUrl = redisUrl;
  if (f.host !== undefined) options.host = f.host;
  if (f.port !== undefined) options.httpPort = f.port;
  if (f['grpc-port'] !== undefined) options.grpcPort = f['grpc-port'];
  if (f['allocation-interval-ms'] !== undefined) options.allocationIntervalMs = f['allocation-interval-ms'];
  if (f['offer-timeout-ms'] !== undefined) options.offerTimeoutMs = f['offer-timeout-ms'];
  if (f['framework-heartbeat-interval-ms'] !== undefined) options.frameworkHeartbeatIntervalMs = f['framework-heartbeat-interval-ms'];
  if (f['agent-reregister-timeout-ms'] !== undefined) options.agentReregisterTimeoutMs = f['agent-reregister-timeout-ms'];
  if (f['offer-log-max-bytes'] !== undefined) options.offerLogMaxBytes = f['offer-log-max-bytes'];
  if (f['offer-log-max-age-ms'] !== undefined) options.offerLogMaxAgeMs = f['offer-log-max-age-ms'];
  const election: ElectionOptions | undefined = f.ha ? {
    ...(f['ha-replicas'] !== undefined ? { replicas: f['ha-replicas'] } : {}),
    ...(f['lease-ms'] !== undefined ? { leaseMs: f['lease-ms'] } : {}),
    ...(f['ha-id'] !== undefined ? { id: f['ha-id'] } : {}),
  } : undefined;
  if (!f.ha && (f['ha-replicas'] !== undefined || f['lease-ms'] !== undefined || f['ha-id'] !== undefined)) {
    throw new UsageError('--ha-replicas, --lease-ms and --ha-id need --ha');
  }
  return { help: false, options, security: securityChoice(f), ...(election ? { election } : {}) };
}

export async function runMaster(argv: string[]): Promise<void> {
  const parsed = parseMasterArgs(argv);
  if (parsed.help) {
    process.stdout.write(MASTER_USAGE);
    return;
  }
  const log = logger('master');
  const security = openDoors(parsed.security, log);
  const identity = processIdentity(parsed.security, 'master');
  const options: StartMasterOptions = { ...parsed.options, ...(security ? { security } : {}), ...(identity ? { identity } : {}) };
  if (parsed.election) {
    const node = await startMasterNode(options, parsed.election);
    process.stdout.write(`agora master (HA): HTTP on ${node.httpPort}, gRPC on ${node.grpcPort}; standing for election\n`);
    const ended = await Promise.race([untilStopSignal().then(() => 'signal' as const), node.deposed.then(() => 'deposed' as const)]);
    await node.stop();
    security?.close();
    // Deposed: stop for good, as a Mesos master does; a supervisor starts it again as a standby.
    if (ended === 'deposed') process.exit(1);
    return;
  }
  const master = await startMaster(options);
  process.stdout.write(`agora master ${master.info.id}: HTTP on ${master.config.host}:${master.httpPort}, gRPC on ${master.config.host}:${master.grpcPort}\n`);
  await untilStopSignal();
  await master.stop();
  security?.close();
}
