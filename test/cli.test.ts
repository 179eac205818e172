/**
 * The `agora` commands an operator types, run against a real cluster: `execute` runs one
 * command as a task and exits with its code; `agents`, `frameworks`, `tasks` and `offers --follow` show
 * what the master knows, as it happens.
 */
import type { OfferLogEvent } from '../common/operator-types';
import { subscribe } from '../frameworks/sdk';
import { masterAddress } from '../common/operator-client';
import { execute } from '../cli/execute';
import { top } from '../cli/top';
import { UsageError } from '../common/flags';
import { followOffers } from '../cli/offers';
import { agents, frameworks, tasks, weights } from '../cli/read-commands';
import { startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

function capture() {
  const io = { out: '', err: '', notes: [] as string[] };
  return {
    io,
    sinks: { stdout: (c: string) => { io.out += c; }, stderr: (c: string) => { io.err += c; }, note: (l: string) => { io.notes.push(l); } },
  };
}

describe('the agora CLI', () => {
  let cluster: TestCluster;

  beforeAll(async () => { cluster = await startCluster({ containerizer: 'docker' }); });
  afterAll(async () => { await cluster.stop(); });

  it('execute runs a command in a container, prints its output and states, and exits with its exit code', async () => {
    const { io, sinks } = capture();
    const code = await execute(['--master', cluster.masterAddr, '--image', TEST_IMAGE, '--', 'echo to-stdout; echo to-stderr >&2; exit 3'], sinks);
    expect(code).toBe(3);
    expect(io.out).toBe('to-stdout\n');
    expect(io.err).toBe('to-stderr\n');
    expect(io.notes.some((n) => n.startsWith('TASK_RUNNING'))).toBe(true);
    expect(io.notes.some((n) => n.startsWith('TASK_FAILED') && /\b3\b/.test(n))).toBe(true);
  });

  it('execute exits 0 for a command that succeeds as a plain process', async () => {
    const { io, sinks } = capture();
    expect(await execute(['--master', cluster.masterAddr, '--process', '--', 'echo', 'two words'], sinks)).toBe(0);
    expect(io.out).toBe('two words\n');
  });

  it('agents --json lists the registered agent with its resources', async () => {
    let out = '';
    await agents(['--master', cluster.masterAddr, '--json'], (s) => { out += s; });
    const list = JSON.parse(out) as { id: string; total: { cpus: number; mem: number } }[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: cluster.agents[0]!.agentId, total: { cpus: 2, mem: 1024 } });
  });

  it('agents gone takes an agent out: it leaves the state, and marking it again is a 404 naming why', async () => {
    const doomed = await cluster.addAgent({ containerizer: 'process', resources: 'cpus:1;mem:128' });
    let out = '';
    expect(await agents(['gone', doomed.agentId, '--master', cluster.masterAddr], (s) => { out += s; })).toBe(0);
    expect(out).toMatch(/marked gone/);
    expect((await cluster.state()).agents.map((a) => a.id)).not.toContain(doomed.agentId);
    await expect(agents(['gone', doomed.agentId, '--master', cluster.masterAddr], () => undefined)).rejects.toThrow(/404.*not registered/);
  });

  it('weights sets role weights and lists them; a bad pair is refused before anything is sent', async () => {
    let out = '';
    await weights(['set', 'prod=3', 'batch=0.5', '--master', cluster.masterAddr], (s) => { out += s; });
    expect(out).toMatch(/^ROLE\s+WEIGHT\nbatch\s+0\.5\nprod\s+3$/);
    await expect(weights(['set', 'prod=lots', '--master', cluster.masterAddr], () => undefined)).rejects.toThrow(/'prod=lots' is not role=weight/);
    await expect(weights(['set', 'web=-1', '--master', cluster.masterAddr], () => undefined)).rejects.toThrow(/400.*weight of role 'web' must be a number > 0/);
    let listed = '';
    await weights(['--json', '--master', cluster.masterAddr], (s) => { listed += s; });
    expect(JSON.parse(listed)).toEqual({ prod: 3, batch: 0.5 });
  });

  it('tasks shows the tasks executed above with their final states', async () => {
    let out = '';
    await tasks(['--master', cluster.masterAddr], (s) => { out += s; });
    expect(out).toMatch(/^ID\s+STATE/);
    expect(out).toMatch(/TASK_FAILED/);
    expect(out).toMatch(/TASK_FINISHED/);
  });

  it('tasks --state keeps the tasks in that state (running, or TASK_RUNNING, any case); a state that is none is refused naming them', async () => {
    let out = '';
    await tasks(['--master', cluster.masterAddr, '--state', 'finished', '--json'], (s) => { out += s; });
    const finished = JSON.parse(out) as { state: string }[];
    expect(finished.length).toBeGreaterThan(0);
    expect(new Set(finished.map((t) => t.state))).toEqual(new Set(['TASK_FINISHED']));
    out = '';
    await tasks(['--master', cluster.masterAddr, '--state', 'TASK_FAILED'], (s) => { out += s; });
    expect(out).toMatch(/TASK_FAILED/);
    expect(out).not.toMatch(/TASK_FINISHED/);
    await expect(tasks(['--master', cluster.masterAddr, '--state', 'asleep'], () => undefined)).rejects.toThrow(UsageError);
    await expect(tasks(['--master', cluster.masterAddr, '--state', 'asleep'], () => undefined)).rejects.toThrow(/'asleep' is not a task state: one of unknown, staging, starting, running, killing, finished/);
  });

  it('frameworks lists a subscribed framework with its roles and whether it is connected', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'cli-watched', roles: ['analytics'] } });
    try {
      let out = '';
      await frameworks(['--master', cluster.masterAddr], (x) => { out += x; });
      expect(out).toMatch(/^ID\s+NAME\s+ROLES\s+CONNECTED/);
      expect(out).toMatch(new RegExp(`${s.frameworkId}\\s+cli-watched\\s+analytics\\s+yes`));
      out = '';
      await frameworks(['--master', cluster.masterAddr, '--json'], (x) => { out += x; });
      expect((JSON.parse(out) as { id: string; roles: string[] }[]).find((f) => f.id === s.frameworkId)).toMatchObject({ name: 'cli-watched', roles: ['analytics'], connected: true });
    } finally {
      s.close();
    }
  });

  it('top --once prints one frame of the live cluster: its agent, the frameworks, the resources', async () => {
    let out = '';
    expect(await top(['--master', cluster.masterAddr, '--once'], (x) => { out += x; }, new Promise(() => undefined))).toBe(0);
    expect(out).toMatch(/^agora top — master \S+/);
    expect(out).toContain(cluster.agents[0]!.agentId);
    expect(out).toMatch(/agents \d+ \(\d+ active/);
  });

  it('top redraws with the offer log as it happens, and returns when told to stop', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'top-watched' } });
    let stop!: () => void;
    const stopped = new Promise<void>((r) => { stop = r; });
    const frames: string[] = [];
    let sawDecline!: () => void;
    const declineShown = new Promise<void>((r) => { sawDecline = r; });
    s.on('offers', (offers) => { void s.decline(offers.map((o) => o.id), { refuseMs: 60_000, reason: 'watched by top' }); });
    const running = top(['--master', cluster.masterAddr, '--interval-ms', '200'], (x) => {
      frames.push(x);
      if (x.includes('watched by top')) sawDecline();
    }, stopped);
    await declineShown;
    stop();
    expect(await running).toBe(0);
    expect(frames.at(-1)).toMatch(/^\x1b\[2J\x1b\[H/);   // each frame clears the screen first
    s.close();
  });

  it('offers --follow prints each offer as it is offered and declined', async () => {
    const seen: OfferLogEvent[] = [];
    const stop = new AbortController();
    let opened!: () => void;
    const open = new Promise<void>((resolve) => { opened = resolve; });
    const gotDecline = new Promise<void>((resolve) => {
      void followOffers(masterAddress(cluster.masterAddr), { signal: stop.signal, onOpen: opened }, (e) => {
        seen.push(e);
        if (e.type === 'DECLINED') resolve();
      });
    });
    await open;   // following before the offer is made, so its OFFERED is seen live
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'watched' } });
    const offer = await new EventLog(s).offer();
    await s.decline([offer.id], { refuseMs: 30_000 });
    await gotDecline;
    stop.abort();
    s.close();
    const mine = seen.filter((e) => e.offerId === offer.id);
    expect(mine.map((e) => e.type)).toEqual(['OFFERED', 'DECLINED']);
    expect(mine[1]).toMatchObject({ frameworkId: s.frameworkId, refuseMs: 30_000 });
  });
});
