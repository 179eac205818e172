import { get } from 'http';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import { eventually } from '../test/support/cluster';
import { FakeAgent, subscribeFramework, type TestFramework } from '../test/support/test-clients';
import { startMaster, type MasterHandle } from './server';

let nats: NatsServer;
let master: MasterHandle;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  master = await startMaster({
    natsUrl: nats.url, subjectPrefix: 'metricstest', host: '127.0.0.1', httpPort: 0, grpcPort: 0, allocationIntervalMs: 50, hostname: 'master.test',
  });
});

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
  await master?.stop();
  await nats?.stop();
});

function getText(port: number, path: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

/** The value of the one sample line that starts with `series` (name and labels). */
function valueOf(body: string, series: string): number {
  const lines = body.split('\n').filter((l) => l.startsWith(`${series} `));
  if (lines.length !== 1) throw new Error(`expected one line for ${series}, found ${lines.length}`);
  return Number(lines[0]?.slice(series.length + 1));
}

describe('GET /metrics on a running master', () => {
  it('reports a registered agent, its resources and the offer a subscribed framework received', async () => {
    const agent = await FakeAgent.connect(nats.url, 'metricstest');
    cleanups.push(() => agent.close());
    await agent.register('cpus:3;mem:2048');
    const fw: TestFramework = await subscribeFramework(master.grpcPort);
    cleanups.push(() => fw.close());
    // The offer log is written before OFFERS is sent, so once it arrives it has been counted.
    await fw.events.take((e) => e.type === 'OFFERS' && e.offers.some((o) => o.agentId === agent.agentId), 'an offer of the agent');

    const { status, contentType, body } = await getText(master.httpPort, '/metrics');
    expect(status).toBe(200);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(body).toContain('# TYPE agora_offers_total counter\n');
    expect(valueOf(body, 'agora_master_elected')).toBe(1);
    expect(valueOf(body, 'agora_agents{state="active"}')).toBe(1);
    expect(valueOf(body, 'agora_agents{state="unreachable"}')).toBe(0);
    expect(valueOf(body, 'agora_frameworks{state="connected"}')).toBe(1);
    expect(valueOf(body, 'agora_resources_total{resource="cpus"}')).toBe(3);
    expect(valueOf(body, 'agora_resources_total{resource="mem"}')).toBe(2048);
    expect(valueOf(body, 'agora_offers_total{event="offered"}')).toBeGreaterThanOrEqual(1);
    expect(valueOf(body, 'agora_allocation_runs_total')).toBeGreaterThanOrEqual(1);
    expect(valueOf(body, `agora_master_info{id="${master.info.id}",hostname="master.test",version="0.1.0"}`)).toBe(1);
  });

  it('serves the latency histograms with every bucket, +Inf equal to _count', async () => {
    const { body } = await getText(master.httpPort, '/metrics');
    const families = ['agora_allocation_duration_seconds', 'agora_offer_accept_seconds', 'agora_task_launch_to_running_seconds',
      'agora_status_update_seconds', 'agora_event_loop_lag_seconds'];
    for (const name of families) {
      expect(body).toContain(`# TYPE ${name} histogram\n`);
      expect(body.split('\n').filter((l) => l.startsWith(`${name}_bucket{`))).toHaveLength(15);
      expect(valueOf(body, `${name}_bucket{le="0.0005"}`)).toBeLessThanOrEqual(valueOf(body, `${name}_bucket{le="10"}`));
      expect(valueOf(body, `${name}_bucket{le="+Inf"}`)).toBe(valueOf(body, `${name}_count`));
    }
    // Every cycle is timed: the histogram counts what the counter counts, in the same scrape.
    expect(valueOf(body, 'agora_allocation_duration_seconds_count')).toBe(valueOf(body, 'agora_allocation_runs_total'));
    expect(valueOf(body, 'agora_allocation_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    // The lag sampler runs on its own: it is enough that it has sampled at all.
    await eventually('an event-loop lag sample', async () =>
      valueOf((await getText(master.httpPort, '/metrics')).body, 'agora_event_loop_lag_seconds_count') > 0);
  });

  it('answers another method with 405', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = get({ host: '127.0.0.1', port: master.httpPort, path: '/metrics', method: 'POST' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
    });
    expect(status).toBe(405);
  });
});
