/**
 * The REST API's larger answers: the group tree, the launch queue with why offers were
 * declined, service discovery, and the Prometheus metrics. Pure reads of the framework.
 */
import type { Resources } from '../../common/resources';
import type { ServicesFramework } from './framework';
import { instancesOf, type ServicesState } from './model';
import { isHealthy } from './rolling';
import { appJson } from './views';

interface GroupJson {
  id: string;
  apps: Record<string, unknown>[];
  groups: GroupJson[];
  pods: never[];
  enforceRole: boolean;
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
    return { id: gid, apps: direct.map((r) => appJson(s, r, new Set(), f.role)), groups: [...subIds].sort().map(build), pods: [], dependencies: [], version, enforceRole: false };
  };
  return build(id);
}

/** The checks an offer goes through, in order (Marathon's reject-summary funnel). */
const FUNNEL = ['UnfulfilledRole', 'UnfulfilledConstraint', 'NoCorrespondingReservationFound', 'AgentMaintenance', 'InsufficientCpus',
  'InsufficientMemory', 'InsufficientDisk', 'InsufficientGpus', 'InsufficientPorts', 'DeclinedScarceResources'];

/** Resources as Marathon's offer.raml writes them. */
function resourcesJson(rs: Resources): Record<string, unknown>[] {
  return rs.map((r) => ({
    name: r.name, role: r.role,
    ...(r.kind === 'scalar' ? { scalar: r.value } : r.kind === 'ranges' ? { ranges: r.ranges.map(([begin, end]) => ({ begin, end })) } : { set: [...r.items] }),
  }));
}

/**
 * `/v2/queue`: the apps waiting to launch, with their launch delay and a summary of the offers
 * they could not use; with `embed=lastUnusedOffers`, each of those offers with the reason, as
 * Marathon's name and in words ("why is my app not starting?").
 */
export function queueJson(f: ServicesFramework, embed: ReadonlySet<string>): { queue: Record<string, unknown>[] } {
  const now = f.now();
  return {
    queue: f.queueEntries().map((q) => {
      const rec = f.state.apps.get(q.appId);
      let processed = q.lastUnusedOffers.length;
      const funnel = FUNNEL.map((reason) => {
        const declined = q.lastUnusedOffers.filter((r) => r.kind === reason).length;
        const entry = { reason, declined, processed };
        processed -= declined;
        return entry;
      });
      const left = q.delayedUntil !== undefined ? Math.max(0, Math.ceil((q.delayedUntil - now) / 1000)) : 0;
      const lastAt = q.lastUnusedOffers.at(-1)?.at;
      return {
        app: rec ? appJson(f.state, rec, new Set(), f.role) : { id: q.appId },
        count: q.count,
        role: f.role,
        delay: { timeLeftSeconds: left, overdue: q.delayedUntil === undefined || q.delayedUntil <= now },
        since: new Date(q.since).toISOString(),
        processedOffersSummary: {
          processedOffersCount: q.processedOffers,
          unusedOffersCount: q.unusedOffers,
          ...(lastAt !== undefined ? { lastUnusedOfferAt: new Date(lastAt).toISOString() } : {}),
          rejectSummaryLastOffers: funnel,
          rejectSummaryLaunchAttempt: funnel,
        },
        ...(embed.has('lastUnusedOffers') ? {
          lastUnusedOffers: q.lastUnusedOffers.map((r) => ({
            offer: {
              id: r.offerId, agentId: r.agentId, hostname: r.hostname, resources: resourcesJson(r.resources),
              attributes: Object.entries(r.attributes).map(([name, text]) => ({ name, text })),
            },
            reason: [r.kind, r.reason],
            timestamp: new Date(r.at).toISOString(),
          })),
        } : {}),
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

/** The links the framework depends on, for /metrics: the master's subscription and its store. */
export interface Links {
  connected: boolean;
  /** Whether the store takes writes (REST writes answer 503 and status updates wait while it does not). */
  storeAvailable: boolean;
}

/** The gauges, by name, for both renderings of /metrics. */
function gauges(f: ServicesFramework, { connected, storeAvailable }: Links): { name: string; help: string; value: number; labels?: string }[] {
  const s = f.state;
  const byState = new Map<string, number>();
  for (const i of s.instances.values()) byState.set(i.state, (byState.get(i.state) ?? 0) + 1);
  return [
    { name: 'agora_services_connected', help: 'Whether the framework is subscribed to a master (1) or not (0).', value: connected ? 1 : 0 },
    { name: 'agora_services_store_available', help: 'Whether the store (Redis) takes writes (1) or not (0).', value: storeAvailable ? 1 : 0 },
    { name: 'agora_services_apps', help: 'Apps defined.', value: s.apps.size },
    ...['STAGING', 'STARTING', 'RUNNING', 'UNREACHABLE', 'KILLING'].map((st) => ({
      name: 'agora_services_instances', help: 'Instances known, by state.', value: byState.get(st) ?? 0, labels: `state="${st}"`,
    })),
    { name: 'agora_services_deployments', help: 'Deployments in progress.', value: s.deployments.size },
    { name: 'agora_services_queued_apps', help: 'Apps waiting to launch instances.', value: f.queueEntries().length },
  ];
}

/** Marathon's JSON metrics (metrics.raml): the gauges, each `{value}`. */
export function metricsJson(f: ServicesFramework, links: Links): Record<string, unknown> {
  const out: Record<string, { value: number }> = {};
  for (const g of gauges(f, links)) out[g.labels ? `${g.name}.${/"(.*)"/.exec(g.labels)?.[1]?.toLowerCase()}` : g.name] = { value: g.value };
  return { version: '4.0.0', counters: {}, gauges: out, histograms: {}, meters: {}, timers: {} };
}

/** The Prometheus text exposition (0.0.4). */
export function metricsText(f: ServicesFramework, links: Links): string {
  const lines: string[] = [];
  let last = '';
  for (const g of gauges(f, links)) {
    if (g.name !== last) lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
    last = g.name;
    lines.push(`${g.name}${g.labels ? `{${g.labels}}` : ''} ${g.value}`);
  }
  return `${lines.join('\n')}\n`;
}
