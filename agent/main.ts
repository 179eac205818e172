/**
 * `agora agent`: flags → options, start the agent, stop it on SIGINT or SIGTERM. The CLI
 * wrapper calls `runAgent(argv)` with the arguments after `agent`; a bad flag is a UsageError,
 * a bad value an AgentConfigError, an agent that cannot start an AgentStartError, for the
 * wrapper to print.
 */
import { openDoors, processIdentity, SECURITY_FLAGS, SECURITY_USAGE, securityChoice } from '../common/security/process-flags';
import { logger } from '../common/log';
import { AGENT_VERSION, startAgent } from './agent';
import { parseArgs } from '../common/flags';
import { untilStopSignal, type SignalSource } from '../common/signals';
import { DEFAULTS, parseAttributes, parseDuration, type AgentOptions, type ContainerizerChoice, type RecoverMode } from './config';

export const USAGE = `Usage: agora agent [flags]

Runs an agent: offers this machine's resources to the master and runs tasks in containers.

  --nats URL               NATS server (default: $AGORA_NATS, else ${DEFAULTS.natsUrl})
  --prefix NAME            NATS subject prefix (default ${DEFAULTS.subjectPrefix})
  --work-dir DIR           sandboxes and checkpoints (default ${DEFAULTS.workDir})
  --resources TEXT         e.g. 'cpus:4;mem:8192;ports:[31000-32000]'; missing ones are detected
  --port N                 HTTP port (default ${DEFAULTS.httpPort}; 0 picks a free one)
  --host ADDR              HTTP address to bind (default ${DEFAULTS.httpHost})
  --hostname NAME          the name the master and frameworks see (default: this host's)
  --containerizer KIND     docker | process | auto (default ${DEFAULTS.containerizer}: Docker if it answers)
  --docker-socket PATH     (default ${DEFAULTS.dockerSocket})
  --default-image IMAGE    for Docker tasks that name none (default ${DEFAULTS.defaultImage})
  --process-user NAME      who process tasks that name no user run as (default nobody when
                           the agent runs as root; '' for the agent's own user)
  --docker-user USER       who Docker tasks that name no user run as (default 65534:65534,
                           nobody; '' for each image's own user, often root)
  --attributes TEXT        e.g. 'rack:r1;zone:a'
  --usage-interval-ms N    how often task usage is measured and sent to the master (default ${DEFAULTS.usageIntervalMs})
  --recover MODE           reconnect (default): take back the tasks a previous run of this
                           agent left running; cleanup: kill them and register as a new agent
  --gc-delay DURATION      the longest a finished task's sandbox is kept, e.g. 30m, 12h, 7d
                           (default 7d); sooner as the disk fills
  --gc-disk-headroom F     the fraction of the work directory's disk to keep free (default ${DEFAULTS.gcDiskHeadroom})
  --disk-watch-interval DURATION
                           how often the disk is checked for GC (default 1m)
${SECURITY_USAGE}  --help                   this text
`;

const SPEC = {
  nats: 'string', prefix: 'string', 'work-dir': 'string', resources: 'string', port: 'number', host: 'string',
  hostname: 'string', containerizer: 'string', 'docker-socket': 'string', 'default-image': 'string', 'process-user': 'string', 'docker-user': 'string',
  attributes: 'string', recover: 'string', 'gc-delay': 'string', 'gc-disk-headroom': 'number', 'disk-watch-interval': 'string',
  'usage-interval-ms': 'number', help: 'boolean', ...SECURITY_FLAGS,
} as const;

/** Parses the flags (`--flag value` or `--flag=value`); 'help' when help was asked for. */
export function parseAgentArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentOptions | 'help' {
  const { flags: f } = parseArgs(argv, SPEC);
  if (f.help) return 'help';
  const o: AgentOptions = {};
  const natsUrl = f.nats ?? env.AGORA_NATS;
  if (natsUrl) o.natsUrl = natsUrl;
  if (f.prefix !== undefined) o.subjectPrefix = f.prefix;
  if (f['work-dir'] !== undefined) o.workDir = f['work-dir'];
  if (f.resources !== undefined) o.resources = f.resources;
  if (f.port !== undefined) o.httpPort = f.port;
  if (f.host !== undefined) o.httpHost = f.host;
  if (f.hostname !== undefined) o.hostname = f.hostname;
  if (f.containerizer !== undefined) o.containerizer = f.containerizer as ContainerizerChoice;   // checked by agentConfig
  if (f['docker-socket'] !== undefined) o.dockerSocket = f['docker-socket'];
  if (f['default-image'] !== undefined) o.defaultImage = f['default-image'];
  if (f['process-user'] !== undefined) o.processUser = f['process-user'];
  if (f['docker-user'] !== undefined) o.dockerUser = f['docker-user'];
  if (f.attributes !== undefined) o.attributes = parseAttributes(f.attributes);
  if (f.recover !== undefined) o.recover = f.recover as RecoverMode;   // checked by agentConfig
  if (f['gc-delay'] !== undefined) o.gcDelayMs = parseDuration('gcDelayMs', f['gc-delay']);
  if (f['gc-disk-headroom'] !== undefined) o.gcDiskHeadroom = f['gc-disk-headroom'];   // checked by agentConfig
  if (f['disk-watch-interval'] !== undefined) o.diskWatchIntervalMs = parseDuration('diskWatchIntervalMs', f['disk-watch-interval']);
  if (f['usage-interval-ms'] !== undefined) o.usageIntervalMs = f['usage-interval-ms'];
  return o;
}


const log = logger('agent/main');

/** Runs the agent until SIGINT or SIGTERM, then stops it and resolves. */
export async function runAgent(argv: string[], signals: SignalSource = process): Promise<void> {
  const options = parseAgentArgs(argv);
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const choice = securityChoice(parseArgs(argv, SPEC).flags);
  const security = openDoors(choice, log);
  // On a locked cluster the agent is its principal to NATS: `--principal`, else the local agent's.
  const identity = processIdentity(choice, 'local-agent');
  const agent = await startAgent({ ...options, ...(security ? { security } : {}), ...(identity ? { identity } : {}) });
  log.info(`agora agent ${AGENT_VERSION} up: HTTP on port ${agent.httpPort}, containerizers ${agent.containerizers.join(', ')}; registering over ${agent.config.natsUrl}`);
  await untilStopSignal(signals);
  log.info('stopping: killing tasks, removing containers');
  await agent.stop();
  security?.close();
}
