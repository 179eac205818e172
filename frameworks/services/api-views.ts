/**
 * The REST API's larger answers: the group tree, the launch queue with why offers were
 * declined, service discovery, and the Prometheus metrics. Pure reads of the framework.
 */
import type { ServicesFramework } from './framework';
import { instancesOf, type ServicesState } from './model';
import { isHealthy } from './rolling';
import { appJson } from './views';

interface GroupJson {
  id: string;
  apps: Record<string, unknown>[];
  groups: GroupJson[];
  dependencies: string[];
  version: string;
}

/** The group `id` with its apps and subgroups, as Marathon nests them; undefined if nothing is under it. */
export function groupTree(f: ServicesFramework, id: string): GroupJson | undefined {
  const s = f.state;
  const prefix = id === '/' ? '/' : `${id}/`;
  const under = [...s.apps.values()].filter((r) => r.app.id.startsWith(prefix)).sort((a, b) => a.app.id.localeCompare(b.app.id));
  if (under.length === 0 && id !== '/') return undefined;
  const build = (gid: string): GroupJson => {
    const gp = gid === '/' ? '/' : `${gid}/`;
    const direct = under.filter((r) => r.app.id.startsWith(gp) && !r.app.id.slice(gp.length).includes('/'));
    const subIds = new Set(under.filter((r) => r.app.id.startsWith(gp) && r.app.id.slice(gp.length).includes('/'))
      .map((r) => gp + (r.app.id.slice(gp.length).split('/')[0] as string)));
    const version = [...under.map((r) => r.version)].sort().at(-1) ?? new Date(0).toISOString();
    return { id: gid, apps: direct.map((r) => appJson(s, r, new Set())), groups: [...subIds].sort().map(build), dependencies: [], version };
  };
  return build(id);
}

/** Why an offer was refused, in Marathon's reject-summary words. */
function category(reason: string): string {
  if (reason.startsWith('[')) return 'UnfulfilledConstraint';
  if (reason.includes('host port')) return 'InsufficientPorts';
  if (/cpus/.test(reason) && /mem/.test(reason)) return 'InsufficientResources';
  return 'InsufficientResources';
}

export function queueJson(f: ServicesFramework): { queue: Record<string, unknown>[] } {
  const now = f.now();
  return {
    queue: f.queueEntries().map((q) => {
      const rec = f.state.apps.get(q.appId);
      const reasons = new Map<string, number>();
      for (const r of q.lastUnusedOffers) reasons.set(category(r.reason), (reasons.get(category(r.reason)) ?? 0) + 1);
      const left = q.delayedUntil !== undefined ? Math.max(0, Math.ceil((q.delayedUntil - now) / 1000)) : 0;
      return {
        app: rec ? appJson(f.state, rec, new Set()) : { id: q.appId },
        count: q.count,
        delay: { timeLeftSeconds: left, overdue: q.delayedUntil === undefined || q.delayedUntil <= now },
        since: new Date(q.since).toISOString(),
        processedOffersSummary: {
          processedOffersCount: q.processedOffers,
          unusedOffersCount: q.unusedOffers,
          lastUnusedOfferAt: q.lastUnusedOffers.at(-1) ? new Date((q.lastUnusedOffers.at(-1) as { at: number }).at).toISOString() : null,
          rejectSummaryLastOffers: [...reasons].map(([reason, declined]) => ({ reason, declined, processed: q.lastUnusedOffers.length })),
        },
        // Beyond Marathon: the words, per offer, for "why is my app not starting?"
        lastUnusedOffers: q.lastUnusedOffers.map((r) => ({
          offerId: r.offerId, agentId: r.agentId, hostname: r.hostname, reason: r.reason, timestamp: new Date(r.at).toISOString(),
        })),
      };
    }),
  };
}

interface Endpoint { taskId: string; host: string; ports: number[]; healthy: boolean }

/** Each app's live endpoints: running instances, healthy or without checks, with their host ports. */
export function discovery(f: ServicesFramework, appId?: string): { apps: { id: string; endpoints: Endpoint[] }[] } | undefined {
  const s: ServicesState = f.state;
  const ids = appId ? [appId] : [...s.apps.keys()].sort();
  if (appId && !s.apps.has(appId)) return undefined;
  return {
    apps: ids.map((id) => {
      const app = s.apps.get(id)?.app;
      const endpoints = instancesOf(s, id).filter((i) => i.state === 'RUNNING').map((i) => ({
        taskId: i.taskId, host: i.hostname, ports: i.hostPorts,
        healthy: app ? isHealthy(app, { id: i.taskId, state: 'RUNNING', healthy: i.healthy, launchedAt: i.stagedAt }) : false,
      }));
      return { id, endpoints };
    }),
  };
}

export function metricsText(f: ServicesFramework): string {
  const s = f.state;
  const byState = new Map<string, number>();
  for (const i of s.instances.values()) byState.set(i.state, (byState.get(i.state) ?? 0) + 1);
  const lines = [
    '# HELP agora_services_apps Apps defined.',
    '# TYPE agora_services_apps gauge',
    `agora_services_apps ${s.apps.size}`,
    '# HELP agora_services_instances Instances known, by state.',
    '# TYPE agora_services_instances gauge',
    ...['STAGING', 'STARTING', 'RUNNING', 'UNREACHABLE', 'KILLING'].map((st) => `agora_services_instances{state="${st}"} ${byState.get(st) ?? 0}`),
    '# HELP agora_services_deployments Deployments in progress.',
    '# TYPE agora_services_deployments gauge',
    `agora_services_deployments ${s.deployments.size}`,
    '# HELP agora_services_queued_apps Apps waiting to launch instances.',
    '# TYPE agora_services_queued_apps gauge',
    `agora_services_queued_apps ${f.queueEntries().length}`,
  ];
  return `${lines.join('\n')}\n`;
}
