/**
 * `agora app add|list|show|scale|restart|remove` and `agora deployments [rollback]`: the
 * services framework's apps and deployments, through its Marathon v2 REST API. Every change
 * is a deployment; `--wait` follows it on `/v2/events` until it succeeds (or fails, or is
 * cancelled), and `--force` overrides the deployment that holds the app, as Marathon's
 * `?force=true` does. What the framework refuses is said in the CLI's words: a 422 as one
 * `path: error` a line, a 409 with what is in the way and how to force.
 */
import { parseArgs, UsageError } from '../common/flags';
import { appSummary, appTable, deploymentTable } from './app-views';
import { FrameworkCliError, type FrameworkRefusal } from './framework-client';
import { dispatch, print, readDefinition, refusing as refusingWith, type CommandIo } from './framework-command';
import { ServicesClient, type AppJson, type DeploymentJson, type DeploymentRef } from './services-client';

export type AppIo = CommandIo;

export function app(argv: string[], io: AppIo): Promise<number> {
  return dispatch('app', { add, list, show, scale, restart, remove }, argv, io);
}

const CHANGE = { services: 'string', force: 'boolean', wait: 'boolean' } as const;

async function add(argv: string[], io: AppIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, CHANGE, { positional: true });
  if (positional.length !== 1) throw new UsageError('agora app add needs one app definition: a JSON file, or - for stdin');
  const definition = await readDefinition('app', positional[0]!, io);
  const given = (definition as { id?: unknown } | null)?.id;
  const api = new ServicesClient(flags.services);
  return change(api, flags, io, async () => {
    const { body, deploymentId } = await refusing(typeof given === 'string' ? `app ${given}` : 'the app', () => api.deploy<AppJson>(`/v2/apps${force(flags)}`, definition), true);
    if (!deploymentId) throw new FrameworkCliError(`the services framework at ${api.addr.httpUrl} created ${body.id} but named no deployment`);
    io.out(`app ${body.id} created; deployment ${deploymentId}`);
    return { appId: body.id, deploymentId };
  });
}

async function list(argv: string[], io: AppIo): Promise<number> {
  const { flags } = parseArgs(argv, { services: 'string', json: 'boolean' });
  const api = new ServicesClient(flags.services);
  const { apps } = await api.get<{ apps: AppJson[] }>('/v2/apps?embed=apps.counts&embed=apps.deployments');
  return print(io, flags.json, apps, () => appTable(apps));
}

async function show(argv: string[], io: AppIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { services: 'string', json: 'boolean' }, { positional: true });
  const id = oneAppId(positional, 'agora app show needs one app id, e.g. agora app show /web');
  const api = new ServicesClient(flags.services);
  const { app: found } = await refusing(`app ${id}`, () => api.get<{ app: AppJson }>(`${appPath(id)}?embed=app.tasks&embed=app.lastTaskFailure`));
  return print(io, flags.json, found, () => appSummary(found));
}

async function scale(argv: string[], io: AppIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, CHANGE, { positional: true });
  if (positional.length !== 2) throw new UsageError('agora app scale needs an app id and a count, e.g. agora app scale /web 3');
  const id = oneAppId(positional.slice(0, 1), '');
  const text = positional[1]!;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`the instance count must be a whole number ≥ 0, got '${text}'`);
  const instances = Number(text);
  const api = new ServicesClient(flags.services);
  return change(api, flags, io, async () => {
    // PUT creates an app that does not exist: make sure this one does, so a typo is not a new app.
    const { app: current } = await refusing(`app ${id}`, () => api.get<{ app: AppJson }>(appPath(id)));
    const d = await refusing(`app ${current.id}`, () => api.put<DeploymentRef>(`${appPath(current.id)}${force(flags)}`, { instances }));
    io.out(`app ${current.id} scaling from ${current.instances} to ${instances}; deployment ${d.deploymentId}`);
    return { appId: current.id, deploymentId: d.deploymentId };
  });
}

async function restart(argv: string[], io: AppIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, CHANGE, { positional: true });
  const id = oneAppId(positional, 'agora app restart needs one app id, e.g. agora app restart /web');
  const api = new ServicesClient(flags.services);
  return change(api, flags, io, async () => {
    const { body } = await refusing(`app ${id}`, () => api.deploy<DeploymentRef>(`${appPath(id)}/restart${force(flags)}`));
    io.out(`app ${id} restarting; deployment ${body.deploymentId}`);
    return { appId: id, deploymentId: body.deploymentId };
  });
}

async function remove(argv: string[], io: AppIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, CHANGE, { positional: true });
  const id = oneAppId(positional, 'agora app remove needs one app id, e.g. agora app remove /web');
  const api = new ServicesClient(flags.services);
  return change(api, flags, io, async () => {
    // The framework forces a DELETE unless told not to; the CLI forces only on --force.
    const d = await refusing(`app ${id}`, () => api.delete<DeploymentRef>(`${appPath(id)}?force=${flags.force === true}`));
    io.out(`app ${id} removing; deployment ${d.deploymentId}`);
    return { appId: id, deploymentId: d.deploymentId, removed: true };
  });
}

/** `agora deployments [--json]`, `agora deployments rollback <id> [--force] [--wait]`. */
export async function deployments(argv: string[], io: AppIo): Promise<number> {
  if (argv[0] === 'rollback') return rollback(argv.slice(1), io);
  const { flags, positional } = parseArgs(argv, { services: 'string', json: 'boolean' }, { positional: true });
  if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}': use agora deployments [--json] or agora deployments rollback <id>`);
  const list = await new ServicesClient(flags.services).get<DeploymentJson[]>('/v2/deployments');
  return print(io, flags.json, list, () => deploymentTable(list));
}

async function rollback(argv: string[], io: AppIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, CHANGE, { positional: true });
  if (positional.length !== 1) throw new UsageError('agora deployments rollback needs one deployment id (see agora deployments)');
  const id = positional[0]!;
  if (flags.force && flags.wait) throw new UsageError('--force cancels the deployment where it stands and starts none: there is nothing to --wait for');
  const api = new ServicesClient(flags.services);
  const path = `/v2/deployments/${encodeURIComponent(id)}${force(flags)}`;
  if (flags.force) {
    await refusing(`deployment ${id}`, () => api.delete(path));
    io.out(`deployment ${id} cancelled; its apps stay as it left them`);
    return 0;
  }
  return change(api, flags, io, async () => {
    const d = await refusing(`deployment ${id}`, () => api.delete<DeploymentRef>(path));
    io.out(`deployment ${id} rolling back; deployment ${d.deploymentId} restores its apps`);
    return { deploymentId: d.deploymentId };
  });
}

interface Started { deploymentId: string; appId?: string; removed?: boolean }

/**
 * Sends a change; with `--wait`, listens on the event stream first (see watchDeployments) and
 * returns once the change's deployment has succeeded, saying where its app stands.
 */
async function change(api: ServicesClient, flags: { wait?: boolean }, io: AppIo, send: () => Promise<Started>): Promise<number> {
  if (!flags.wait) {
    await send();
    return 0;
  }
  const watch = await api.watchDeployments();
  try {
    const started = await send();
    io.note(`waiting for deployment ${started.deploymentId} (Ctrl-C stops waiting, not the deployment)`);
    await watch.done(started.deploymentId);
    io.out(`deployment ${started.deploymentId} succeeded`);
    if (started.appId && started.removed) io.out(`app ${started.appId} removed`);
    else if (started.appId) {
      const { app: now } = await api.get<{ app: AppJson }>(appPath(started.appId));
      io.out(`app ${now.id}: ${now.tasksRunning}/${now.instances} running`);
    }
    return 0;
  } finally {
    watch.close();
  }
}

/** `refusing` (framework-command.ts) with Marathon's 409s: a deployment in the way, or (adding) an id taken. */
function refusing<T>(what: string, call: () => Promise<T>, adding = false): Promise<T> {
  return refusingWith(call, {
    what, list: what.startsWith('deployment') ? 'agora deployments' : 'agora app list',
    conflict: (err: FrameworkRefusal) => {
      const inTheWay = (err.body.deployments ?? []).map((d) => d.id);
      if (inTheWay.length > 0) {
        return new FrameworkCliError(`${what} is locked by deployment ${inTheWay.join(', ')} (see agora deployments): wait for it to finish, ` +
          'or add --force to override it (the deployment in the way is cancelled where it stands)');
      }
      // POST /v2/apps: a 409 without a deployment in the way means the id is taken.
      if (adding) return new FrameworkCliError(`${what} already exists: change it with agora app scale or restart, or remove it first (agora app remove)`);
      return undefined;
    },
  });
}

const force = (flags: { force?: boolean }) => (flags.force ? '?force=true' : '');

function oneAppId(positional: string[], usage: string): string {
  if (positional.length !== 1) throw new UsageError(usage);
  const id = `/${positional[0]!.split('/').filter((s) => s !== '').join('/')}`;
  if (id === '/') throw new UsageError(`'${positional[0]}' is not an app id; ids look like /web or /prod/api`);
  return id;
}

/** `/prod/api` → `/v2/apps/prod/api`, each segment escaped. */
function appPath(id: string): string {
  return `/v2/apps/${id.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/')}`;
}
