/**
 * The "Redis AOF fsync" section of `docs/benchmarks.md`: what each `appendfsync` mode costs
 * the writes a launch makes, and why `agora up` runs its Redis with `always`. Like the
 * framework step A/B it is not from the run that renders the page: it was measured once
 * (`bench/results/redis-fsync.json` keeps that run's measurements, written from its JSON
 * lines) and `npm run bench` renders it again from that file.
 */
import { DEFAULT_APPEND_FSYNC, type AppendFsync } from '../common/redis-server';
import { median, round, type Measurement } from './harness';
import { CASES, caseLabel, LAUNCH_BURST, WRITES, type WriteKind } from './redis-fsync.bench';
import type { Machine } from './run';

/** One recorded run of the redis-fsync bench. */
export interface RedisFsyncRecord {
  measuredAt: string;
  machine: Machine;
  commit: string;
  redis: string;
  method: string;
  measurements: Measurement[];
}

const MODES: readonly AppendFsync[] = ['always', 'everysec', 'no'];
const KINDS = Object.keys(CASES) as WriteKind[];
const fmt = (x: number): string => `${round(x, x < 1 ? 3 : 2)}`;
const spread = (xs: readonly number[]): string => xs.map(fmt).join(' / ');

/** What a crash takes from acknowledged writes, per mode (Redis's persistence documentation). */
const LOSES: Record<AppendFsync, string> = {
  always: 'nothing acknowledged, on a crash of the process or of the host (the AOF is fsynced before the answer)',
  everysec: 'nothing on a crash of redis-server (the write is in the kernel before the answer); up to about 1 s of acknowledged writes (2 s if a slow fsync holds the next one back) on a power loss or kernel crash',
  no: 'nothing on a crash of redis-server; on a power loss or kernel crash, whatever the kernel had not yet written back (about 30 s on Linux by default)',
};

export function redisFsyncSection(rec: RedisFsyncRecord | undefined): string[] {
  const head = ['## Redis AOF fsync: what `appendfsync always` costs the launch path', ''];
  if (!rec) return [...head, 'Not measured: `bench/results/redis-fsync.json` is missing.'];
  const by = new Map(rec.measurements.map((m) => [m.case, m]));
  const rows = KINDS.flatMap((kind) => MODES.flatMap((mode) => {
    const m = by.get(caseLabel(kind, mode));
    if (!m?.latency) return [];
    return [`| ${CASES[kind]} | ${mode} | ${fmt(m.medianMs)} | ${fmt(m.medianMs / m.ops)} | ${spread(m.latency.p50Ms)} | ${spread(m.latency.p99Ms)} | ${spread(m.latency.maxMs)} |`];
  }));
  const { cpuModel, cores, memoryGiB, node, platform } = rec.machine;
  return [
    ...head,
    `The writes a launch makes, through the real stores, to a real redis-server per AOF mode (\`bench/redis-fsync.bench.ts\`): ${WRITES}`,
    `writes a round, ${median(rec.measurements.map((m) => m.runs))} rounds after a warm-up, the modes interleaved. Measured once, on ${rec.measuredAt} at ${rec.commit}`,
    `(${rec.redis.split(' ').slice(0, 3).join(' ')}), not by the run that rendered this page; its figures are in \`bench/results/redis-fsync.json\`.`,
    '',
    `| what is written | appendfsync | round of ${WRITES}, median ms | ms per write | p50 ms, per round | p99 ms, per round | max ms, per round |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...choice(by),
    '',
    '| appendfsync | what a crash loses |',
    '| --- | --- |',
    ...MODES.map((mode) => `| ${mode} | ${LOSES[mode]} |`),
    '',
    ...published(by),
    '',
    `**Machine:** ${cpuModel}, ${cores} cores, ${memoryGiB} GiB, Node ${node}, ${platform}; the AOFs on its ${String(rec.measurements[0]?.params.filesystem)}`,
    `disk, shared with other work. **How it was run:** ${rec.method}`,
  ];
}

/** The default, and the figures it was chosen on. */
function choice(by: Map<string, Measurement>): string[] {
  const p = (kind: WriteKind, mode: AppendFsync, q: 'p50Ms' | 'p99Ms'): number => median(by.get(caseLabel(kind, mode))?.latency?.[q] ?? [NaN]);
  const total = (kind: WriteKind, mode: AppendFsync): number => by.get(caseLabel(kind, mode))?.medianMs ?? NaN;
  return [
    `**\`agora up\` runs its Redis with \`appendfsync ${DEFAULT_APPEND_FSYNC}\`** (\`DEFAULT_APPEND_FSYNC\`, \`common/redis-server.ts\`).`,
    'Agora\'s rule is that nothing acknowledged may be lost, and only `always` keeps it when the host itself crashes: under',
    '`everysec` a power loss can take the last second of stored launches, and a framework that comes back without them may',
    `launch those instances again. Its price here: a stored launch, one at a time, waits a median ${fmt(p('launch', 'always', 'p50Ms'))} ms under \`always\``,
    `against ${fmt(p('launch', 'everysec', 'p50Ms'))} ms under \`everysec\` (p99 ${fmt(p('launch', 'always', 'p99Ms'))} against ${fmt(p('launch', 'everysec', 'p99Ms'))} ms, medians of the rounds),`,
    `and a registry write ${fmt(p('registry', 'always', 'p50Ms'))} against ${fmt(p('registry', 'everysec', 'p50Ms'))} ms: a fraction of a millisecond on a launch that takes tens`,
    `to hundreds (\`launch\` above). With ${LAUNCH_BURST} launches in flight, as a deployment makes them, Redis fsyncs once for all the writes of an`,
    `event-loop turn: ${WRITES} took ${fmt(total('launch-burst', 'always'))} ms under \`always\` against ${fmt(total('launch-burst', 'everysec'))} ms under \`everysec\``,
    `(${round(total('launch-burst', 'always') / total('launch-burst', 'everysec'), 2)}×). An operator who prefers \`everysec\`'s speed to that guarantee runs a Redis of their own`,
    '(`agora up --redis URL`, `docs/production-redis.md`).',
  ];
}

/** The one published Redis figure, against the mode with no fsync in it. */
function published(by: Map<string, Measurement>): string[] {
  const m = by.get(caseLabel('launch-burst', 'no'));
  const fig = m?.published[0];
  if (!m || !fig) return [];
  return [
    `**Against a published figure:** Redis's own documentation gives ≈72k SET/s from 50 clients without pipelining (REFERENCE.md §6;`,
    `hardware and persistence not stated): ${fmt(fig.ms)} ms for ${WRITES} writes. Ours, ${LAUNCH_BURST} in flight with no fsync, took ${fmt(m.medianMs)} ms`,
    `(${round(fig.ms / m.medianMs, 2)}×): each of ours is a MULTI/EXEC of a JSON record from one Node client, on a 2-core machine`,
    'it shares with that client — the same league, for a store that is not what a launch waits on.',
  ];
}
