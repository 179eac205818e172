/**
 * What waiting for a replica costs a fenced epoch claim (common/fenced-redis.ts): a real primary
 * and one real replica (redis-server with `replicaOf`, both with `appendfsync always`, as
 * `agora up` runs Redis), and two FencedWriters on the primary that raise their epoch at every
 * write, so every write is a claim:
 *  - without WAIT (`replicas: 0`): what a claim costs on one Redis, or where no replica is expected;
 *  - with `WAIT 1` (`replicas: 1`, as behind a redis-sentinel:// URL): the claim answers once the
 *    replica has acknowledged it.
 * WRITES claims a round, ROUNDS rounds after a warm-up, the two cases interleaved round by round
 * on the same servers; each claim timed from sent to acknowledged (p50, p99, max per round).
 * Only the first write at each epoch waits in production, so this is the cost of an election
 * won, not of every write.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Redis } from 'ioredis';
import { FencedWriter } from '../common/fenced-redis';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import { latencyFigure, median, round, type Bench, type Measurement } from './harness';

export const WRITES = 300;
export const ROUNDS = 3;
const PASSWORD = 'agora_bench-only';

export type WaitCase = 'no-wait' | 'wait-1';
export const CASES: Record<WaitCase, string> = {
  'no-wait': 'fenced epoch claim (raise the epoch + one SET), no WAIT',
  'wait-1': 'fenced epoch claim (raise the epoch + one SET), then WAIT 1 for the replica',
};

interface Sample { totalMs: number; latencies: number[] }

/** `n` claims, one after another, each at a new epoch; each one's latency in ms. */
async function claimRound(writer: FencedWriter, n: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await writer.write([['SET', `${writer.epochKey}:value`, String(i)]]);
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return latencies;
}

function measurement(c: WaitCase, samples: Sample[]): Measurement {
  const totals = samples.map((s) => s.totalMs);
  const med = median(totals);
  return {
    bench: 'redis-replica-wait', case: CASES[c],
    params: { replicas: c === 'wait-1' ? 1 : 0, writes: WRITES, appendfsync: 'always' },
    runs: samples.length, samplesMs: totals.map((x) => round(x, 2)), medianMs: round(med, 2),
    ops: WRITES, opsLabel: 'claims', opsPerSec: Math.round(WRITES / (med / 1000)),
    published: [],
    latency: latencyFigure('one claim, sent → acknowledged', WRITES, samples),
  };
}

async function run(): Promise<Measurement[]> {
  const base = mkdtempSync(join(process.env.AGORA_BENCH_REDIS_DIR ?? tmpdir(), 'agora-replica-wait-'));
  const servers: RedisServer[] = [];
  const clients: Redis[] = [];
  try {
    const primary = await startRedisServer({ dir: join(base, 'primary'), password: PASSWORD, appendfsync: 'always' });
    servers.push(primary);
    servers.push(await startRedisServer({ dir: join(base, 'replica'), password: PASSWORD, appendfsync: 'always', replicaOf: { host: '127.0.0.1', port: primary.port } }));
    const writerOf = (c: WaitCase): FencedWriter => {
      const client = new Redis(primary.url);
      clients.push(client);
      let epoch = 0;
      return new FencedWriter(client, `bench:${c}:epoch`, () => ++epoch, { replicas: c === 'wait-1' ? 1 : 0, replicaWaitMs: 10_000 });
    };
    const writers: Record<WaitCase, FencedWriter> = { 'no-wait': writerOf('no-wait'), 'wait-1': writerOf('wait-1') };
    const samples: Record<WaitCase, Sample[]> = { 'no-wait': [], 'wait-1': [] };
    const cases = Object.keys(CASES) as WaitCase[];
    for (let r = -1; r < ROUNDS; r++) {
      for (const c of cases) {
        const began = process.hrtime.bigint();
        // The warm-up round also waits out the replica's first sync.
        const latencies = await claimRound(writers[c], r < 0 ? 50 : WRITES);
        if (r >= 0) samples[c].push({ totalMs: Number(process.hrtime.bigint() - began) / 1e6, latencies });
      }
    }
    return cases.map((c) => measurement(c, samples[c]));
  } finally {
    for (const c of clients) c.disconnect();
    for (const s of servers.reverse()) await s.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

export const redisReplicaWaitBench: Bench = {
  name: 'redis-replica-wait',
  description: `what WAIT 1 costs a fenced epoch claim: ${WRITES} claims a round (each at a new epoch), ${ROUNDS} rounds after a warm-up, `
    + 'on a real primary and replica (appendfsync always), without and with waiting for the replica, interleaved; each claim timed from sent to acknowledged',
  run,
};
