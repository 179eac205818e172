/**
 * The chaos report on a hand-written history: a leader fault's failover measured from its start
 * to the first offer (and /health) of a newer epoch; percentiles by nearest rank; faults counted
 * by kind; operations by answer.
 */
import type { ChaosEvent, NewEvent } from './history';
import { buildReport, failovers, formatReport, percentile } from './report';

const at = (t: number, e: NewEvent): ChaosEvent => ({ t, ...e }) as ChaosEvent;

const HISTORY: ChaosEvent[] = [
  at(1000, { type: 'health', observer: 'm1', pid: 10, role: 'leader', epoch: 4 }),
  at(1100, { type: 'offer', offerId: 'offer-e4-a', epoch: 4, agentId: 'a1' }),
  at(2000, { type: 'nemesis', phase: 'start', fault: 1, kind: 'kill-leader', target: 'm1' }),
  at(2100, { type: 'offer', offerId: 'offer-e4-b', epoch: 4, agentId: 'a1' }),   // in flight before the kill: not the new leader
  at(3600, { type: 'health', observer: 'm2', pid: 20, role: 'leader', epoch: 9 }),
  at(4400, { type: 'offer', offerId: 'offer-e9-c', epoch: 9, agentId: 'a1' }),
  at(5000, { type: 'nemesis', phase: 'end', fault: 1, kind: 'kill-leader', target: 'm1' }),
  at(6000, { type: 'nemesis', phase: 'start', fault: 2, kind: 'restart-redis' }),
  at(7000, { type: 'nemesis', phase: 'end', fault: 2, kind: 'restart-redis' }),
  at(7100, { type: 'invoke', op: 1, f: 'job-run', args: { jobId: 'j' } }),
  at(7200, { type: 'complete', op: 1, f: 'job-run', ok: false, error: '503' }),
  at(7300, { type: 'start', taskId: 'sdk-1', at: 7300, engine: 'docker' }),
];

it('measures a leader fault from its start to the first offer and /health of a newer epoch', () => {
  expect(failovers(HISTORY)).toEqual([{ fault: 1, kind: 'kill-leader', target: 'm1', fromEpoch: 4, toEpoch: 9, healthMs: 1600, offerMs: 2400 }]);
});

it('takes percentiles by nearest rank', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  expect([percentile(sorted, 50), percentile(sorted, 99), percentile([7], 99), percentile([], 50)]).toEqual([50, 99, 7, null]);
});

it('counts faults by kind, operations by answer, tasks started (and where), and prints them', () => {
  const r = buildReport(HISTORY, [], 42);
  expect(r.faultsByKind).toEqual({ 'kill-leader': 1, 'restart-redis': 1 });
  expect(r.ops).toEqual({ 'job-run': { invoked: 1, ok: 0, failed: 1 } });
  expect(r.failoverMs['kill-leader']).toEqual({ count: 1, p50: 2400, p99: 2400, max: 2400 });
  expect([r.tasksStarted, r.tasksStartedIn]).toEqual([1, { docker: 1, process: 0 }]);
  expect(formatReport(r)).toContain('kill-leader: n=1 offer p50 2400 ms p99 2400 ms max 2400 ms; health p50 1600 ms');
});
