import { escapeLabelValue, exposition, formatValue, renderMetrics, type MasterMetrics } from './metrics';
import { emptyCounts } from './metrics-counters';
import { emptySnapshot } from './metrics-histogram';
import { harness, taskInfo } from '../test/support/master-harness';

const none = { cpus: 0, mem: 0, disk: 0, gpus: 0 };

function snapshot(): MasterMetrics {
  const counts = emptyCounts();
  counts.offers = { offered: 5, accepted: 2, declined: 1, rescinded: 1, expired: 1 };
  counts.taskEnds = { TASK_FINISHED: 3, TASK_LOST: 1 };
  counts.allocationRuns = 4;
  // Two bounds keep the expected text short; the master's own histograms have fourteen.
  const empty = emptySnapshot([0.01, 0.1]);
  return {
    master: { id: 'master-1', hostname: 'm1', version: '0.1.0' },
    elected: true, epoch: 7,
    uptimeSeconds: 12.5,
    agents: { active: 2, unreachable: 1 },
    frameworks: { connected: 1, disconnected: 0 },
    tasks: { TASK_RUNNING: 2, TASK_STAGING: 1 },
    resources: { total: { cpus: 8, mem: 4096, disk: 0, gpus: 0 }, used: { cpus: 1.5, mem: 512, disk: 0, gpus: 0 }, offered: none },
    outstandingOffers: 1,
    counts,
    latencies: {
      allocation: { bounds: [0.01, 0.1], cumulative: [1, 3], sum: 0.25, count: 4 },
      offerAccept: empty, launchToRunning: empty, statusUpdate: empty,
    },
    taskUsage: [],
  };
}

describe('renderMetrics', () => {
  it('renders every family with HELP and TYPE, and every known label value, zeros included', () => {
    expect(renderMetrics(snapshot()).split('\n')).toEqual([
      '# HELP agora_master_info The master answering: its id, hostname and version.',
      '# TYPE agora_master_info gauge',
      'agora_master_info{id="master-1",hostname="m1",version="0.1.0"} 1',
      '# HELP agora_master_elected Whether this master is the elected leader acting now (1) or not (0).',
      '# TYPE agora_master_elected gauge',
      'agora_master_elected 1',
      '# HELP agora_master_epoch The epoch the leader leads in, as this master knows it (0 while no leader is known).',
      '# TYPE agora_master_epoch gauge',
      'agora_master_epoch 7',
      '# HELP agora_master_uptime_seconds Seconds since this master started.',
      '# TYPE agora_master_uptime_seconds gauge',
      'agora_master_uptime_seconds 12.5',
      '# HELP agora_agents Registered agents, by state.',
      '# TYPE agora_agents gauge',
      'agora_agents{state="active"} 2',
      'agora_agents{state="unreachable"} 1',
      '# HELP agora_frameworks Known frameworks, by whether their subscription is live.',
      '# TYPE agora_frameworks gauge',
      'agora_frameworks{state="connected"} 1',
      'agora_frameworks{state="disconnected"} 0',
      '# HELP agora_tasks Non-terminal tasks the master knows, by state.',
      '# TYPE agora_tasks gauge',
      'agora_tasks{state="TASK_STAGING"} 1',
      'agora_tasks{state="TASK_STARTING"} 0',
      'agora_tasks{state="TASK_RUNNING"} 2',
      'agora_tasks{state="TASK_KILLING"} 0',
      'agora_tasks{state="TASK_UNREACHABLE"} 0',
      '# HELP agora_resources_total Resources of all registered agents.',
      '# TYPE agora_resources_total gauge',
      'agora_resources_total{resource="cpus"} 8',
      'agora_resources_total{resource="mem"} 4096',
      'agora_resources_total{resource="disk"} 0',
      'agora_resources_total{resource="gpus"} 0',
      '# HELP agora_resources_used Resources held by non-terminal tasks.',
      '# TYPE agora_resources_used gauge',
      'agora_resources_used{resource="cpus"} 1.5',
      'agora_resources_used{resource="mem"} 512',
      'agora_resources_used{resource="disk"} 0',
      'agora_resources_used{resource="gpus"} 0',
      '# HELP agora_resources_offered Resources held in outstanding offers.',
      '# TYPE agora_resources_offered gauge',
      'agora_resources_offered{resource="cpus"} 0',
      'agora_resources_offered{resource="mem"} 0',
      'agora_resources_offered{resource="disk"} 0',
      'agora_resources_offered{resource="gpus"} 0',
      '# HELP agora_outstanding_offers Offers made and not yet accepted, declined or rescinded.',
      '# TYPE agora_outstanding_offers gauge',
      'agora_outstanding_offers 1',
      '# HELP agora_offers_total Offer outcomes, as written to the offer log.',
      '# TYPE agora_offers_total counter',
      'agora_offers_total{event="offered"} 5',
      'agora_offers_total{event="accepted"} 2',
      'agora_offers_total{event="declined"} 1',
      'agora_offers_total{event="rescinded"} 1',
      'agora_offers_total{event="expired"} 1',
      '# HELP agora_task_updates_total Known tasks that reached a terminal state, by that state.',
      '# TYPE agora_task_updates_total counter',
      'agora_task_updates_total{state="TASK_FINISHED"} 3',
      'agora_task_updates_total{state="TASK_FAILED"} 0',
      'agora_task_updates_total{state="TASK_KILLED"} 0',
      'agora_task_updates_total{state="TASK_ERROR"} 0',
      'agora_task_updates_total{state="TASK_LOST"} 1',
      'agora_task_updates_total{state="TASK_DROPPED"} 0',
      'agora_task_updates_total{state="TASK_GONE"} 0',
      'agora_task_updates_total{state="TASK_GONE_BY_OPERATOR"} 0',
      '# HELP agora_allocation_runs_total Allocation cycles run.',
      '# TYPE agora_allocation_runs_total counter',
      'agora_allocation_runs_total 4',
      '# HELP agora_allocation_duration_seconds Time one allocation cycle took: snapshot, allocator, offers made and sent.',
      '# TYPE agora_allocation_duration_seconds histogram',
      'agora_allocation_duration_seconds_bucket{le="0.01"} 1',
      'agora_allocation_duration_seconds_bucket{le="0.1"} 3',
      'agora_allocation_duration_seconds_bucket{le="+Inf"} 4',
      'agora_allocation_duration_seconds_sum 0.25',
      'agora_allocation_duration_seconds_count 4',
      '# HELP agora_offer_accept_seconds From an offer being sent to its framework until an Accept that used it arrived, once per accepted offer.',
      '# TYPE agora_offer_accept_seconds histogram',
      'agora_offer_accept_seconds_bucket{le="0.01"} 0',
      'agora_offer_accept_seconds_bucket{le="0.1"} 0',
      'agora_offer_accept_seconds_bucket{le="+Inf"} 0',
      'agora_offer_accept_seconds_sum 0',
      'agora_offer_accept_seconds_count 0',
      '# HELP agora_task_launch_to_running_seconds From the master sending a task\'s run message to its agent until it heard TASK_RUNNING.',
      '# TYPE agora_task_launch_to_running_seconds histogram',
      'agora_task_launch_to_running_seconds_bucket{le="0.01"} 0',
      'agora_task_launch_to_running_seconds_bucket{le="0.1"} 0',
      'agora_task_launch_to_running_seconds_bucket{le="+Inf"} 0',
      'agora_task_launch_to_running_seconds_sum 0',
      'agora_task_launch_to_running_seconds_count 0',
      '# HELP agora_status_update_seconds From the agent\'s timestamp on a status update until the master forwarded it to the framework, first delivery only (agent and master clocks both count).',
      '# TYPE agora_status_update_seconds histogram',
      'agora_status_update_seconds_bucket{le="0.01"} 0',
      'agora_status_update_seconds_bucket{le="0.1"} 0',
      'agora_status_update_seconds_bucket{le="+Inf"} 0',
      'agora_status_update_seconds_sum 0',
      'agora_status_update_seconds_count 0',
      '', // the text ends with a newline
    ]);
  });

  it('escapes backslash, double quote and newline in label values, and backslash and newline in HELP', () => {
    expect(escapeLabelValue('a\\b "c"\nd')).toBe('a\\\\b \\"c\\"\\nd');
    const m = snapshot();
    m.master.hostname = 'rack "7"\\host\n2';
    expect(renderMetrics(m)).toContain('agora_master_info{id="master-1",hostname="rack \\"7\\"\\\\host\\n2",version="0.1.0"} 1\n');
    expect(exposition([{ name: 'x', type: 'gauge', help: 'a\\b\nc "d"', samples: [] }])).toBe('# HELP x a\\\\b\\nc "d"\n# TYPE x gauge\n');
  });

  it('writes values the way Prometheus parses them', () => {
    expect([NaN, Infinity, -Infinity, 0, 0.001, 1e21].map(formatValue)).toEqual(['NaN', '+Inf', '-Inf', '0', '0.001', '1e+21']);
  });
});

describe('Master.metrics()', () => {
  const launch = (...tasks: ReturnType<typeof taskInfo>[]) => [{ type: 'LAUNCH' as const, id: '', tasks }];

  it('counts offers through the offer log, tasks once when they end, and allocation cycles', async () => {
    const h = harness({ allocationIntervalMs: 1000 });
    const agentId = await h.addAgent('cpus:4;mem:4096');
    const fw = h.subscribe();
    h.clock.advance(0);
    const offer = fw.stream.lastOffer();
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: {} });
    h.status(fw.frameworkId, agentId, 't1', 'TASK_RUNNING', 'u1');

    let m = h.master.metrics();
    expect(m.agents).toEqual({ active: 1, unreachable: 0 });
    expect(m.frameworks).toEqual({ connected: 1, disconnected: 0 });
    expect(m.tasks).toEqual({ TASK_RUNNING: 1 });
    expect(m.resources.total).toEqual({ cpus: 4, mem: 4096, disk: 0, gpus: 0 });
    expect(m.resources.used).toEqual({ cpus: 1, mem: 128, disk: 0, gpus: 0 });
    expect(m.counts.offers).toEqual({ offered: 1, accepted: 1, declined: 0, rescinded: 0, expired: 0 });

    h.status(fw.frameworkId, agentId, 't1', 'TASK_FINISHED', 'u2');
    h.status(fw.frameworkId, agentId, 't1', 'TASK_FINISHED', 'u2'); // resent until acknowledged: counted once
    h.clock.advance(2000);
    m = h.master.metrics();
    expect(m.tasks).toEqual({});
    expect(m.resources.used).toEqual({ cpus: 0, mem: 0, disk: 0, gpus: 0 });
    expect(m.counts.taskEnds).toEqual({ TASK_FINISHED: 1 });
    expect(m.uptimeSeconds).toBe(2);
    // The nudge after Subscribe, then one each at 1000 and 2000 ms.
    expect(m.counts.allocationRuns).toBe(3);
    expect(m.latencies.allocation.count).toBe(3);
  });
});
