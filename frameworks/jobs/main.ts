/**
 * `agora jobs`: flags → options → startJobs, until SIGINT or SIGTERM (../shared/main.ts);
 * beyond the common flags, the retry delay and the runs kept.
 */
import { FRAMEWORK_FLAGS } from '../shared/flags';
import { frameworkUsage, parseFrameworkArgs, runFrameworkCommand, type FrameworkCommand } from '../shared/main';
import { startJobs, type JobsOptions } from './server';
import { DEFAULT_JOBS_PREFIX } from './store';

export const JOBS_USAGE = frameworkUsage({
  kind: 'jobs', keeps: 'jobs, runs and the dependency state', prefix: 'agora:jobs:', serves: 'REST APIs and UI', port: 4400, name: 'agora-jobs',
  own: `  --retry-delay-ms N      the delay before a failed run's first retry (default 10000; doubles after)
  --keep-runs N           runs kept per job, the newest (default 100)
`,
});

const SPEC = { ...FRAMEWORK_FLAGS, 'retry-delay-ms': 'number', 'keep-runs': 'number' } as const;

const COMMAND: FrameworkCommand<typeof SPEC, JobsOptions> = {
  kind: 'jobs', usage: JOBS_USAGE, flags: SPEC, serves: 'REST APIs and UI', start: startJobs,
  defaults: { port: 4400, redisPrefix: DEFAULT_JOBS_PREFIX },
  options: (f, common) => ({
    ...common,
    ...(f['retry-delay-ms'] !== undefined ? { retryDelayMs: f['retry-delay-ms'] } : {}),
    ...(f['keep-runs'] !== undefined ? { keepRuns: f['keep-runs'] } : {}),
  }),
};

export function parseJobsArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { help: true } | { help: false; options: JobsOptions } {
  return parseFrameworkArgs(COMMAND, argv, env);
}

export function runJobs(argv: string[]): Promise<void> {
  return runFrameworkCommand(COMMAND, argv);
}
