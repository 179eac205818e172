/**
 * The counters behind `GET /metrics`: offer outcomes, tasks that ended, allocation cycles.
 * They are counted where the events already pass — the offer-log sink and the task table —
 * by thin wrappers, so no call path has to remember to count.
 */
import { isTerminal, type TaskState, type TaskStatus } from '../common/types';
import type { MasterCounts, OfferEvent } from './metrics';
import type { OfferLogSink } from './ports';
import { TaskTable, type StatusEffect, type TaskObserver, type TaskRecord } from './tasks';

export function emptyCounts(): MasterCounts {
  return { offers: { offered: 0, accepted: 0, declined: 0, rescinded: 0, expired: 0 }, taskEnds: {}, allocationRuns: 0, allocationSeconds: 0 };
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

export function countAllocation(counts: MasterCounts, seconds: number): void {
  counts.allocationRuns += 1;
  counts.allocationSeconds += seconds;
}

/**
 * A task table that counts each task once when it turns terminal. Every change of a known
 * task's state goes through `update`, and terminal states are sticky, so a resent terminal
 * update is not counted twice. Tasks refused before they were known (TASK_ERROR, TASK_DROPPED
 * for an invalid launch) never enter the table and are not counted.
 */
export class CountingTaskTable extends TaskTable {
  constructor(private readonly counts: MasterCounts, observer?: TaskObserver) {
    super(undefined, observer);
  }

  override update(record: TaskRecord, status: TaskStatus, now: number): StatusEffect {
    const before: TaskState = record.task.state;
    const effect = super.update(record, status, now);
    const after = record.task.state;
    if (!isTerminal(before) && isTerminal(after)) this.counts.taskEnds[after] = (this.counts.taskEnds[after] ?? 0) + 1;
    return effect;
  }
}
