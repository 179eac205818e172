/**
 * The numbers of one `/metrics` scrape, computed from the master's state on demand, as
 * state-view.ts does for `/api/v1/state`. Pure over the state; rendering is in metrics.ts.
 */
import { scalar, type Resources } from '../common/resources';
import { isTerminal, type TaskState } from '../common/types';
import { usageOf } from './allocation';
import { RESOURCE_NAMES, type MasterCounts, type MasterMetrics, type ResourceAmounts } from './metrics';
import { copyCounts, snapshotLatencies } from './metrics-counters';
import { now, type MasterState } from './state';

const zero = (): ResourceAmounts => ({ cpus: 0, mem: 0, disk: 0, gpus: 0 });

function addTo(sum: ResourceAmounts, rs: Resources): void {
  for (const name of RESOURCE_NAMES) sum[name] += scalar(rs, name);
}

// Sums of many fractional cpus drift (0.1 + 0.2); resources are kept to three decimals anyway.
const round3 = (a: ResourceAmounts): ResourceAmounts =>
  Object.fromEntries(RESOURCE_NAMES.map((r) => [r, Math.round(a[r] * 1000) / 1000])) as ResourceAmounts;

export function metricsView(s: MasterState, startedAt: number, counts: MasterCounts, elected: boolean): MasterMetrics {
  const agents = s.agents.all();
  const unreachable = agents.filter((a) => a.unreachableSince !== undefined).length;
  const frameworks = s.frameworks.all();
  const connected = frameworks.filter((f) => f.connection !== undefined).length;
  const tasks: Partial<Record<TaskState, number>> = {};
  for (const { task } of s.tasks.all()) {
    if (!isTerminal(task.state)) tasks[task.state] = (tasks[task.state] ?? 0) + 1;
  }
  // Unreachable agents are counted in all three: their tasks may still run and hold resources.
  const total = zero(), used = zero(), offered = zero();
  for (const a of agents) {
    const usage = usageOf(s, a.info.id);
    addTo(total, usage.total);
    addTo(used, usage.used);
    addTo(offered, usage.offered);
  }
  return {
    master: { id: s.info.id, hostname: s.info.hostname, version: s.info.version },
    elected, epoch: s.config.epoch,
    uptimeSeconds: Math.max(0, now(s) - startedAt) / 1000,
    agents: { active: agents.length - unreachable, unreachable },
    frameworks: { connected, disconnected: frameworks.length - connected },
    tasks,
    resources: { total: round3(total), used: round3(used), offered: round3(offered) },
    outstandingOffers: s.offers.all().length,
    counts: copyCounts(counts),
    latencies: snapshotLatencies(s.latencies),
    taskUsage: s.config.taskUsageMetrics ? s.tasks.all().flatMap(({ task, statistics }) => (
      statistics ? [{ frameworkId: task.frameworkId, taskId: task.taskId, statistics: { ...statistics } }] : [])) : [],
  };
}
