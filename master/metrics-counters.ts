/**
 * The counters behind `GET /metrics`: offer outcomes, tasks that ended, allocation cycles,
 * and the latency histograms. They are counted where the events already pass — the offer-log
 * sink and the task table — by thin wrappers, so no call path has to remember to count; the
 * two latencies no wrapper sees (offer to Accept, status-update delivery) are observed where
 * the Accept is applied (framework-calls.ts) and the update forwarded (agent-calls.ts).
 */
import { isTerminal, type TaskState, type TaskStatus } from '../common/types';
import { LATENCIES, type LatencyName, type MasterCounts, type MasterMetrics, type OfferEvent } from './metrics';
import { Histogram } from './metrics-histogram';
import type { OfferLogSink } from './ports';
import { TaskTable, type StatusEffect, type TaskObserver, type TaskRecord } from './tasks';

export function emptyCounts(): MasterCounts {
  return { offers: { offered: 0, accepted: 0, declined: 0, rescinded: 0, expired: 0 }, taskEnds: {}, allocationRuns: 0 };
}

/** The master's latency histograms, each over LATENCY_BUCKETS_SECONDS. */
export type MasterLatencies = Readonly<Record<LatencyName, Histogram>>;

export function newLatencies(): MasterLatencies {
  return Object.fromEntries(LATENCIES.map((k) => [k, new Histogram()])) as Record<LatencyName, Histogram>;
}

export function snapshotLatencies(l: MasterLatencies): MasterMetrics['latencies'] {
  return Object.fromEntries(LATENCIES.map((k) => [k, l[k].snapshot()])) as MasterMetrics['latencies'];
}

/** A copy, so a scrape being rendered does not see counts move under it. */
export function copyCounts(c: MasterCounts): MasterCounts {
  return { ...c, offers: { ...c.offers }, taskEnds: { ...c.taskEnds } };
}

const OFFER_EVENT: Record<Parameters<OfferLogSink['record']>[0]['type'], OfferEvent> = {
  OFFERED: 'offered', ACCEPTED: 'accepted', DECLINED: 'declined', RESCINDED: 'rescinded', EXPIRED: 'expired',
};

/** The sink the master writes to, counting each outcome before passing it on. */
export function countingOfferLog(sink: OfferLogSink, counts: MasterCounts): OfferLogSink {
  return {
    record(event) {
      counts.offers[OFFER_EVENT[event.type]] += 1;
      sink.record(event);
    },
  };
}

export function countAllocation(counts: MasterCounts, latencies: MasterLatencies, seconds: number): void {
  counts.allocationRuns += 1;
  latencies.allocation.observe(seconds);
}

/**
 * A task table that counts each task once when it turns terminal. Every change of a known
 * task's state goes through `update`, and terminal states are sticky, so a resent terminal
 * update is not counted twice. Tasks refused before they were known (TASK_ERROR, TASK_DROPPED
 * for an invalid launch) never enter the table and are not counted.
 *
 * It also times launch to TASK_RUNNING, once per launch: from the record's `launchedAt` (set
 * only by the Accept that sent the run message) to the first update that moves the task to
 * RUNNING. The mark is then cleared, so a task that comes back RUNNING after being
 * unreachable is not timed again, and a task the master took over from an agent's report or
 * a predecessor, whose run it never sent, is never timed.
 */
export class CountingTaskTable extends TaskTable {
  constructor(private readonly counts: MasterCounts, private readonly latencies: MasterLatencies, observer?: TaskObserver) {
    super(undefined, observer);
  }

  override update(record: TaskRecord, status: TaskStatus, now: number): StatusEffect {
    const before: TaskState = record.task.state;
    const effect = super.update(record, status, now);
    const after = record.task.state;
    if (!isTerminal(before) && isTerminal(after)) this.counts.taskEnds[after] = (this.counts.taskEnds[after] ?? 0) + 1;
    if (record.launchedAt !== undefined && (after === 'TASK_RUNNING' || isTerminal(after))) {
      if (after === 'TASK_RUNNING') this.latencies.launchToRunning.observeElapsedMs(record.launchedAt, now);
      record.launchedAt = undefined;
    }
    return effect;
  }
}
