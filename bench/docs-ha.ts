/**
 * The "High availability" section of `docs/benchmarks.md`: what leading among three masters
 * costs the launch path against one master, and how long a SIGKILLed leader leaves frameworks
 * without offers. Measured once (`bench/results/ha.json` keeps the JSON lines of one filtered
 * run, `node --expose-gc dist/bench/run.js ha-`, with the machine and the commit) and rendered
 * again by every full run, like the Redis fsync section.
 */
import { round, type Measurement } from './harness';
import { FAILOVER_GOAL_MS } from './lease.bench';
import type { Machine } from './run';

/** One recorded run of the ha-launch and ha-failover benches. */
export interface HaRecord {
  measuredAt: string;
  machine: Machine;
  commit: string;
  method: string;
  measurements: Measurement[];
}

/** How far a case's runs spread around their median: (max − min) ÷ median. */
const spread = (m: Measurement): string => `${Math.round(((Math.max(...m.samplesMs) - Math.min(...m.samplesMs)) / m.medianMs) * 100)} %`;
const s = (ms: number): string => (ms >= 1000 ? `${round(ms / 1000, 2)} s` : `${round(ms, 1)} ms`);

export function haSection(rec: HaRecord | undefined): string[] {
  const head = ['## High availability: three masters against one, and failover', ''];
  if (!rec) return [...head, 'Not measured: `bench/results/ha.json` is missing.'];
  const launch = rec.measurements.filter((m) => m.bench === 'ha-launch');
  const single = launch.find((m) => m.params.masters === 1);
  const ha = launch.find((m) => m.params.masters === 3);
  const failover = rec.measurements.filter((m) => m.bench === 'ha-failover');
  const toOffer = failover.find((m) => m.case.includes('first offer'));
  const { cpuModel, cores, memoryGiB, node, platform } = rec.machine;
  const lat = (m: Measurement, q: 'p50Ms' | 'p99Ms' | 'maxMs'): number => m.latency?.[q][0] ?? Number.NaN;
  const leaseMs = Number(toOffer?.params.leaseMs ?? NaN);
  return [
    ...head,
    `Measured once, on ${rec.measuredAt} at ${rec.commit}, not by the run that rendered this page (\`bench/ha.bench.ts\`; figures in \`bench/results/ha.json\`).`,
    '',
    ...(single && ha ? [
      '**The launch path.** 200 `true` processes through SDK → master → NATS → agent, from the first Accept to the last TASK_FINISHED,',
      'locked doors, a Redis registry; one master on one nats-server against the leader of three masters (lease in an R3 JetStream KV',
      'bucket on a 3-node NATS cluster, every registry write fenced by the epoch), in turns in one run.',
      '',
      '| case | median | runs (ms) | tasks/s |',
      '| --- | --- | --- | --- |',
      ...[single, ha].map((m) => `| ${m.case} | ${s(m.medianMs)} | ${m.samplesMs.join(' / ')} | ${m.opsPerSec} |`),
      '',
      `The leader of three took ${round(Number(ha.params.ratioToSingle), 2)}× the single master's median here, inside this shared machine's noise: the runs`,
      `of each case spread over ${spread(single)} and ${spread(ha)} of their medians, and no cost of HA mode shows above that. The lease is renewed off`,
      'the launch path (once a second, one compare-and-set); what a launch could pay for is the fenced registry write (a Lua script that',
      'checks the epoch; registry writes are per agent and framework, not per task) and NATS messages that cross a route when the agent',
      'and the master sit on different nodes of the cluster.',
      '',
    ] : []),
    ...(toOffer ? [
      `**Failover.** Three \`agora master --ha\` processes, lease ${s(leaseMs)}, an agent and an SDK framework; the leader SIGKILLed at a`,
      `seeded random point of its renewal cycle, ${toOffer.runs} times, the killed master started again as a standby before the next kill.`,
      '',
      '| from SIGKILL of the leader to | p50 | p99 | max | kills |',
      '| --- | --- | --- | --- | --- |',
      ...failover.map((m) => `| ${m.case.replace(/^SIGKILL of the leader → /, '')} | ${s(lat(m, 'p50Ms'))} | ${s(lat(m, 'p99Ms'))} | ${s(lat(m, 'maxMs'))} | ${m.runs} |`),
      '',
      `The goal is p99 ≤ lease + 1 s (${s(leaseMs + 1000)}) and ≤ ${s(FAILOVER_GOAL_MS)} at the default lease: `
        + `**${lat(toOffer, 'p99Ms') <= Math.min(leaseMs + 1000, FAILOVER_GOAL_MS) ? 'met' : 'not met'}** (p99 ${s(lat(toOffer, 'p99Ms'))} to the first offer).`,
      'A follower may only take over once the dead leader\'s lease has run out on its own clock, so most of it is the lease: between the',
      'lease less one renewal interval and the lease, by where in its cycle the leader died. The rest is the new leader\'s recovery from',
      'the registry, the agent hearing the new leader and re-registering, and the framework re-subscribing and being offered the agent.',
      '',
    ] : []),
    `**Machine:** ${cpuModel}, ${cores} cores, ${memoryGiB} GiB, Node ${node}, ${platform}. **How it was run:** ${rec.method}`,
  ];
}
