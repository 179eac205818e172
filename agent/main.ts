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
  --docker-concurrency N   at most N calls of this agent at the Docker engine at once; the
                           rest wait in line, kills first (default ${DEFAULTS.dockerConcurrentCalls})
  --docker-probe-interval DURATION
                           how often the engine is probed (/_ping, /info) (default 5s)
  --docker-probe-timeout DURATION
                           a probe not answered by then fails (default 5s)
  --docker-probe-failures N
                           failed probes in a row that make the engine wedged (default ${DEFAULTS.dockerProbeFailures})
${SECURITY_USAGE}  --help                   this text

Degraded: when the Docker engine has not answered that many probes in a row (about 30 s
with the defaults), the agent is degraded. It takes no launches (a task sent to it ends
TASK_DROPPED, reason REASON_CONTAINER_LAUNCH_FAILED, saying why), tells the master, which
stops offering it and shows the reason in /api/v1/state and its UI, and keeps its running
tasks. A hung dockerd (Docker 20.10 can deadlock when many containers go at once) needs a
restart: there is no systemd here, so stop it (kill $(pidof dockerd); kill -9 if it does
not exit) and start it again with 'node scripts/setup.js', which starts a dockerd when none
answers. The agent recovers on its own as soon as the engine answers a probe again.
`;

const SPEC = {
  nats: 'string', prefix: 'string', 'work-dir': 'string', resources: 'string', port: 'number', host: 'string',
  hostname: 'string', containerizer: 'string', 'docker-socket': 'string', 'default-image': 'string', 'process-user': 'string', 'docker-user': 'string',
  attributes: 'string', recover: 'string', 'gc-delay': 'string', 'gc-disk-headroom': 'number', 'disk-watch-interval': 'string',
  'usage-interval-ms': 'number', 'docker-concurrency': 'number', 'docker-probe-interval': 'string', 'docker-probe-timeout': 'string',
  'docker-probe-failures': 'number', help: 'boolean', ...SECURITY_FLAGS,
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
  // Counts are checked by agentConfig; durations here, as the other duration flags.
  if (f['docker-concurrency'] !== undefined) o.dockerConcurrentCalls = f['docker-concurrency'];
  if (f['docker-probe-interval'] !== undefined) o.dockerProbeIntervalMs = parseDuration('dockerProbeIntervalMs', f['docker-probe-interval']);
  if (f['docker-probe-timeout'] !== undefined) o.dockerProbeTimeoutMs = parseDuration('dockerProbeTimeoutMs', f['docker-probe-timeout']);
  if (f['docker-probe-failures'] !== undefined) o.dockerProbeFailures = f['docker-probe-failures'];
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
