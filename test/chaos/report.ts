/**
 * The run's report, a pure function of its history and violations: the faults injected by kind,
 * the failover time of each leader fault, the operations and their answers, the violations.
 *
 * Failover time of a leader fault (`kill-leader`, `pause-leader`), from the instant the fault was
 * injected (its `nemesis` start) to:
 * - `offerMs`: the first offer the SDK framework received whose id carries an epoch newer than
 *   the leader's at the fault — the new leader is serving frameworks;
 * - `healthMs`: the first /health of a master leading in a newer epoch (polled, so up to one
 *   poll interval late).
 */
import type { Violation } from './checkers';
import { eventsOf, type ChaosEvent, type NemesisKind } from './history';

export interface Failover {
  fault: number;
  kind: NemesisKind;
  target: string;
  fromEpoch: number;
  toEpoch: number | null;
  healthMs: number | null;
  offerMs: number | null;
}

export interface Stats { count: number; p50: number | null; p99: number | null; max: number | null }

export interface ChaosReport {
  seed: number;
  durationMs: number;
  faultsByKind: Record<string, number>;
  faultsFailed: { fault: number; kind: string; detail: string }[];
  /** The cluster did not get steady again after these faults (0: after the load stopped). */
  stuck: { fault: number; what: string }[];
  failovers: Failover[];
  /** Offer-based failover times, per leader fault kind. */
  failoverMs: Record<string, Stats>;
  healthFailoverMs: Record<string, Stats>;
  ops: Record<string, { invoked: number; ok: number; failed: number }>;
  tasksStarted: number;
  /** Of those, how many ran in Docker and how many as processes. */
  tasksStartedIn: { docker: number; process: number };
  epochs: { first: number | null; last: number | null; leaders: number };
  violations: Violation[];
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1]! : null };
}

const LEADER_FAULTS: readonly NemesisKind[] = ['kill-leader', 'pause-leader'];

export function failovers(h: readonly ChaosEvent[]): Failover[] {
  const out: Failover[] = [];
  for (const start of eventsOf(h, 'nemesis')) {
    if (start.phase !== 'start' || !LEADER_FAULTS.includes(start.kind)) continue;
    const before = h.filter((e) => e.t <= start.t);
    const fromEpoch = Math.max(0, ...eventsOf(before, 'health').filter((e) => e.role === 'leader').map((e) => e.epoch ?? 0));
    const after = h.filter((e) => e.t >= start.t);
    const health = eventsOf(after, 'health').find((e) => e.role === 'leader' && (e.epoch ?? 0) > fromEpoch);
    const offer = eventsOf(after, 'offer').find((e) => (e.epoch ?? 0) > fromEpoch);
    out.push({
      fault: start.fault, kind: start.kind, target: start.target ?? '', fromEpoch,
      toEpoch: offer?.epoch ?? health?.epoch ?? null,
      healthMs: health ? health.t - start.t : null, offerMs: offer ? offer.t - start.t : null,
    });
  }
  return out;
}

export function buildReport(h: readonly ChaosEvent[], violations: Violation[], seed: number): ChaosReport {
  const ends = eventsOf(h, 'nemesis').filter((e) => e.phase === 'end');
  const faultsByKind: Record<string, number> = {};
  for (const e of ends) faultsByKind[e.kind] = (faultsByKind[e.kind] ?? 0) + 1;
  const f = failovers(h);
  const byKind = (pick: (x: Failover) => number | null) => Object.fromEntries(LEADER_FAULTS.map((k) => [k,
    stats(f.filter((x) => x.kind === k).map(pick).filter((v): v is number => v !== null))]));
  const ops: ChaosReport['ops'] = {};
  for (const e of h) {
    if (e.type !== 'invoke' && e.type !== 'complete') continue;
    const o = ops[e.f] ??= { invoked: 0, ok: 0, failed: 0 };
    if (e.type === 'invoke') o.invoked++;
    else if (e.ok) o.ok++;
    else o.failed++;
  }
  const leaderEpochs = eventsOf(h, 'health').filter((e) => e.role === 'leader' && e.epoch !== null).map((e) => e.epoch!);
  return {
    seed, durationMs: h.length ? h[h.length - 1]!.t - h[0]!.t : 0, faultsByKind,
    stuck: eventsOf(h, 'stuck').map((e) => ({ fault: e.fault, what: e.what })),
    faultsFailed: ends.filter((e) => e.detail?.startsWith('failed')).map((e) => ({ fault: e.fault, kind: e.kind, detail: e.detail! })),
    failovers: f, failoverMs: byKind((x) => x.offerMs), healthFailoverMs: byKind((x) => x.healthMs), ops,
    tasksStarted: new Set(eventsOf(h, 'start').map((e) => e.taskId)).size,
    tasksStartedIn: {
      docker: new Set(eventsOf(h, 'start').filter((e) => e.engine === 'docker').map((e) => e.taskId)).size,
      process: new Set(eventsOf(h, 'start').filter((e) => e.engine === 'process').map((e) => e.taskId)).size,
    },
    epochs: { first: leaderEpochs.length ? Math.min(...leaderEpochs) : null, last: leaderEpochs.length ? Math.max(...leaderEpochs) : null, leaders: new Set(leaderEpochs).size },
    violations,
  };
}

const ms = (v: number | null) => (v === null ? '—' : `${v} ms`);

export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos run, seed ${r.seed}: ${Math.round(r.durationMs / 1000)} s, ${Object.values(r.faultsByKind).reduce((a, b) => a + b, 0)} faults`,
    `faults survived by kind: ${Object.entries(r.faultsByKind).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    ...r.faultsFailed.map((x) => `  fault ${x.fault} (${x.kind}) ${x.detail}`),
    ...r.stuck.map((x) => `STUCK after fault ${x.fault}: ${x.what}`),
    'failover (fault → first offer of the new epoch at the SDK framework; /health of the new leader):',
    ...Object.keys(r.failoverMs).map((k) => {
      const o = r.failoverMs[k]!;
      const hh = r.healthFailoverMs[k]!;
      return `  ${k}: n=${o.count} offer p50 ${ms(o.p50)} p99 ${ms(o.p99)} max ${ms(o.max)}; health p50 ${ms(hh.p50)} p99 ${ms(hh.p99)} max ${ms(hh.max)}`;
    }),
    ...r.failovers.filter((x) => x.offerMs === null).map((x) => `  fault ${x.fault} (${x.kind}): no offer of a newer epoch seen`),
    `epochs: ${r.epochs.first ?? '—'} → ${r.epochs.last ?? '—'}, ${r.epochs.leaders} leader epochs observed`,
    `operations: ${Object.entries(r.ops).map(([k, o]) => `${k} ${o.ok}/${o.invoked} ok`).join(', ')}`,
    `tasks started (start file): ${r.tasksStarted} (${r.tasksStartedIn.docker} in Docker, ${r.tasksStartedIn.process} as processes)`,
    `violations: ${r.violations.length}`,
    ...r.violations.slice(0, 50).map((v) => `  [${v.rule}] ${v.message}`),
  ];
  return `${lines.join('\n')}\n`;
}
