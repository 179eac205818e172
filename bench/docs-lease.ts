/**
 * The leader-election section of `docs/benchmarks.md`: renewal latency on R3 and R1 buckets,
 * takeover after a leader dies against the failover goal, and what losing the NATS node that
 * leads the lease's stream costs.
 */
import { FAILOVER_GOAL_MS } from './lease.bench';
import { round, type Measurement } from './harness';

const s = (ms: number): string => (ms >= 1000 ? `${round(ms / 1000, 2)} s` : `${round(ms, 1)} ms`);
const p = (m: Measurement, which: 'p50Ms' | 'p99Ms' | 'maxMs'): number => m.latency?.[which][0] ?? Number.NaN;

export function leaseSection(measurements: readonly Measurement[]): string[] {
  const lease = measurements.filter((m) => m.bench === 'lease');
  const renewals = lease.filter((m) => m.case.startsWith('lease renewal'));
  const takeover = lease.find((m) => m.case.startsWith('takeover'));
  const nodeLoss = lease.find((m) => m.case.startsWith('lease written again'));
  if (!takeover) return ['## Leader election', '', '_Not in this run: `npm run -s bench -- lease`._', ''];
  const met = p(takeover, 'p99Ms') <= FAILOVER_GOAL_MS;
  return [
    '## Leader election (common/leadership)',
    '',
    'A real 3-node NATS cluster (Debian\'s nats-server), the lease in a JetStream KV bucket, the default lease of 3000 ms.',
    '',
    '| case | p50 | p99 | max | samples |',
    '| --- | --- | --- | --- | --- |',
    ...[...renewals, takeover, ...(nodeLoss ? [nodeLoss] : [])].map((m) => `| ${m.case} | ${s(p(m, 'p50Ms'))} | ${s(p(m, 'p99Ms'))} | ${s(p(m, 'maxMs'))} | ${m.runs} |`),
    '',
    `Takeover after a leader dies: p99 ${s(p(takeover, 'p99Ms'))} against the goal of ≤ ${s(FAILOVER_GOAL_MS)} including the new leader's recovery: `
      + `**${met ? 'met' : 'not met'}**, leaving ${s(FAILOVER_GOAL_MS - p(takeover, 'p99Ms'))} for the recovery. It is between the lease less one renewal `
      + 'interval and the lease (2–3 s) after the death, by where in its renewal cycle the leader died, plus one compare-and-set.',
    '',
    ...(nodeLoss ? [
      `Losing the NATS node that leads the bucket's stream is another matter: writes stop until the survivors elect a new stream leader, which took ${s(p(nodeLoss, 'p50Ms'))} at the median here, longer than the lease,`,
      'so the group\'s leader is deposed and a leader is elected once the stream answers again. That is nats-server 2.9.10\'s Raft election',
      'timeout, which no lease can shorten; a node that does not lead the stream goes without any election (common/leadership/election.test.ts).',
      '',
    ] : []),
  ];
}
