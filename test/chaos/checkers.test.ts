/**
 * The chaos checkers on hand-written histories: for each rule, a history that keeps it and one
 * that breaks it, with the violation's words.
 */
import { ackedUpdatesKept, appCapacity, checkAll, deposedLeadersGo, epochsIncrease, jobRunsOnce, oneLeaderPerEpoch, startedOnce } from './checkers';
import type { ChaosEvent, NewEvent } from './history';

/** A history from events, 1 s apart from t = 1000 unless they say otherwise. */
function history(...events: (NewEvent & { t?: number })[]): ChaosEvent[] {
  return events.map((e, i) => ({ t: 1000 * (i + 1), ...e }) as ChaosEvent);
}

const RUN = '20261204150000abcde';

describe('started-once', () => {
  it('passes distinct task ids, and names a task id with two start lines', () => {
    expect(startedOnce(history({ type: 'start', taskId: 'a', at: 1 }, { type: 'start', taskId: 'b', at: 2 }))).toEqual([]);
    const v = startedOnce(history({ type: 'start', taskId: 'a', at: 1 }, { type: 'start', taskId: 'b', at: 2 }, { type: 'start', taskId: 'a', at: 3 }));
    expect(v.map((x) => x.message)).toEqual(['task a started 2 times']);
  });
});

describe('acked-updates-kept', () => {
  const ack = (taskId: string, state: string): NewEvent => ({ type: 'ack', taskId, state, uuid: `u-${taskId}-${state}`, ok: true });

  it('passes an acknowledged RUNNING still running, and a killed task reconciled KILLED', () => {
    expect(ackedUpdatesKept(history(
      ack('a', 'TASK_RUNNING'), { type: 'reconciled', taskId: 'a', state: 'TASK_RUNNING' },
      ack('b', 'TASK_RUNNING'), { type: 'invoke', op: 1, f: 'kill', args: { taskId: 'b' } }, { type: 'reconciled', taskId: 'b', state: 'TASK_KILLED' },
      ack('c', 'TASK_RUNNING'), ack('c', 'TASK_FINISHED'),
    ))).toEqual([]);
  });

  it('an acknowledged RUNNING reconciled LOST, or not answered, was lost', () => {
    const v = ackedUpdatesKept(history(
      ack('a', 'TASK_RUNNING'), { type: 'reconciled', taskId: 'a', state: 'TASK_LOST' },
      ack('b', 'TASK_RUNNING'),
    ));
    expect(v.map((x) => x.message)).toEqual([
      'task a: TASK_RUNNING was acknowledged, yet the final reconciliation says TASK_LOST (expected TASK_RUNNING)',
      'task b: TASK_RUNNING was acknowledged, yet the final reconciliation has no answer (expected TASK_RUNNING)',
    ]);
  });

  it('an unacknowledged update may be lost; an acknowledged terminal state may not come back to life', () => {
    expect(ackedUpdatesKept(history({ type: 'ack', taskId: 'a', state: 'TASK_RUNNING', uuid: 'u', ok: false, error: 'UNAVAILABLE' }, { type: 'reconciled', taskId: 'a', state: 'TASK_LOST' }))).toEqual([]);
    const v = ackedUpdatesKept(history(ack('a', 'TASK_KILLED'), { type: 'reconciled', taskId: 'a', state: 'TASK_RUNNING' }));
    expect(v.map((x) => x.message)).toEqual(['task a: TASK_KILLED was acknowledged, yet the final reconciliation says TASK_RUNNING']);
  });
});

describe('job-runs-once', () => {
  const accepted = (op: number, runId: string): NewEvent[] => [
    { type: 'invoke', op, f: 'job-run', args: { jobId: 'j' } },
    { type: 'complete', op, f: 'job-run', ok: true, result: { jobId: 'j', runId } },
  ];

  it('passes a run started once and listed once SUCCESS', () => {
    expect(jobRunsOnce(history(...accepted(1, RUN), { type: 'start', taskId: `j.${RUN}.1`, at: 5 },
      { type: 'job-runs', jobId: 'j', runs: [{ runId: RUN, status: 'SUCCESS' }] }))).toEqual([]);
  });

  it('a run started by two attempts ran twice; an accepted run that never started or is not listed is named', () => {
    const twice = jobRunsOnce(history(...accepted(1, RUN), { type: 'start', taskId: `j.${RUN}.1`, at: 5 }, { type: 'start', taskId: `j.${RUN}.2`, at: 6 },
      { type: 'job-runs', jobId: 'j', runs: [{ runId: RUN, status: 'SUCCESS' }] }));
    expect(twice.map((x) => x.message)).toEqual([`run ${RUN} started 2 times`]);
    const never = jobRunsOnce(history(...accepted(1, RUN), { type: 'job-runs', jobId: 'j', runs: [] }));
    expect(never.map((x) => x.message)).toEqual([
      `run ${RUN} of j was accepted but never started`,
      `run ${RUN} of j is listed 0 times at the end (expected once, SUCCESS)`,
    ]);
  });
  it('excuses one more start for each attempt the engine lost the exit of (255, ended during a restart-docker fault), and no other', () => {
    const twiceWith = (exitCode: number, endedAt: number) => jobRunsOnce(history(
      ...accepted(1, RUN),
      { type: 'nemesis', phase: 'start', fault: 1, kind: 'restart-docker', target: 'dockerd SIGTERM', t: 10_000 },
      { type: 'nemesis', phase: 'end', fault: 1, kind: 'restart-docker', target: 'dockerd SIGTERM', t: 12_000 },
      { type: 'start', taskId: `j.${RUN}.1`, at: 5 }, { type: 'start', taskId: `j.${RUN}.2`, at: 6 },
      { type: 'job-runs', jobId: 'j', runs: [{ runId: RUN, status: 'SUCCESS', attempts: [{ exitCode, endedAt }, { exitCode: 0, endedAt: 20_000 }] }] },
    )).map((x) => x.message);
    expect(twiceWith(255, 11_000)).toEqual([]);
    expect(twiceWith(255, 16_000)).toEqual([]);   // within the 5 s the engine settles in
    expect(twiceWith(255, 30_000)).toEqual([`run ${RUN} started 2 times`]);
    expect(twiceWith(1, 11_000)).toEqual([`run ${RUN} started 2 times`]);
  });
});

describe('epochs-increase', () => {
  it('passes growing epochs and nulls; names an observer whose epoch went down', () => {
    expect(epochsIncrease(history(
      { type: 'health', observer: 'm1', epoch: 3 }, { type: 'health', observer: 'm1', epoch: null }, { type: 'health', observer: 'm1', epoch: 7 },
      { type: 'health', observer: 'm2', epoch: 5 },
    ))).toEqual([]);
    const v = epochsIncrease(history({ type: 'health', observer: 'm1', epoch: 7 }, { type: 'health', observer: 'm2', epoch: 3 }, { type: 'health', observer: 'm1', epoch: 5 }));
    expect(v.map((x) => x.message)).toEqual(['m1 reported epoch 5 after 7']);
  });
});

describe('one-leader-per-epoch', () => {
  it('passes successive leaders, each in its own epoch, and offers in order', () => {
    expect(oneLeaderPerEpoch(history(
      { type: 'health', observer: 'm1', pid: 10, role: 'leader', epoch: 3 },
      { type: 'offer', offerId: 'offer-e3-x', epoch: 3, agentId: 'a' },
      { type: 'health', observer: 'm2', pid: 20, role: 'leader', epoch: 9 },
      { type: 'health', observer: 'm1', pid: 10, role: 'leader', epoch: 3 },   // the old one has not noticed yet: it reports, it does not act
      { type: 'offer', offerId: 'offer-e9-y', epoch: 9, agentId: 'a' },
    ))).toEqual([]);
  });

  it('names two pids leading in one epoch, and an offer of an older epoch after a newer began', () => {
    const two = oneLeaderPerEpoch(history({ type: 'health', observer: 'm1', pid: 10, role: 'leader', epoch: 3 }, { type: 'health', observer: 'm2', pid: 20, role: 'leader', epoch: 3 }));
    expect(two.map((x) => x.message)).toEqual(['pids 10 and 20 both led in epoch 3']);
    const stale = oneLeaderPerEpoch(history(
      { type: 'offer', offerId: 'offer-e3-x', epoch: 3, agentId: 'a' },
      { type: 'health', observer: 'm2', pid: 20, role: 'leader', epoch: 9 },
      { type: 'offer', offerId: 'offer-e3-z', epoch: 3, agentId: 'a' },
    ));
    expect(stale.map((x) => x.message)).toEqual(['offer offer-e3-z of epoch 3 arrived after epoch 9 began']);
  });
});

describe('deposed-leaders-go', () => {
  const leader = (t: number, observer: string, pid: number, epoch: number): NewEvent & { t: number } => ({ t, type: 'health', observer, pid, role: 'leader', epoch });

  it('passes an old leader that exits, or stops answering, soon after a newer epoch began', () => {
    expect(deposedLeadersGo(history(
      leader(1000, 'm1', 10, 3), leader(5000, 'm2', 20, 9),
      { t: 6000, type: 'process', name: 'm1', phase: 'down', pid: 10, cause: 'exit 1' },
      leader(7000, 'm3', 30, 12), { t: 8000, type: 'health', observer: 'm2', epoch: null },
    ), 10_000)).toEqual([]);
  });

  it('names a master still answering leader in its old epoch long after a newer one began (a deposed master that never exits)', () => {
    const v = deposedLeadersGo(history(
      leader(1000, 'm3', 30, 42), leader(3000, 'm2', 20, 48),
      { t: 4000, type: 'health', observer: 'm3', pid: 30, role: 'leader', epoch: 42, leader: 'elsewhere' },   // only its leader field moved
      { t: 190_000, type: 'process', name: 'm3', phase: 'down', pid: 30, cause: 'exit 0' },
    ), 10_000);
    expect(v.map((x) => x.message)).toEqual(['m3 (pid 30) still reported leading in epoch 42 187 s after epoch 48 began']);
  });
});

describe('app-capacity', () => {
  const sample = (t: number, running: number, deploying = false): NewEvent & { t: number } =>
    ({ t, type: 'app', appId: '/web', instances: 4, running, minimumHealthCapacity: 0.5, deploying });

  it('passes a full app, a short one while deploying, within settleMs of its scale or of a fault', () => {
    expect(appCapacity(history(
      sample(1000, 4), sample(2000, 1, true),
      { t: 3000, type: 'invoke', op: 1, f: 'app-scale', args: { appId: '/web' } }, { t: 3100, type: 'complete', op: 1, f: 'app-scale', ok: true },
      sample(5000, 1),
      { t: 20_000, type: 'nemesis', phase: 'start', fault: 1, kind: 'kill-agent' }, sample(21_000, 0),
      { t: 22_000, type: 'nemesis', phase: 'end', fault: 1, kind: 'kill-agent' }, sample(25_000, 1),
    ), { settleMs: 5000 })).toEqual([]);
  });

  it('names a sample below ⌈instances × minimumHealthCapacity⌉ with nothing to excuse it', () => {
    const v = appCapacity(history(
      { t: 3000, type: 'invoke', op: 1, f: 'app-create', args: { appId: '/web' } }, { t: 3100, type: 'complete', op: 1, f: 'app-create', ok: true },
      sample(9000, 1), sample(9500, 2),
    ), { settleMs: 5000 });
    expect(v.map((x) => x.message)).toEqual(['app /web ran 1 of 4 (floor 2) outside any deployment or fault']);
  });
});

it('checkAll gathers every rule', () => {
  const v = checkAll(history({ type: 'start', taskId: 'a', at: 1 }, { type: 'start', taskId: 'a', at: 2 }, { type: 'health', observer: 'm1', epoch: 2 }, { type: 'health', observer: 'm1', epoch: 1 }));
  expect(v.map((x) => x.rule)).toEqual(['started-once', 'epochs-increase']);
});
