/**
 * `agora agent`: flags → options, start the agent, stop it on SIGINT or SIGTERM. The CLI
 * wrapper calls `runAgent(argv)` with the arguments after `agent`; a bad flag or value is an
 * AgentConfigError, an agent that cannot start an AgentStartError, for the wrapper to print.
 */
import { logger } from '../common/log';
import { AGENT_VERSION, startAgent } from './agent';
import { AgentConfigError, DEFAULTS, parseAttributes, type AgentOptions, type ContainerizerChoice } from './config';

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
  --attributes TEXT        e.g. 'rack:r1;zone:a'
  --help                   this text
`;

type Flag = keyof typeof FLAGS;
const FLAGS = {
  '--nats': 'natsUrl', '--prefix': 'subjectPrefix', '--work-dir': 'workDir', '--resources': 'resources',
  '--port': 'httpPort', '--host': 'httpHost', '--hostname': 'hostname', '--containerizer': 'containerizer',
  '--docker-socket': 'dockerSocket', '--default-image': 'defaultImage', '--attributes': 'attributes',
} as const;

/** Parses the flags (`--flag value` or `--flag=value`); 'help' when help was asked for. */
export function parseAgentArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentOptions | 'help' {
  const o: AgentOptions = {};
  if (env.AGORA_NATS) o.natsUrl = env.AGORA_NATS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(0, eq) : arg) as Flag;
    if (!(name in FLAGS)) throw new AgentConfigError(arg, `unknown flag; see --help`);
    let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new AgentConfigError(name, 'needs a value');
    value = value.trim();
    switch (FLAGS[name]) {
      case 'httpPort': {
        if (!/^\d+$/.test(value)) throw new AgentConfigError(name, `'${value}' is not a port number`);
        o.httpPort = Number(value);
        break;
      }
      case 'containerizer': o.containerizer = value as ContainerizerChoice; break;
      case 'attributes': o.attributes = parseAttributes(value); break;
      default: o[FLAGS[name] as 'natsUrl'] = value;
    }
  }
  return o;
}

/** What runAgent listens on for a stop; `process` unless a test hands in its own. */
export interface SignalSource {
  once(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  off(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

const log = logger('agent/main');

/** Runs the agent until SIGINT or SIGTERM, then stops it and resolves. */
export async function runAgent(argv: string[], signals: SignalSource = process): Promise<void> {
  const options = parseAgentArgs(argv);
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const agent = await startAgent(options);
  log.info(`agora agent ${AGENT_VERSION} up: HTTP on port ${agent.httpPort}, containerizers ${agent.containerizers.join(', ')}; registering over ${agent.config.natsUrl}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      signals.off('SIGINT', stop);
      signals.off('SIGTERM', stop);
      resolve();
    };
    signals.once('SIGINT', stop);
    signals.once('SIGTERM', stop);
  });
  log.info('stopping: killing tasks, removing containers');
  await agent.stop();
}
