/**
 * Task usage end to end: a real master, a real agent whose clock is fake (each usage report
 * is fired by advancing it past the usage interval), an SDK framework, and tasks that burn
 * cpu and hold memory in Docker and as plain processes. What the agent measures reaches the
 * master's /api/v1/state and /metrics, grows as the task runs, and is gone once it is killed.
 */
import { authHeaders } from '../common/security/client-config';
import { get } from './support/http';
import type { AgentUsage } from '../common/agent-messages';
import { FakeClock } from '../common/clock';
import type { ResourceStatistics } from '../common/types';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { agentState, eventually, startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

const USAGE_INTERVAL_MS = 5_000;
/** The shell holds a 2 MB string, then spins: cpu time and resident memory both show. */
const BURN = 'x=$(head -c 2000000 /dev/zero | tr "\\0" a); while :; do :; done';

const cpuSecs = (st: ResourceStatistics) => st.cpusUserTimeSecs + st.cpusSystemTimeSecs;

describe.each(['docker', 'process'] as const)('task usage through the master (%s)', (kind) => {
  const clock = new FakeClock();
  let cluster: TestCluster;
  let s: Scheduler;
  let log: EventLog;

  beforeAll(async () => {
    cluster = await startCluster({
      containerizer: kind,
      // Its engine watchdog would take each jump of the clock past a probe's timeout for a
      // silent engine: it is idle here.
      agentOptions: { clock, usageIntervalMs: USAGE_INTERVAL_MS, dockerProbeIntervalMs: 365 * 86_400_000 },
      // The agent heartbeats on its fake clock: the master (on real time) must not give up on it.
      masterOptions: { agentMaxMissedHeartbeats: 100_000 },
    });
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'usage' } });
    log = new EventLog(s);
  });

  afterAll(async () => {
    await s?.teardown().catch(() => undefined);
    s?.close();
    await cluster?.stop();
  });

  /** Advances the agent's clock past the interval and resolves with the report that follows. */
  function nextReport(taskId: string): Promise<ResourceStatistics> {
    const agent = cluster.agents[0]!;
    const report = new Promise<ResourceStatistics>((resolve) => {
      const on = (u: AgentUsage) => {
        const mine = u.tasks.find((t) => t.taskId === taskId);
        if (!mine) return;
        agent.off('usage', on);
        resolve(mine.statistics);
      };
      agent.on('usage', on);
    });
    clock.advance(USAGE_INTERVAL_MS);
    return report;
  }

  async function masterStatistics(taskId: string): Promise<ResourceStatistics | undefined> {
    return (await cluster.state()).tasks.find((t) => t.id === taskId)?.statistics;
  }

  function metrics(): Promise<string> {
    return new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port: cluster.master.httpPort, path: '/metrics', headers: authHeaders() }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
  }

  it('a busy task\'s growing cpu time and its resident memory reach the master\'s state and metrics, and go when it is killed', async () => {
    const id = `burn-${kind}`;
    const offer = await log.offer();
    await s.launch(offer, [task({ id, command: BURN, cpus: 0.5, mem: 64, ...(kind === 'docker' ? { image: TEST_IMAGE } : { process: true }) }, offer)], { refuseMs: 0 });
    const running = await log.status(id, 'TASK_RUNNING');

    // Reports until the 2 MB string is resident and the cpu time has moved on from the first
    // report that had it: bounded by rounds, each waiting for a real report.
    let first: ResourceStatistics | undefined;
    let latest: ResourceStatistics | undefined;
    for (let round = 0; round < 2_000 && !(first && latest && cpuSecs(latest) > cpuSecs(first)); round++) {
      latest = await nextReport(id);
      if (!first && latest.memRssBytes >= 2_000_000 && cpuSecs(latest) > 0) first = latest;
    }
    expect(first).toBeDefined();
    expect(cpuSecs(latest!)).toBeGreaterThan(cpuSecs(first!));
    expect(latest).toMatchObject({ cpusLimit: 0.5, memLimitBytes: 64 * 1024 * 1024, timestampMs: clock.now() });
    expect(latest!.memRssBytes).toBeGreaterThanOrEqual(2_000_000);
    expect(latest!.processes).toBeGreaterThanOrEqual(1);

    // The master keeps exactly what the agent sent last.
    await eventually('the master has the latest report', async () => (await masterStatistics(id))?.timestampMs === latest!.timestampMs);
    expect(await masterStatistics(id)).toEqual(latest);
    const own = (await agentState(cluster.agents[0]!)).tasks.find((t) => t.id === id);
    expect(own?.statistics).toEqual(latest);
    const labels = `{framework_id="${running.frameworkId}",task_id="${id}"}`;
    const text = await metrics();
    expect(text).toContain(`agora_task_cpu_user_seconds_total${labels} ${latest!.cpusUserTimeSecs}\n`);
    expect(text).toContain(`agora_task_mem_rss_bytes${labels} ${latest!.memRssBytes}\n`);
    expect(text).toContain(`agora_task_cpus_limit${labels} 0.5\n`);

    await s.kill(id, { gracePeriodMs: 0 });
    await log.status(id, 'TASK_KILLED');
    await eventually('the master forgets the usage of the killed task', async () => (await masterStatistics(id)) === undefined);
    expect((await cluster.state()).tasks.find((t) => t.id === id)?.state).toBe('TASK_KILLED');
    expect(await metrics()).not.toContain(`task_id="${id}"`);
  });
});
