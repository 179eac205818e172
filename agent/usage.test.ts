/**
 * The usage reporter's rules, on a fake clock with a containerizer seam that answers at
 * once: when a report goes out, what it holds, and what it leaves out. Real measurements
 * are in test/task-usage.test.ts.
 */
import type { AgentUsage } from '../common/agent-messages';
import { FakeClock } from '../common/clock';
import { logger } from '../common/log';
import { parse } from '../common/resources';
import { UsageError, type ContainerUsage } from './containerizer/statistics';
import { statisticsOf, UsageReporter, type LiveRun } from './usage';

const MB = 1024 * 1024;

function rig() {
  const clock = new FakeClock();
  const sent: AgentUsage[] = [];
  let registered = false;
  const measured = new Map<string, ContainerUsage | Error>();
  let runs: LiveRun[] = [];
  const reporter = new UsageReporter({
    clock, intervalMs: 5_000, agentId: () => 'agent-1', registered: () => registered, liveRuns: () => runs,
    send: (u) => sent.push(u), log: logger('test'),
  });
  const run = (taskId: string, resources: string): LiveRun => ({
    frameworkId: 'fw-1', taskId, containerId: `c-${taskId}`, resources: parse(resources),
    containerizer: {
      usage: (id) => {
        const m = measured.get(id);
        return m instanceof Error ? Promise.reject(m) : Promise.resolve(m ?? {});
      },
    },
  });
  /** Lets the round the clock started finish. */
  const settle = () => new Promise<void>((r) => setImmediate(r));
  return {
    clock, sent, reporter, measured, run, settle,
    setRuns: (r: LiveRun[]) => { runs = r; },
    register: (v: boolean) => { registered = v; },
  };
}

describe('usage reporter', () => {
  it('sends nothing before the agent is registered, then one report per interval', async () => {
    const r = rig();
    r.setRuns([r.run('a', 'cpus:0.5;mem:64')]);
    r.measured.set('c-a', { cpusUserTimeSecs: 1, memRssBytes: 4096 });
    r.reporter.start();
    r.clock.advance(5_000);
    await r.settle();
    expect(r.sent).toEqual([]);

    r.register(true);
    r.clock.advance(4_999);
    await r.settle();
    expect(r.sent).toEqual([]);
    r.clock.advance(1);
    await r.settle();
    expect(r.sent).toEqual([{
      agentId: 'agent-1', timestampMs: r.clock.now(),
      tasks: [{ frameworkId: 'fw-1', taskId: 'a', containerId: 'c-a', statistics: statisticsOf({ cpusUserTimeSecs: 1, memRssBytes: 4096 }, r.clock.now(), parse('cpus:0.5;mem:64')) }],
    }]);
    expect(r.reporter.latestOf('c-a')?.cpusUserTimeSecs).toBe(1);
  });

  it('fills limits from the allocation where none was measured, and zeros for what was not measured', () => {
    expect(statisticsOf({ cpusUserTimeSecs: 2, memRssBytes: 1000 }, 42, parse('cpus:0.5;mem:64'))).toEqual({
      timestampMs: 42, cpusUserTimeSecs: 2, cpusSystemTimeSecs: 0, cpusLimit: 0.5, memRssBytes: 1000, memTotalBytes: 1000,
      memLimitBytes: 64 * MB, cpusNrPeriods: 0, cpusNrThrottled: 0, cpusThrottledTimeSecs: 0, processes: 0,
    });
    expect(statisticsOf({ memLimitBytes: 32 * MB }, 42, parse('cpus:1;mem:64')).memLimitBytes).toBe(32 * MB);
  });

  it('leaves out a run whose usage cannot be read, forgets ended runs, and sends nothing when nothing was measured', async () => {
    const r = rig();
    r.register(true);
    r.setRuns([r.run('a', 'cpus:1;mem:64'), r.run('b', 'cpus:1;mem:64')]);
    r.measured.set('c-a', { cpusUserTimeSecs: 1 });
    r.measured.set('c-b', new UsageError('process container c-b is not running'));
    r.reporter.start();
    r.clock.advance(5_000);
    await r.settle();
    expect(r.sent.map((u) => u.tasks.map((t) => t.taskId))).toEqual([['a']]);

    r.setRuns([]);
    r.clock.advance(5_000);
    await r.settle();
    expect(r.sent).toHaveLength(1);
    expect(r.reporter.latestOf('c-a')).toBeUndefined();
  });

  it('stops reporting when stopped', async () => {
    const r = rig();
    r.register(true);
    r.setRuns([r.run('a', 'cpus:1;mem:64')]);
    r.reporter.start();
    r.reporter.stop();
    r.clock.advance(20_000);
    await r.settle();
    expect(r.sent).toEqual([]);
    expect(r.clock.pendingTimers()).toBe(0);
  });
});
