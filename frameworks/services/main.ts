/**
 * `agora services`: flags → options → startServices, until SIGINT or SIGTERM
 * (../shared/main.ts); it takes only the common flags.
 */
import { FRAMEWORK_FLAGS } from '../shared/flags';
import { frameworkUsage, parseFrameworkArgs, runFrameworkCommand, type FrameworkCommand } from '../shared/main';
import { startServices, type ServicesOptions } from './server';
import { DEFAULT_SERVICES_PREFIX } from './store';

export const SERVICES_USAGE = frameworkUsage({
  kind: 'services', keeps: 'apps, deployments and tasks', prefix: 'agora:services:', serves: 'REST API and UI', port: 8080, name: 'agora-services',
  memoryNote: ': that state dies with us',
});

const COMMAND: FrameworkCommand<typeof FRAMEWORK_FLAGS, ServicesOptions> = {
  kind: 'services', usage: SERVICES_USAGE, flags: FRAMEWORK_FLAGS, options: (_, common) => common, start: startServices, serves: 'REST API and UI',
  defaults: { port: 8080, redisPrefix: DEFAULT_SERVICES_PREFIX },
};

export function parseServicesArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { help: true } | { help: false; options: ServicesOptions } {
  return parseFrameworkArgs(COMMAND, argv, env);
}

export function runServices(argv: string[]): Promise<void> {
  return runFrameworkCommand(COMMAND, argv);
}
