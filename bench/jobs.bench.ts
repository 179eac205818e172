/**
 * The jobs framework's two costs that grow with the number of jobs: computing occurrences
 * (the schedule calculator, across time zones), and one step of the runtime — a status
 * update stored and looked past — with thousands of scheduled jobs and hundreds of runs
 * going. Every step looks at every job, so this is what a busy cluster pays per update.
 * Neither Chronos nor Metronome published figures for these; the numbers stand alone.
 */
import { FakeClock } from '../common/clock';
import { logger } from '../common/log';
import { parse } from '../common/resources';
import type { TaskStatus } from '../common/types';
import { JobsFramework } from '../frameworks/jobs/framework';
import { parseMetronomeJob, type Job } from '../frameworks/jobs/job';
import { cronSchedule, next, type Schedule } from '../frameworks/jobs/schedule';
import { MemoryJobsStore } from '../frameworks/jobs/store';
import { idleDriver as driver, stepMeasurement } from './framework-step';
import { round, time, timeAsync, type Bench, type Measurement } from './harness';

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'];
const CRONS = ['*/5 * * * *', '30 2 * * *', '0 9 * * MON-FRI', '0 0 L * *', '15 10 ? * 6#3', '0 */4 1,15 * *'];
const T0 = Date.UTC(2026, 2, 1);

function schedules(count: number): Schedule[] {
  return Array.from({ length: count }, (_, i) => {
    const s = cronSchedule(CRONS[i % CRONS.length]!, ZONES[i % ZONES.length]);
    if (!s.ok) throw new Error(s.error);
    return s.value;
  });
}

function calculator(count: number): Measurement {
  const all = schedules(count);
  // A month of next() calls per schedule would dwarf the rest; one next() each, from a day in March (Berlin and New York change clocks in it).
  const run = (): number => all.reduce((n, s, i) => n + (next(s, T0 + i * 3_600_000) === undefined ? 0 : 1), 0);
  const { samplesMs, medianMs } = time(run, 5);
  return {
    bench: 'jobs', case: `next occurrence of ${count / 1000}k cron schedules in 5 zones`, params: { schedules: count },
    runs: 5, samplesMs: samplesMs.map((x) => round(x, 2)), medianMs: round(medianMs, 2),
    ops: count, opsLabel: 'next occurrences', opsPerSec: Math.round(count / (medianMs / 1000)), published: [],
  };
}

async function step(jobs: number, active: number): Promise<Measurement> {
  const clock = new FakeClock(T0 + 60_000);
  let n = 0;
  const f = await JobsFramework.load({ store: new MemoryJobsStore(), clock, log: logger('bench'), random: () => String(++n).padStart(5, '0') });
  await f.attach(driver, 'fw');
  const defs: Job[] = Array.from({ length: jobs }, (_, i) => {
    const r = parseMetronomeJob({ id: `job-${i}`, run: { cmd: 'true', cpus: 0.01, mem: 32 }, schedules: [{ id: 'default', cron: CRONS[i % CRONS.length], timezone: ZONES[i % ZONES.length] }] });
    if (!r.ok) throw new Error(JSON.stringify(r.details));
    return r.job;
  });
  for (const j of defs) await f.putJob(j, 'create');
  for (let i = 0; i < active; i++) await f.runNow(`job-${i}`);
  await f.onOffers([{ id: 'o', frameworkId: 'fw', agentId: 'a', hostname: 'h', role: '*', attributes: {}, resources: parse('cpus:100000;mem:100000000') }]);
  const tasks = f.allActiveRuns().map((r) => r.attempts[0]!.taskId);
  let k = 0;
  const update = (): TaskStatus => ({
    taskId: tasks[k++ % tasks.length]!, state: 'TASK_RUNNING', message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN',
    agentId: 'a', frameworkId: 'fw', uuid: '', timestampMs: 0, containerId: '', healthy: k % 2 === 0,
  });
  const UPDATES = 200;
  // A health flip each time, so every update is a real change to store.
  const timed = await timeAsync(async () => { for (let i = 0; i < UPDATES; i++) await f.onUpdate({ ...update(), exitCode: k }); return k; }, 5, 4);   // four warm-up batches: one leaves the look short of its steady state
  await f.stop();
  return stepMeasurement('jobs', `status update steps, ${jobs / 1000}k scheduled jobs, ${active} active runs`, { jobs, active, updates: UPDATES }, UPDATES, timed);
}

export const jobsBench: Bench = {
  name: 'jobs',
  description: 'the schedule calculator (one next occurrence for each of 10k cron schedules over 5 zones) and the jobs runtime '
    + '(200 status updates, each a step that stores it and looks at the active runs (and at the schedules only when one is due), with 1k and 10k scheduled jobs and 500 active runs, '
    + 'in-memory store); median of 5 after warm-ups',
  run: async () => [calculator(10_000), await step(1000, 500), await step(10_000, 500)],
};
