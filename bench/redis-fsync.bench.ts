/**
 * What Redis's AOF fsync mode costs the launch path: the writes a launch makes, through the
 * real stores that make them, to a real redis-server started per mode (`appendfsync always`,
 * `everysec`, and `no` as the floor), all three running at once with their AOF on the same
 * disk and their rounds interleaved, so the modes see the same machine at the same moments.
 *
 * Timed, per mode, each a round of WRITES writes after a warm-up round:
 *  - a stored launch: the services framework's `RedisStore.commit` of one new instance record
 *    (what it stores before its Accept goes out), one after another;
 *  - the same, LAUNCH_BURST in flight at once (a deployment launching many instances): Redis
 *    fsyncs once per event-loop turn for every write in it, so the cost is shared;
 *  - the master's registry: `RedisRegistry.admit` of an agent and `saveFramework`, alternating
 *    (what a registration or a framework's subscription writes), one after another.
 * Each write is timed alone (its p50 and p99 per round); a round's total is the sample.
 * `AGORA_BENCH_REDIS_DIR` puts the AOFs on another disk (default: the system's temp dir).
 */
import { mkdtempSync, rmSync, statfsSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from '../common/resources';
import { APPEND_FSYNC_MODES, startRedisServer, type AppendFsync, type RedisServer } from '../common/redis-server';
import type { AgentInfo, FrameworkInfo } from '../common/types';
import type { InstanceRecord } from '../frameworks/services/model';
import { RedisStore } from '../frameworks/services/store';
import { RedisRegistry } from '../master/registry-redis';
import { latencyFigure, median, round, type Bench, type Measurement, type PublishedFigure } from './harness';

export const WRITES = 300;
export const ROUNDS = 3;
export const LAUNCH_BURST = 16;

export type WriteKind = 'launch' | 'launch-burst' | 'registry';
export const CASES: Record<WriteKind, string> = {
  launch: 'services: a stored launch (one instance record, MULTI/EXEC), one at a time',
  'launch-burst': `services: stored launches, ${LAUNCH_BURST} in flight`,
  registry: 'master registry: admit an agent / save a framework, alternating, one at a time',
};
export const caseLabel = (kind: WriteKind, mode: AppendFsync): string => `appendfsync ${mode}: ${CASES[kind]}`;

/** The closest published Redis figure; it has no fsync in it, so it reads against `no`. */
const REDIS_SET = (writes: number): PublishedFigure => ({
  label: `Redis docs: SET, 50 clients, no pipelining, ≈72k/s, scaled to ${writes} writes`,
  ms: (writes / 72_000) * 1000,
  source: 'redis/redis-doc docs/management/optimization/benchmarks/index.md (REFERENCE.md §6; hardware not stated, AOF not stated)',
});

interface Target {
  mode: AppendFsync;
  server: RedisServer;
  store: RedisStore;
  registry: RedisRegistry;
}

let seq = 0;

function instance(): InstanceRecord {
  const n = ++seq;
  return {
    instanceId: `bench.instance-${n}`, taskId: `bench.instance-${n}`, appId: '/bench', configVersion: 'v1', version: '2026-01-01T00:00:00.000Z',
    agentId: 'agent-bench', hostname: '127.0.0.1', attributes: {}, hostPorts: [31000 + (n % 1000)], state: 'STAGING', stagedAt: n,
  };
}

const agent = (n: number): AgentInfo => ({ id: `agent-${n}`, hostname: '127.0.0.1', resources: parse('cpus:2;mem:2048;disk:1024;ports:[31000-32000]'), attributes: {}, port: 5051 });
const framework = (n: number): FrameworkInfo => ({
  id: `fw-${n}`, name: 'bench', roles: ['*'], failoverTimeoutMs: 604_800_000, capabilities: [], principal: 'bench', user: 'nobody', hostname: '127.0.0.1', labels: {},
});

/** One write of a kind. */
function write(t: Target, kind: WriteKind, i: number): Promise<void> {
  if (kind === 'registry') return i % 2 === 0 ? t.registry.admit(agent(i)) : t.registry.saveFramework(framework(i), null);
  return t.store.commit({ instances: [instance()] });
}

/** `n` writes, `inFlight` at a time; each one's latency in ms. */
async function writeRound(t: Target, kind: WriteKind, n: number, inFlight: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const start = process.hrtime.bigint();
      await write(t, kind, i);
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return latencies;
}

interface Sample { totalMs: number; latencies: number[] }

async function start(mode: AppendFsync, base: string): Promise<Target> {
  const server = await startRedisServer({ dir: join(base, mode), appendfsync: mode, password: 'agora_bench-only' });
  const store = await RedisStore.connect(server.url, 'bench:services:');
  const registry = await RedisRegistry.connect(server.url, { keyPrefix: 'bench:' });
  return { mode, server, store, registry };
}

function measurement(kind: WriteKind, mode: AppendFsync, samples: Sample[], fsType: string): Measurement {
  const totals = samples.map((s) => s.totalMs);
  const med = median(totals);
  return {
    bench: 'redis-fsync', case: caseLabel(kind, mode),
    params: { appendfsync: mode, writes: WRITES, inFlight: kind === 'launch-burst' ? LAUNCH_BURST : 1, filesystem: fsType },
    runs: samples.length, samplesMs: totals.map((x) => round(x, 2)), medianMs: round(med, 2),
    ops: WRITES, opsLabel: 'writes', opsPerSec: Math.round(WRITES / (med / 1000)),
    published: mode === 'no' && kind === 'launch-burst' ? [REDIS_SET(WRITES)] : [],
    latency: latencyFigure('one write, sent → acknowledged', WRITES, samples),
  };
}

/** The filesystem the AOFs are on, by its statfs magic: fsync on tmpfs would cost nothing. */
function filesystemOf(dir: string): string {
  const magic = statfsSync(dir).type;
  return ({ 0xef53: 'ext4', 0x01021994: 'tmpfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' } as Record<number, string>)[magic] ?? `0x${magic.toString(16)}`;
}

async function run(): Promise<Measurement[]> {
  const base = mkdtempSync(join(process.env.AGORA_BENCH_REDIS_DIR ?? tmpdir(), 'agora-redis-fsync-'));
  const targets: Target[] = [];
  try {
    for (const mode of APPEND_FSYNC_MODES) targets.push(await start(mode, base));
    const kinds = Object.keys(CASES) as WriteKind[];
    const samples = new Map<string, Sample[]>();
    for (let r = -1; r < ROUNDS; r++) {
      // Interleaved: every mode and kind in each round, so drift on a shared machine hits them alike.
      for (const kind of kinds) {
        for (const t of targets) {
          const began = process.hrtime.bigint();
          const latencies = await writeRound(t, kind, r < 0 ? 50 : WRITES, kind === 'launch-burst' ? LAUNCH_BURST : 1);
          if (r < 0) continue;
          const key = caseLabel(kind, t.mode);
          samples.set(key, [...(samples.get(key) ?? []), { totalMs: Number(process.hrtime.bigint() - began) / 1e6, latencies }]);
        }
      }
    }
    const fsType = filesystemOf(base);
    return kinds.flatMap((kind) => targets.map((t) => measurement(kind, t.mode, samples.get(caseLabel(kind, t.mode))!, fsType)));
  } finally {
    for (const t of targets) {
      await t.store.close();
      await t.registry.close();
      await t.server.stop();
    }
    rmSync(base, { recursive: true, force: true });
  }
}

export const redisFsyncBench: Bench = {
  name: 'redis-fsync',
  description: `what the launch path writes to Redis — the services framework's stored launch (alone and ${LAUNCH_BURST} in flight) and the master `
    + `registry's admit/save — ${WRITES} writes a round, ${ROUNDS} rounds after a warm-up, on a real redis-server per AOF mode `
    + '(appendfsync always, everysec, no), the modes interleaved; each write timed from sent to acknowledged',
  run,
};
