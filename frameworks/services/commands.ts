/**
 * What the REST API (and the UI and CLI through it) can ask of the services framework:
 * create, update, scale, restart and delete apps and groups, kill tasks, roll back or cancel
 * deployments, reset a launch delay. Each runs in the framework's turn, validates first
 * (nothing changes on a refusal), commits, and answers. Refusals are `ApiError`s that carry
 * Marathon's status and body.
 */
import { parseApp, resolveAppId, type App } from './app';
import { killChange, type ServicesCommit } from './decide';
import { GROUP, type GroupJson } from './app-schema';
import { deploy, rollbackTargets, type Target } from './deploy';
import type { ServicesEvent } from './events';
import type { CommandOutcome } from '../shared/runtime';
import type { ServicesFramework } from './framework';
import { type AppRecord, type Change, type Deployment, type InstanceRecord } from './model';
import { appDefinition } from './views';

import { ApiError } from '../shared/http';
import { isObject } from '../../common/json';

/** A refusal in Marathon's words: its HTTP status and JSON body. */
export { ApiError };

export const appNotFound = (id: string): ApiError => new ApiError(404, { message: `App '${id}' does not exist` });

function locked(conflicts: Deployment[]): ApiError {
  return new ApiError(409, {
    message: `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/${conflicts[0]?.id ?? ''}'.`,
    deployments: conflicts.map((d) => ({ id: d.id })),
  });
}

function invalid(details: { path: string; errors: string[] }[]): ApiError {
  return new ApiError(422, { message: 'Object is not valid', details });
}


export class Commands {
  private lastVersionMs = 0;

  constructor(private readonly f: ServicesFramework) {
    for (const r of f.state.apps.values()) this.lastVersionMs = Math.max(this.lastVersionMs, Date.parse(r.version));
  }

  /** An ISO version later than every one handed out, even within one millisecond. */
  private nextVersion(): string {
    this.lastVersionMs = Math.max(this.f.now(), this.lastVersionMs + 1);
    return new Date(this.lastVersionMs).toISOString();
  }

  /** Inside the framework's turn: targets → a deployment, and the commit that makes it (none for a dry run). */
  private deploy(targets: Target[], force: boolean, dryRun = false): { deployment: Deployment; commits: ServicesCommit[] } {
    const result = deploy(this.f.state, targets, { force, version: this.nextVersion(), deploymentId: this.f.newId(), now: this.f.now() });
    if (!result.ok) throw locked(result.conflicts);
    if (dryRun) return { deployment: result.deployment, commits: [] };
    const events: ServicesEvent[] = (result.change.deleteDeployments ?? []).map((id) => ({
      type: 'deployment-failed', deployment: this.f.state.deployments.get(id) as Deployment, reason: `cancelled by deployment ${result.deployment.id}`,
    }));
    events.push({ type: 'deployment-started', deployment: result.deployment });
    return { deployment: result.deployment, commits: [{ change: result.change, events }] };
  }

  /** A deployment as a command's outcome, answered with `result(deployment)`. */
  private deployed<T>(targets: Target[], force: boolean, result: (d: Deployment) => T, o: { dryRun?: boolean; post?: (d: Deployment) => ServicesEvent } = {}) {
    const { deployment, commits } = this.deploy(targets, force, o.dryRun);
    if (o.post) commits[0]?.events?.push(o.post(deployment));
    return { result: result(deployment), commits };
  }

  private parse(json: unknown, base = '/'): App {
    const parsed = parseApp(json, base);
    if (!parsed.ok) throw invalid(parsed.details);
    return parsed.app;
  }

  createApp(json: unknown, force: boolean, clientIp = ''): Promise<{ app: App; deployment: Deployment }> {
    return this.f.command((state) => {
      const app = this.parse(json);
      if (state.apps.has(app.id)) throw new ApiError(409, { message: `An app with id [${app.id}] already exists.` });
      return this.deployed([{ appId: app.id, app }], force, (deployment) => ({ app, deployment }), {
        post: (d) => ({ type: 'api-post', clientIp, uri: '/v2/apps', app, version: d.version }),
      });
    });
  }

  /** PUT: create or update; `partial` (the default, as in Marathon) keeps the fields not given. */
  putApp(id: string, json: unknown, o: { force: boolean; partial: boolean; create?: boolean; clientIp?: string }): Promise<{ created: boolean; deployment: Deployment }> {
    return this.f.command((state) => {
      if (!isObject(json)) throw invalid([{ path: '/', errors: ['expected a JSON object'] }]);
      const current = state.apps.get(id);
      if (!current && o.create === false) throw appNotFound(id);
      const merged = current && o.partial ? { ...appDefinition(current.app), ...json } : json;
      const app = this.parse({ ...merged, id });
      return this.deployed([{ appId: id, app }], o.force, (deployment) => ({ created: !current, deployment }), {
        post: (d) => ({ type: 'api-post', clientIp: o.clientIp ?? '', uri: `/v2/apps${id}`, app, version: d.version }),
      });
    });
  }

  /** Several apps in one deployment (PUT /v2/apps). */
  putApps(list: unknown, o: { force: boolean; partial: boolean; create?: boolean }): Promise<Deployment> {
    return this.f.command((state) => {
      if (!Array.isArray(list)) throw invalid([{ path: '/', errors: ['expected a list of app definitions'] }]);
      const problems: { path: string; errors: string[] }[] = [];
      const targets: Target[] = [];
      list.forEach((json: unknown, i) => {
        const id = isObject(json) && typeof json.id === 'string' ? resolveAppId(json.id) : undefined;
        const current = id ? state.apps.get(id) : undefined;
        if (id && !current && o.create === false) throw appNotFound(id);
        const parsed = parseApp(current && o.partial && isObject(json) ? { ...appDefinition(current.app), ...json, id } : json);
        if (!parsed.ok) problems.push(...parsed.details.map((d) => ({ ...d, path: `(${i})${d.path}` })));
        else targets.push({ appId: parsed.app.id, app: parsed.app });
      });
      if (problems.length > 0) throw invalid(problems);
      return this.deployed(targets, o.force, (d) => d);
    });
  }

  deleteApp(id: string, force: boolean): Promise<Deployment> {
    return this.f.command((state) => {
      if (!state.apps.has(id)) throw appNotFound(id);
      return this.deployed([{ appId: id, app: null }], force, (d) => d);
    });
  }

  restartApp(id: string, force: boolean): Promise<Deployment> {
    return this.f.command((state) => {
      const rec = state.apps.get(id);
      if (!rec) throw appNotFound(id);
      return this.deployed([{ appId: id, app: rec.app, restart: true }], force, (d) => d);
    });
  }

  /**
   * Kills tasks. Without `scale` they are replaced; with it each app's instance count drops by
   * the number killed, as a scale deployment (returned).
   */
  killTasks(taskIds: string[], o: { scale: boolean; force: boolean; appId?: string }): Promise<{ killed: InstanceRecord[]; deployment?: Deployment }> {
    return this.f.command((state): CommandOutcome<Change, ServicesEvent, { killed: InstanceRecord[]; deployment?: Deployment }> => {
      const killed: InstanceRecord[] = [];
      for (const id of taskIds) {
        const i = state.instances.get(id);
        if (!i || (o.appId !== undefined && i.appId !== o.appId)) throw new ApiError(404, { message: `Task '${id}' does not exist` });
        killed.push(i);
      }
      const kill = killChange(killed);
      if (!o.scale) return { result: { killed }, commits: [{ change: kill.change }], forget: kill.forget };
      const perApp = new Map<string, number>();
      for (const i of killed) perApp.set(i.appId, (perApp.get(i.appId) ?? 0) + 1);
      const targets: Target[] = [];
      for (const [appId, n] of perApp) {
        const rec = state.apps.get(appId);
        if (rec) targets.push({ appId, app: { ...rec.app, instances: Math.max(0, rec.app.instances - n) } });
      }
      const { deployment, commits } = this.deploy(targets, o.force);
      return { result: { killed, deployment }, commits: [...commits, { change: kill.change }], forget: kill.forget };
    });
  }

  /** Rolls a deployment back (a new deployment to where its apps were), or with `force` only cancels it. */
  deleteDeployment(id: string, force: boolean): Promise<Deployment | undefined> {
    return this.f.command((state) => {
      const d = state.deployments.get(id);
      if (!d) throw new ApiError(404, { message: `DeploymentPlan ${id} does not exist` });
      if (force) {
        return { result: undefined, commits: [{ change: { deleteDeployments: [id] }, events: [{ type: 'deployment-failed', deployment: d, reason: 'cancelled' }] }] };
      }
      return this.deployed(rollbackTargets(d), true, (r): Deployment | undefined => r);
    });
  }

  resetDelay(appId: string): Promise<void> {
    return this.f.command(() => {
      if (!this.f.queueEntries().some((q) => q.appId === appId)) throw new ApiError(404, { message: `Application ${appId} not found in tasks queue.` });
      return { result: undefined, commits: [{ change: { backoffs: [{ appId, backoff: null }] } }] };
    });
  }

  /**
   * Every app of a group tree (ids relative to their group) in one deployment. `create` (POST)
   * refuses a group that exists; `replace` (PUT) also stops the group's apps the definition
   * leaves out; `update` (PATCH) only adds and changes.
   */
  putGroup(path: string, json: unknown, o: { force: boolean; mode: 'create' | 'replace' | 'update'; dryRun?: boolean }): Promise<{ groupId: string; deployment: Deployment }> {
    return this.f.command((state) => {
      const checked = GROUP.check(json);
      if (!checked.ok) throw invalid(checked.details);
      const group = checked.value;
      const groupId = group.id !== undefined ? resolveAppId(group.id, path) ?? path : path;
      const prefix = groupId === '/' ? '/' : `${groupId}/`;
      const existing = [...state.apps.keys()].filter((id) => id.startsWith(prefix));
      const answer = (deployment: Deployment) => ({ groupId, deployment });
      // {scaleBy: f}: every app of the group scaled by f (Marathon rounds to the nearest).
      if (group.scaleBy !== undefined) {
        if (existing.length === 0) throw new ApiError(404, { message: `Group '${groupId}' does not exist` });
        const factor = group.scaleBy;
        const targets = existing.map((appId) => {
          const app = (state.apps.get(appId) as AppRecord).app;
          return { appId, app: { ...app, instances: Math.round(app.instances * factor) } };
        });
        return this.deployed(targets, o.force, answer, { dryRun: o.dryRun });
      }
      if (o.mode === 'create' && existing.length > 0) {
        throw new ApiError(409, { message: `Group ${groupId} is already created. Use PUT to change this group.` });
      }
      const targets = groupTargets(group, path);
      if (o.mode === 'replace') {
        const kept = new Set(targets.map((t) => t.appId));
        for (const id of existing) if (!kept.has(id)) targets.push({ appId: id, app: null });
      }
      if (targets.length === 0) throw invalid([{ path: '/apps', errors: ['the group has no apps'] }]);
      return this.deployed(targets, o.force, answer, { dryRun: o.dryRun });
    });
  }

  deleteGroup(groupId: string, force: boolean): Promise<Deployment> {
    return this.f.command((state) => {
      const prefix = groupId === '/' ? '/' : `${groupId}/`;
      const ids = [...state.apps.keys()].filter((id) => id.startsWith(prefix));
      if (ids.length === 0) throw new ApiError(404, { message: `Group '${groupId}' does not exist` });
      return this.deployed(ids.map((appId) => ({ appId, app: null })), force, (d) => d);
    });
  }
}

/** Every app of a group tree, with ids resolved against their groups; refused with every problem by path. */
function groupTargets(group: GroupJson, path: string): Target[] {
  const problems: { path: string; errors: string[] }[] = [];
  const targets: Target[] = [];
  const walk = (g: GroupJson, base: string, at: string): void => {
    const id = g.id !== undefined ? resolveAppId(g.id, base) ?? base : base;
    (g.apps ?? []).forEach((a, i) => {
      const parsed = parseApp(a, id);
      if (!parsed.ok) problems.push(...parsed.details.map((d) => ({ ...d, path: `${at}/apps(${i})${d.path}` })));
      else targets.push({ appId: parsed.app.id, app: parsed.app });
    });
    (g.groups ?? []).forEach((sub, i) => walk(sub, id, `${at}/groups(${i})`));
  };
  walk(group, path, '');
  if (problems.length > 0) throw invalid(problems);
  return targets;
}
