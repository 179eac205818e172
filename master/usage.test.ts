/**
 * Task usage in the master core: the newest statistics an agent reports of a task it runs
 * are kept while the task is live, shown in the state and the metrics, and forgotten when it
 * ends; reports from the wrong agent, of unknown or ended tasks, change nothing.
 */
import type { AgentUsage } from '../common/agent-messages';
import type { ResourceStatistics } from '../common/types';
import { renderMetrics } from './metrics';
import { harness, taskInfo } from '../test/support/master-harness';

function stats(cpuUser: number, rss: number, at = 1_700_000_000_000): ResourceStatistics {
  return {
    timestampMs: at, cpusUserTimeSecs: cpuUser, cpusSystemTimeSecs: 0.5, cpusLimit: 0.5, memRssBytes: rss, memTotalBytes: rss + 4096,
    memLimitBytes: 64 * 1024 * 1024, cpusNrPeriods: 10, cpusNrThrottled: 2, cpusThrottledTimeSecs: 0.1, processes: 2,
  };
}

async function runningTask(options: Parameters<typeof harness>[0] = {}) {
  const h = harness(options);
  const agentId = await h.addAgent('cpus:4;mem:4096');
  const other = await h.addAgent('cpus:4;mem:4096');
  const fw = h.subscribe();
  h.clock.advance(0);
  const offer = fw.stream.offers().find((o) => o.agentId === agentId)!;
  h.master.accept({ ...fw.call, offerIds: [offer.id], operations: [{ type: 'LAUNCH', id: '', tasks: [taskInfo('burn', 'cpus:0.5;mem:64')] }], filters: {} });
  h.status(fw.frameworkId, agentId, 'burn', 'TASK_RUNNING', 'u1');
  const usage = (from: string, taskId: string, st: ResourceStatistics): AgentUsage => ({
    agentId: from, timestampMs: h.clock.now(), tasks: [{ frameworkId: fw.frameworkId, taskId, containerId: '', statistics: st }],
  });
  const statisticsOf = (taskId: string) => h.master.state().tasks.find((t) => t.id === taskId)?.statistics;
  return { h, agentId, other, fw, usage, statisticsOf };
}

describe('task usage in the master', () => {
  it('keeps the newest statistics of a live task from its agent, in the state and the metrics', async () => {
    const { h, agentId, fw, usage, statisticsOf } = await runningTask();
    h.master.agentUsage(usage(agentId, 'burn', stats(1.25, 1_048_576)));
    h.master.agentUsage(usage(agentId, 'burn', stats(2.5, 2_097_152)));

    expect(statisticsOf('burn')).toEqual(stats(2.5, 2_097_152));
    expect(h.master.metrics().taskUsage).toEqual([{ frameworkId: fw.frameworkId, taskId: 'burn', statistics: stats(2.5, 2_097_152) }]);
    const text = renderMetrics(h.master.metrics());
    const labels = `{framework_id="${fw.frameworkId}",task_id="burn"}`;
    expect(text).toContain(`# TYPE agora_task_cpu_user_seconds_total counter\nagora_task_cpu_user_seconds_total${labels} 2.5\n`);
    expect(text).toContain(`agora_task_cpu_system_seconds_total${labels} 0.5\n`);
    expect(text).toContain(`agora_task_cpus_limit${labels} 0.5\n`);
    expect(text).toContain(`# TYPE agora_task_mem_rss_bytes gauge\nagora_task_mem_rss_bytes${labels} 2097152\n`);
    expect(text).toContain(`agora_task_mem_total_bytes${labels} 2101248\n`);
    expect(text).toContain(`agora_task_mem_limit_bytes${labels} 67108864\n`);
  });

  it('drops usage from an agent that does not run the task, from an unknown agent, and of an unknown task', async () => {
    const { h, agentId, other, usage, statisticsOf } = await runningTask();
    h.master.agentUsage(usage(agentId, 'burn', stats(1, 1000)));

    h.master.agentUsage(usage(other, 'burn', stats(99, 99)));
    h.master.agentUsage(usage('agent-nobody', 'burn', stats(98, 98)));
    h.master.agentUsage(usage(agentId, 'ghost', stats(97, 97)));

    expect(statisticsOf('burn')).toEqual(stats(1, 1000));
    expect(h.master.state().tasks.map((t) => t.id)).toEqual(['burn']);
    expect(h.master.metrics().taskUsage.map((u) => u.taskId)).toEqual(['burn']);
  });

  it('forgets a task\'s usage when it ends, and keeps none reported after', async () => {
    const { h, agentId, fw, usage, statisticsOf } = await runningTask();
    h.master.agentUsage(usage(agentId, 'burn', stats(1, 1000)));
    h.status(fw.frameworkId, agentId, 'burn', 'TASK_KILLED', 'u2');

    expect(statisticsOf('burn')).toBeUndefined();
    h.master.agentUsage(usage(agentId, 'burn', stats(2, 2000)));   // crossed the end on the way
    expect(statisticsOf('burn')).toBeUndefined();
    expect(h.master.metrics().taskUsage).toEqual([]);
    expect(renderMetrics(h.master.metrics())).not.toMatch(/agora_task_(cpu|mem)/);
  });

  it('with taskUsageMetrics off, /metrics has no per-task series while the state still shows the usage', async () => {
    const { h, agentId, usage, statisticsOf } = await runningTask({ taskUsageMetrics: false });
    h.master.agentUsage(usage(agentId, 'burn', stats(1, 1000)));
    expect(statisticsOf('burn')).toEqual(stats(1, 1000));
    expect(renderMetrics(h.master.metrics())).not.toMatch(/agora_task_(cpu|mem)/);
  });
});
