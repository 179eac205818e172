/**
 * `node dist/bench/hollow/main.js --agents 2000 --nats URL [flags]`: one fleet of hollow
 * agents (fleet.ts) until SIGINT or SIGTERM. Start several, each with its own
 * `--hostname-prefix`, to spread the load over the cores. It takes the agent's security flags,
 * so it runs against a locked cluster as an agent principal.
 */
import { parseArgs } from '../../common/flags';
import { logger } from '../../common/log';
import { parse } from '../../common/resources';
import { untilStopSignal } from '../../common/signals';
import { openDoors, processIdentity, SECURITY_FLAGS, SECURITY_USAGE, securityChoice } from '../../common/security/process-flags';
import { DEFAULTS, parseAttributes } from '../../agent/config';
import { HollowFleet } from './fleet';

const USAGE = `Usage: node dist/bench/hollow/main.js [flags]

Runs many simulated agents in this process over one NATS connection.

  --agents N               how many (default 1000)
  --nats URL               NATS server (default: $AGORA_NATS, else ${DEFAULTS.natsUrl})
  --prefix NAME            NATS subject prefix (default ${DEFAULTS.subjectPrefix})
  --resources TEXT         each agent's (default 'cpus:8;mem:16384;disk:65536;ports:[31000-32000]')
  --attributes TEXT        each agent's, e.g. 'rack:r1;zone:a'
  --hostname-prefix NAME   agent i is NAME-i (default hollow-<pid>)
  --task-duration-ms N     how long a task runs before it finishes (default 10000; label hollow.duration_ms wins)
  --start-spread-ms N      agents start evenly over this long (default 10000)
  --usage-interval-ms N    (default ${DEFAULTS.usageIntervalMs})
  --report-interval-ms N   how often the fleet logs its counts and CPU (default 10000)
${SECURITY_USAGE}  --help
`;

const SPEC = {
  agents: 'number', nats: 'string', prefix: 'string', resources: 'string', attributes: 'string', 'hostname-prefix': 'string',
  'task-duration-ms': 'number', 'start-spread-ms': 'number', 'usage-interval-ms': 'number', 'report-interval-ms': 'number',
  help: 'boolean', ...SECURITY_FLAGS,
} as const;

const log = logger('hollow/main');

async function main(argv: string[]): Promise<void> {
  const { flags: f } = parseArgs(argv, SPEC);
  if (f.help) {
    process.stdout.write(USAGE);
    return;
  }
  const choice = securityChoice(f);
  const security = openDoors(choice, log);
  const identity = processIdentity(choice, 'local-agent');
  const resources = parse(f.resources ?? 'cpus:8;mem:16384;disk:65536;ports:[31000-32000]');
  const attributes = f.attributes !== undefined ? parseAttributes(f.attributes) : {};
  const prefix = f['hostname-prefix'] ?? `hollow-${process.pid}`;
  const taskDurationMs = f['task-duration-ms'] ?? 10_000;
  const fleet = new HollowFleet({
    natsUrl: f.nats ?? process.env.AGORA_NATS ?? DEFAULTS.natsUrl, agents: f.agents ?? 1000,
    ...(f.prefix !== undefined ? { subjectPrefix: f.prefix } : {}),
    specOf: (i) => ({ hostname: `${prefix}-${i}`, resources, attributes, taskDurationMs }),
    timing: {
      heartbeatIntervalMs: undefined, statusRetryInitialMs: DEFAULTS.statusRetryInitialMs, statusRetryMaxMs: DEFAULTS.statusRetryMaxMs,
      usageIntervalMs: f['usage-interval-ms'] ?? DEFAULTS.usageIntervalMs, requestTimeoutMs: DEFAULTS.requestTimeoutMs,
      registerBackoffFactorMs: DEFAULTS.registerBackoffFactorMs, registerBackoffMaxMs: DEFAULTS.registerBackoffMaxMs, killGracePeriodMs: DEFAULTS.killGracePeriodMs,
    },
    startSpreadMs: f['start-spread-ms'] ?? 10_000,
    ...(security ? { security } : {}), ...(identity ? { identity } : {}),
  });
  await fleet.start();
  let cpu = process.cpuUsage();
  let at = Date.now();
  const report = setInterval(() => {
    const used = process.cpuUsage(cpu);
    const now = Date.now();
    const cpuPercent = Math.round(((used.user + used.system) / 1000 / (now - at)) * 100);
    cpu = process.cpuUsage();
    at = now;
    log.info('fleet', { ...fleet.counts(), cpuPercent, heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20) });
  }, f['report-interval-ms'] ?? 10_000);
  await untilStopSignal(process);
  clearInterval(report);
  log.info('stopping: killing tasks, unregistering');
  await fleet.stop();
  security?.close();
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`hollow: ${err.message}\n`);
  process.exit(1);
});
