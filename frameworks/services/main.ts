/**
 * `agora services`: flags → options → startServices, until SIGINT or SIGTERM.
 */
import { logger } from '../../common/log';
import { openDoors, processIdentity, SECURITY_USAGE, securityChoice } from '../../common/security/process-flags';
import { parseArgs } from '../../common/flags';
import { untilStopSignal } from '../../common/signals';
import { FRAMEWORK_FLAGS, frameworkOptions } from '../shared/flags';
import { startServices, type ServicesOptions } from './server';

export const SERVICES_USAGE = `Usage: agora services [flags]

  --master HOST:PORT      the master's HTTP address (env AGORA_MASTER; default 127.0.0.1:5050)
  --redis URL             keep apps, deployments and tasks in Redis (env AGORA_REDIS;
                          default: in memory, forgotten when the framework stops)
  --redis-prefix NAME     key prefix in Redis (default agora:services:)
  --host ADDR             address to bind HTTP to (default 0.0.0.0)
  --port N                HTTP port of the REST API and UI (default 8080; 0 picks one)
  --name NAME             framework name (default agora-services)
  --role ROLE             the role to take offers for (default *)
  --failover-timeout-ms N how long the master keeps our tasks while we are away (default one
                          week with --redis, one minute in memory: that state dies with us)
  --webui-url URL         where browsers reach the web UI, for the master's UI to link to
                          (default http://HOST:PORT/ui/, HOST this machine's name when --host
                          is 0.0.0.0 or ::); set it behind a proxy (http or https only)
${SECURITY_USAGE}  --help                  this text
`;

export function parseServicesArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { help: true } | { help: false; options: ServicesOptions } {
  const { flags: f } = parseArgs(argv, FRAMEWORK_FLAGS);
  if (f.help) return { help: true };
  const options: ServicesOptions = frameworkOptions(f, env);
  return { help: false, options };
}

export async function runServices(argv: string[]): Promise<void> {
  const parsed = parseServicesArgs(argv);
  if (parsed.help) {
    process.stdout.write(SERVICES_USAGE);
    return;
  }
  const choice = securityChoice(parseArgs(argv, FRAMEWORK_FLAGS).flags);
  const security = openDoors(choice, logger('services'));
  const identity = processIdentity(choice, 'services');
  const services = await startServices({ ...parsed.options, ...(security ? { security } : {}), ...(identity ? { identity } : {}) });
  process.stdout.write(`agora services: REST API and UI on port ${services.port}\n`);
  await untilStopSignal();
  await services.stop();
  security?.close();
}
