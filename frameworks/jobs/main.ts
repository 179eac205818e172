/**
 * `agora jobs`: flags → options → startJobs, until SIGINT or SIGTERM.
 */
import { logger } from '../../common/log';
import { openDoors, processIdentity, SECURITY_USAGE, securityChoice } from '../../common/security/process-flags';
import { parseArgs } from '../../common/flags';
import { untilStopSignal } from '../../common/signals';
import { FRAMEWORK_FLAGS, frameworkOptions } from '../shared/flags';
import { startJobs, type JobsOptions } from './server';

export const JOBS_USAGE = `Usage: agora jobs [flags]

  --master HOST:PORT      the master's HTTP address (env AGORA_MASTER; default 127.0.0.1:5050)
  --redis URL             keep jobs, runs and the dependency state in Redis (env AGORA_REDIS;
                          default: in memory, forgotten when the framework stops)
  --redis-prefix NAME     key prefix in Redis (default agora:jobs:)
  --host ADDR             address to bind HTTP to (default 0.0.0.0)
  --port N                HTTP port of the REST APIs and UI (default 4400; 0 picks one)
  --name NAME             framework name (default agora-jobs)
  --role ROLE             the role to take offers for (default *)
  --retry-delay-ms N      the delay before a failed run's first retry (default 10000; doubles after)
  --keep-runs N           runs kept per job, the newest (default 100)
  --failover-timeout-ms N how long the master keeps our tasks while we are away (default one
                          week with --redis, one minute in memory)
  --webui-url URL         where browsers reach the web UI, for the master's UI to link to
                          (default http://HOST:PORT/ui/, HOST this machine's name when --host
                          is 0.0.0.0 or ::); set it behind a proxy (http or https only)
${SECURITY_USAGE}  --help                  this text
`;

const SPEC = { ...FRAMEWORK_FLAGS, 'retry-delay-ms': 'number', 'keep-runs': 'number' } as const;

export function parseJobsArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { help: true } | { help: false; options: JobsOptions } {
  const { flags: f } = parseArgs(argv, SPEC);
  if (f.help) return { help: true };
  const options: JobsOptions = frameworkOptions(f, env);
  if (f['retry-delay-ms'] !== undefined) options.retryDelayMs = f['retry-delay-ms'];
  if (f['keep-runs'] !== undefined) options.keepRuns = f['keep-runs'];
  return { help: false, options };
}

export async function runJobs(argv: string[]): Promise<void> {
  const parsed = parseJobsArgs(argv);
  if (parsed.help) {
    process.stdout.write(JOBS_USAGE);
    return;
  }
  const choice = securityChoice(parseArgs(argv, SPEC).flags);
  const security = openDoors(choice, logger('jobs'));
  const identity = processIdentity(choice, 'jobs');
  const jobs = await startJobs({ ...parsed.options, ...(security ? { security } : {}), ...(identity ? { identity } : {}) });
  process.stdout.write(`agora jobs: REST APIs and UI on port ${jobs.port}\n`);
  await untilStopSignal();
  await jobs.stop();
  security?.close();
}
