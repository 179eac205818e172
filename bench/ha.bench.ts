/**
 * What high availability costs and gives, on real parts, locked doors everywhere:
 *
 * - `ha-launch`: the launch path (200 `true` processes through SDK → master → NATS → agent,
 *   from the first Accept to the last TASK_FINISHED) on one `agora master` against the leader of
 *   three `agora master --ha` (lease in an R3 bucket on a 3-node NATS cluster, registry writes
 *   fenced by the epoch), both on a Redis registry with AOF as `agora up` runs it, in turns in
 *   one run. Masters and agent are processes of their own, as deployed: nothing shares this
 *   process's event loop (three masters and an agent in one process starve the lease renewals).
 * - `ha-failover`: three `agora master --ha` processes, an agent and an SDK framework; the
 *   leader SIGKILLed at a seeded random point of its renewal cycle, 20 times, each timed from
 *   the kill to the framework's first offer from the new leader (so the election, the new
 *   leader's recovery, the agent's re-registration and the framework's re-subscription are all
 *   in it), and to the new leader's /health saying so. The killed master is started again and
 *   stands by before the next kill, as its supervisor would.
 */
import { spawn, type ChildProcess } from 'child_process';
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { seededRandom } from '../common/clock';
import { startNatsCluster } from '../common/nats-cluster';
import type { MasterStateView } from '../common/operator-types';
import { freePort, startNatsServer, stopChild } from '../common/nats-server';
import { DEFAULT_APPEND_FSYNC, startRedisServer, type RedisServer } from '../common/redis-server';
import { subscribe, type Scheduler } from '../frameworks/sdk';
import { offerEpoch } from '../master/offer-ids';
import { doorFetch } from '../test/support/http';
import { testSecurity, type TestSecurity } from '../test/support/security';
import { FAILOVER_GOAL_MS } from './lease.bench';
import { median, percentile, round, type Bench, type Measurement } from './harness';
import { launchAll } from './launch.bench';

/** The built CLI beside this compiled bench (dist/bench → dist/cli). */
const AGORA_BIN = join(__dirname, '..', 'cli', 'agora.js');
const TASKS = 200;
const RUNS = 5;
const FAILOVERS = 20;
const LEASE_MS = 3000;
const SPEC = { command: 'true', cpus: 0.01, mem: 8, process: true };
const RESOURCES = 'cpus:2;mem:4096;disk:4096;ports:[31000-31999]';

interface Setup { grpcAddr: string; security: TestSecurity; stop(): Promise<void> }
interface Proc { http: number; grpc: number; child: ChildProcess }
interface Health { role?: string; epoch?: number | null; pid?: number }

/** A Redis as `agora up` runs it (AOF, its fsync mode), in its own folder under `root`. */
const redisIn = (root: string, name: string): Promise<RedisServer> =>
  startRedisServer({ dir: join(root, name), appendfsync: DEFAULT_APPEND_FSYNC, password: 'agora_bench-only' });

/** `agora …` as its own process, as an operator runs it: nothing of it shares this process's event loop. */
const agora = (args: string[]): ChildProcess =>
  spawn(process.execPath, [AGORA_BIN, ...args], { stdio: 'ignore', env: { ...process.env, AGORA_LOG: 'warn' } });

/** A master on fresh ports: one of three (`--ha`) or the only one. */
async function spawnMaster(sec: TestSecurity, natsUrl: string, redisUrl: string, ha: boolean, ports?: Omit<Proc, 'child'>): Promise<Proc> {
  const m = ports ?? { http: await freePort(), grpc: await freePort() };
  const child = agora(['master', ...(ha ? ['--ha', '--ha-replicas', '3', '--lease-ms', String(LEASE_MS)] : []), '--nats', natsUrl, '--redis', redisUrl,
    '--host', '127.0.0.1', '--port', String(m.http), '--grpc-port', String(m.grpc), '--allocation-interval-ms', '100',
    '--security-dir', sec.dir, '--principal', 'master']);
  return { ...m, child };
}

const spawnAgent = (sec: TestSecurity, natsUrl: string, workDir: string): ChildProcess => agora(['agent', '--nats', natsUrl, '--work-dir', workDir,
  '--containerizer', 'process', '--resources', RESOURCES, '--host', '127.0.0.1', '--port', '0', '--hostname', '127.0.0.1',
  '--security-dir', sec.dir, '--principal', 'local-agent']);

async function getJson<T>(sec: TestSecurity, m: Proc, path: string): Promise<T | undefined> {
  try {
    const res = await doorFetch(`https://127.0.0.1:${m.http}${path}`, { redirect: 'manual', headers: { authorization: sec.header('admin') } });
    return res.ok ? await res.json() as T : undefined;
  } catch {
    return undefined;   // not listening (yet, or any more)
  }
}

const health = (sec: TestSecurity, m: Proc): Promise<Health | undefined> => getJson<Health>(sec, m, '/health');

/** Polls `check` every 25 ms until it gives a value; throws after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`ha bench: no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const leaderOf = (sec: TestSecurity, masters: readonly Proc[], except?: Proc, above = 0): Promise<{ m: Proc; h: Health; at: number }> =>
  until('leader', async () => {
    for (const m of masters) {
      if (m === except) continue;
      const h = await health(sec, m);
      if (h?.role === 'leader' && (h.epoch ?? 0) > above) return { m, h, at: performance.now() };
    }
    return undefined;
  });

/** The leader has the agent registered. */
const agentIn = (sec: TestSecurity, m: Proc): Promise<true> =>
  until('registered agent', async () => ((await getJson<MasterStateView>(sec, m, '/api/v1/state'))?.agents.length ? true : undefined));

/** Masters, an agent and their servers, every one a process of its own; `stop` ends them all. */
async function setup(sec: TestSecurity, root: string, masters: 1 | 3): Promise<Setup & { masters: Proc[]; natsUrl: string; redisUrl: string }> {
  const single = masters === 1 ? await startNatsServer({ securityDir: sec.dir }) : undefined;
  const cluster = masters === 3 ? await startNatsCluster({ securityDir: sec.dir }) : undefined;
  await cluster?.ready();
  const natsUrl = single?.url ?? cluster!.urls.join(',');
  const redis = await redisIn(root, `redis-${masters}`);
  const procs: Proc[] = [];
  let agent: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (agent) await stopChild(agent);
    for (const m of procs) await stopChild(m.child);
    await redis.stop();
    await single?.stop();
    await cluster?.stop();
  };
  try {
    for (let i = 0; i < masters; i++) procs.push(await spawnMaster(sec, natsUrl, redis.url, masters === 3));
    const { m } = await leaderOf(sec, procs);
    agent = spawnAgent(sec, natsUrl, join(root, `agent-${masters}`));
    await agentIn(sec, m);
    return { grpcAddr: `127.0.0.1:${m.grpc}`, security: sec, masters: procs, natsUrl, redisUrl: redis.url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function launchCost(): Promise<Measurement[]> {
  const sec = await testSecurity();
  const root = mkdtempSync(join(tmpdir(), 'agora-bench-ha-'));
  chmodSync(root, 0o711);   // process tasks run as nobody and need the way to their sandboxes
  const setups: Partial<Record<'single' | 'ha', Setup>> = {};
  try {
    setups.single = await setup(sec, root, 1);
    setups.ha = await setup(sec, root, 3);
    const samples = { single: [] as number[], ha: [] as number[] };
    for (const name of ['single', 'ha'] as const) await launchAll(setups[name]!, TASKS, SPEC);   // warm-up
    for (let i = 0; i < RUNS; i++) {
      for (const name of ['single', 'ha'] as const) {
        const start = performance.now();
        await launchAll(setups[name]!, TASKS, SPEC);
        samples[name].push(performance.now() - start);
      }
    }
    const ratio = median(samples.ha) / median(samples.single);
    return (['single', 'ha'] as const).map((name) => ({
      bench: 'ha-launch',
      case: name === 'ha' ? `${TASKS} processes, leader of 3 masters (R3 lease on 3 NATS nodes, fenced registry)` : `${TASKS} processes, one master`,
      params: { tasks: TASKS, masters: name === 'ha' ? 3 : 1, redis: `AOF ${DEFAULT_APPEND_FSYNC}`, ...(name === 'ha' ? { ratioToSingle: round(ratio, 3) } : {}) },
      runs: RUNS, samplesMs: samples[name].map((x) => round(x, 1)), medianMs: round(median(samples[name]), 1),
      ops: TASKS, opsLabel: 'tasks', opsPerSec: Math.round(TASKS / (median(samples[name]) / 1000)), published: [],
    }));
  } finally {
    await setups.ha?.stop();
    await setups.single?.stop();
    rmSync(root, { recursive: true, force: true });
    sec.remove();
  }
}

/** Resolves when the framework is offered something by a leader of an epoch above `epoch`. */
const offeredAbove = (s: Scheduler, epoch: number): Promise<number> => new Promise((resolve) => {
  const on = (offers: readonly { id: string }[]): void => {
    if (!offers.some((o) => (offerEpoch(o.id) ?? 0) > epoch)) return;
    s.off('offers', on);
    resolve(performance.now());
  };
  s.on('offers', on);
});

async function failovers(): Promise<Measurement[]> {
  const sec = await testSecurity();
  const root = mkdtempSync(join(tmpdir(), 'agora-bench-failover-'));
  chmodSync(root, 0o711);
  let cluster: Awaited<ReturnType<typeof setup>> | undefined;
  let s: Scheduler | undefined;
  const toOffer: number[] = [];
  const toHealth: number[] = [];
  try {
    cluster = await setup(sec, root, 3);
    const masters = cluster.masters;
    const grpcs = masters.map((m) => `127.0.0.1:${m.grpc}`);
    s = await subscribe({
      grpcAddress: cluster.grpcAddr, framework: { name: 'failover-bench', failoverTimeoutMs: 600_000 }, credentials: sec.identity('admin'),
      reconnect: { initialDelayMs: 50, maxDelayMs: 500, grpcAddresses: grpcs },
    });
    // Declined for 50 ms, offers keep coming: the first one after a kill is the new leader's.
    s.on('offers', (offers) => { void s!.decline(offers.map((o) => o.id), { refuseMs: 50 }).catch(() => undefined); });
    const random = seededRandom(16);
    for (let i = 0; i < FAILOVERS; i++) {
      const old = await leaderOf(sec, masters);
      await offeredAbove(s, (old.h.epoch ?? 1) - 1);   // the framework is with this leader
      await new Promise((r) => setTimeout(r, Math.floor(random.next() * 1000)));   // somewhere in its renewal cycle
      const offered = offeredAbove(s, old.h.epoch ?? 0);
      const killedAt = performance.now();
      old.m.child.kill('SIGKILL');
      const next = await leaderOf(sec, masters, old.m, old.h.epoch ?? 0);
      toHealth.push(next.at - killedAt);
      toOffer.push(await offered - killedAt);
      // As its supervisor would: the killed master back, standing by, before the next kill.
      const back = await spawnMaster(sec, cluster.natsUrl, cluster.redisUrl, true, { http: old.m.http, grpc: old.m.grpc });
      masters.splice(masters.indexOf(old.m), 1, back);
      await until('restarted standby', async () => ((await health(sec, back))?.role === 'standby' ? true : undefined));
    }
  } finally {
    s?.close();
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
    sec.remove();
  }
  const figure = (what: string, xs: number[]): Measurement => ({
    bench: 'ha-failover', case: what,
    params: { failovers: xs.length, leaseMs: LEASE_MS, masters: 3, natsNodes: 3, goalMs: FAILOVER_GOAL_MS },
    runs: xs.length, samplesMs: xs.map((x) => round(x, 1)), medianMs: round(median(xs), 1), ops: 1, opsLabel: 'failover',
    opsPerSec: 0, published: [],
    latency: { what, count: xs.length, p50Ms: [round(percentile(xs, 50), 1)], p99Ms: [round(percentile(xs, 99), 1)], maxMs: [round(Math.max(...xs), 1)] },
  });
  return [
    figure('SIGKILL of the leader → the framework\'s first offer from the new leader', toOffer),
    figure('SIGKILL of the leader → a new leader\'s /health says leader (polled every 25 ms)', toHealth),
  ];
}

export const haLaunchBench: Bench = {
  name: 'ha-launch',
  description: 'the launch path (200 processes) on one master against the leader of three (R3 lease, fenced Redis registry), in turns in one run',
  run: launchCost,
};

export const haFailoverBench: Bench = {
  name: 'ha-failover',
  description: '20 SIGKILLs of the leading `agora master --ha` of three, each timed to the framework\'s first offer from the new leader and to its /health',
  run: failovers,
};
