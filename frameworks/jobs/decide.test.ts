/**
 * The jobs framework's decisions, with no server and no runtime: looks taken at random times,
 * their commits stored or lost at random, the framework restarted at random (its schedule
 * cache gone), and status updates arriving — checked against "an occurrence runs at most
 * once, and every one is either run, skipped or counted missed".
 */
import fc from 'fast-check';
import { logger } from '../../common/log';
import type { TaskStatus } from '../../common/types';
import { applyChange, evaluate, jobsModel, onStatus, place, type JobsModel, type JobsRules } from './decide';
import { parseMetronomeJob } from './job';
import { ScheduleBook } from './schedule-book';
import { emptyJobsState } from './store';
import { parse } from '../../common/resources';

const T0 = Date.parse('2026-01-05T12:00:00Z');
const MINUTE = 60_000;

const status = (taskId: string, state: TaskStatus['state']): TaskStatus => ({
  taskId, state, message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN', agentId: 'a1', frameworkId: 'fw', uuid: 'u', timestampMs: 0, containerId: '',
});

function rules(now: () => number, n = { i: 0 }): JobsRules {
  return { book: new ScheduleBook({ log: logger('test'), now }), random: () => `r${String(++n.i).padStart(4, '0')}`, retryDelayMs: 10_000, keepRuns: 1000 };
}

type Step = { kind: 'look'; after: number; lost: boolean } | { kind: 'restart' } | { kind: 'offer' } | { kind: 'end'; pick: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('look' as const), after: fc.integer({ min: 0, max: 3 * MINUTE }), lost: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('offer' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('end' as const), pick: fc.nat() }) },
);

describe('the jobs decisions', () => {
  it('an occurrence runs at most once, whatever commits are lost and however often the framework restarts', () => {
    fc.assert(fc.property(fc.constantFrom('ALLOW', 'FORBID', 'REPLACE'), fc.array(step, { maxLength: 60 }), (policy, steps) => {
      const parsed = parseMetronomeJob({
        id: 'tick', run: { cmd: 'true', cpus: 0.1, mem: 32, disk: 0 },
        schedules: [{ id: 'every-minute', cron: '* * * * *', timezone: 'UTC', concurrencyPolicy: policy, startingDeadlineSeconds: 90 }],
      }, T0);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.details));
      let now = T0;
      let r = rules(() => now);
      const launched: string[] = [];
      const m: JobsModel = jobsModel(emptyJobsState());
      applyChange(m, { jobs: [parsed.job], cursors: [{ jobId: 'tick', at: T0 - 1 }] }, r.book);
      for (const s of steps) {
        if (s.kind === 'restart') {
          r = rules(() => now, { i: 1000 * Math.ceil(now / MINUTE) });   // a new process: a new cache, other random ids
          continue;
        }
        if (s.kind === 'look') {
          now += s.after;
          const ev = evaluate(m, now, r);
          if (!s.lost) for (const c of ev.commits) applyChange(m, c.change, r.book);
          continue;
        }
        if (s.kind === 'offer') {
          const ev = evaluate(m, now, r);
          const p = place(m, [{ id: `o${now}`, frameworkId: 'fw', agentId: 'a1', hostname: 'h1', role: '*', attributes: {}, resources: parse('cpus:8;mem:8192;disk:8192') }], ev.wants, now);
          if (p.commit) applyChange(m, p.commit.change, r.book);
          for (const tasks of p.launches.values()) launched.push(...tasks.map((t) => t.taskId));
          continue;
        }
        const live = [...m.active].flatMap(([runId]) => (m.runs.get('tick') ?? []).filter((x) => x.runId === runId)).flatMap((x) => x.attempts.filter((a) => a.endedAt === undefined));
        const a = live[s.pick % Math.max(1, live.length)];
        if (!a) continue;
        const out = onStatus(m, status(a.taskId, 'TASK_FINISHED'), now, r);
        if (out.commit) applyChange(m, out.commit.change, r.book);
      }
      // Launched at most once per occurrence (a task id names the occurrence's time, then the run and attempt).
      const occurrences = launched.map((id) => /^tick\.(\d{14})/.exec(id)![1]);
      expect(new Set(occurrences).size).toBe(occurrences.length);
      // Every occurrence up to the cursor has one record: run, skipped or missed (the latest of a missed batch).
      const runs = m.runs.get('tick') ?? [];
      const started = runs.filter((x) => x.state !== 'MISSED' && x.state !== 'SKIPPED').map((x) => x.scheduledAt);
      expect(new Set(started).size).toBe(started.length);
      const byOccurrence = runs.map((x) => x.scheduledAt);
      expect(new Set(byOccurrence).size).toBe(byOccurrence.length);
    }), { numRuns: 300 });
  });
});
