/**
 * The jobs APIs' answers: a run as Metronome's JobRun with Agora's own fields beside it, a
 * job with Metronome's embeds, the run history, the metrics, and Chronos's stats, summary and
 * graph. Pure reads of the framework's state. Times are ISO 8601 in UTC, or null when they
 * have not happened (Chronos's own fields use "" instead, as Chronos does).
 */
import { isActive, type JobsFramework } from './framework';
import { percentile, stats, type RunRecord } from './history';
import { toChronos, toMetronome, type Job } from './job';

type Json = Record<string, unknown>;

export const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** Newest first: by creation, then by end (a run made in the same millisecond as another). */
export const newestFirst = (runs: readonly RunRecord[]): RunRecord[] =>
  [...runs].sort((a, b) => created(b) - created(a) || (b.endedAt ?? Infinity) - (a.endedAt ?? Infinity));

const created = (r: RunRecord): number => r.createdAt ?? r.scheduledAt ?? r.startedAt ?? r.endedAt ?? 0;

/**
 * Metronome's run status. A run not yet launched is INITIAL, launched and not yet running
 * STARTING; MISSED and SKIPPED are Agora's own (an occurrence recorded, nothing launched),
 * shown as they are rather than folded into FAILED, so a missed run never reads as a crash.
 */
export function metronomeStatus(r: RunRecord): string {
  if (r.state === 'STARTING') return r.attempts.length === 0 ? 'INITIAL' : 'STARTING';
  return r.state;
}

/** Where the jobs API serves an attempt's output (relative: the UI needs no access to agents). */
export function logsPath(jobId: string, runId: string, file: 'stdout' | 'stderr', attempt: number): string {
  return `/v1/jobs/${encodeURIComponent(jobId)}/runs/${encodeURIComponent(runId)}/logs?file=${file}&attempt=${attempt}`;
}

/** A run: Metronome's JobRun (`id, jobId, status, createdAt, completedAt, tasks`), and Agora's fields under `agora`. */
export function runJson(r: RunRecord): Json {
  return {
    id: r.runId, jobId: r.jobId, status: metronomeStatus(r), createdAt: iso(created(r)), completedAt: iso(r.endedAt),
    tasks: r.attempts.map((a) => ({ id: a.taskId, status: a.state, startedAt: iso(a.startedAt), completedAt: iso(a.endedAt) })),
    agora: {
      state: r.state, trigger: r.trigger ?? null, scheduledAt: iso(r.scheduledAt), startedAt: iso(r.startedAt),
      message: r.message ?? null, exitCode: r.exitCode ?? null,
      ...(r.stopRequested ? { stopRequested: r.stopRequested } : {}), ...(r.retryAt !== undefined ? { retryAt: iso(r.retryAt) } : {}),
      attempts: r.attempts.map((a, i) => ({
        attempt: i + 1, taskId: a.taskId, agentId: a.agentId, hostname: a.hostname ?? null, state: a.state,
        startedAt: iso(a.startedAt), runningAt: iso(a.runningAt), endedAt: iso(a.endedAt), exitCode: a.exitCode ?? null, message: a.message ?? null,
      })),
      logs: r.attempts.map((_, i) => ({ attempt: i + 1, stdout: logsPath(r.jobId, r.runId, 'stdout', i + 1), stderr: logsPath(r.jobId, r.runId, 'stderr', i + 1) })),
    },
  };
}

export const EMBEDS = ['activeRuns', 'schedules', 'history', 'historySummary', 'agora'] as const;
export type Embed = typeof EMBEDS[number];

/** Metronome's JobHistorySummary: the counts and the last of each. */
function historySummary(runs: readonly RunRecord[]): Json {
  const s = stats(runs);
  return { successCount: s.successCount, failureCount: s.errorCount, lastSuccessAt: iso(s.lastSuccess), lastFailureAt: iso(s.lastError) };
}

/** Metronome's JobHistory: the summary and the finished runs, newest first, as JobRunInfo. */
function history(runs: readonly RunRecord[]): Json {
  const info = (state: 'SUCCESS' | 'FAILED') => newestFirst(runs).filter((r) => r.state === state)
    .map((r) => ({ id: r.runId, createdAt: iso(created(r)), finishedAt: iso(r.endedAt), tasks: r.attempts.map((a) => a.taskId) }));
  return { ...historySummary(runs), successfulFinishedRuns: info('SUCCESS'), failedFinishedRuns: info('FAILED') };
}

/** A job as Metronome's JobInfo: its spec (schedules always, as Metronome), and the embeds asked for. */
export function jobInfo(f: JobsFramework, job: Job, embed: ReadonlySet<Embed>): Json {
  const runs = f.runsOf(job.id);
  const spec = toMetronome(job);
  const nextRunAt = iso(f.nextRun(job.id));
  return {
    ...spec,
    // Metronome's embedded schedules carry their next run.
    ...(embed.has('schedules') ? { schedules: (spec.schedules as Json[]).map((sc) => ({ ...sc, nextRunAt })) } : {}),
    ...(embed.has('activeRuns') ? { activeRuns: newestFirst(runs.filter(isActive)).map(runJson) } : {}),
    ...(embed.has('history') ? { history: history(runs) } : {}),
    ...(embed.has('historySummary') ? { historySummary: historySummary(runs) } : {}),
    // Beyond Metronome: what its JobSpec cannot say — the dialect the job was written in, a
    // Chronos job's repeating schedule and disabled flag, and the next run of either kind.
    ...(embed.has('agora') ? {
      agora: {
        dialect: job.dialect ?? 'metronome', disabled: job.disabled, nextRunAt,
        schedule: job.schedule ? { kind: job.schedule.kind, expression: job.schedule.expression, timeZone: job.schedule.timeZone, concurrencyPolicy: job.schedule.concurrencyPolicy, enabled: job.schedule.enabled } : null,
        retries: job.retries, softError: job.softError,
      },
    } : {}),
  };
}

/** Agora's `/v1/jobs/{id}/history`: every stored run (missed and skipped ones too), the numbers, and the next occurrence. */
export function agoraHistory(f: JobsFramework, jobId: string): Json {
  const runs = f.runsOf(jobId);
  const s = stats(runs);
  return {
    runs: newestFirst(runs).map(runJson),
    stats: {
      successCount: s.successCount, errorCount: s.errorCount, lastSuccess: iso(s.lastSuccess), lastError: iso(s.lastError),
      durationP50Seconds: s.durationP50Seconds ?? null, durationP95Seconds: s.durationP95Seconds ?? null,
    },
    nextRunAt: iso(f.nextRun(jobId)),
  };
}

/** `/metrics`: what an operator watches first. */
export function metricsJson(f: JobsFramework, connected: boolean, store: { available: boolean; why?: string } = { available: true }): Json {
  const jobs = [...f.state.jobs.values()];
  const runs = [...f.state.runs.values()].flat();
  const count = (state: RunRecord['state']) => runs.filter((r) => r.state === state).length;
  return {
    jobs: jobs.length, scheduled: jobs.filter((j) => f.scheduled(j)).length, activeRuns: runs.filter(isActive).length,
    runs: { success: count('SUCCESS'), failed: count('FAILED'), missed: count('MISSED'), skipped: count('SKIPPED') },
    connected, frameworkId: f.state.frameworkId ?? null,
    // Unavailable: writes answer 503, and runs that end wait to be recorded (their updates are not acknowledged).
    store: store.available ? 'available' : 'unavailable', ...(store.why !== undefined ? { storeWhy: store.why } : {}),
  };
}

// ---- Chronos -------------------------------------------------------------------------------

/** Chronos's last result of a job (Exporter.getLastState): the later of its last success and last error. */
export function lastResult(runs: readonly RunRecord[]): 'success' | 'failure' | 'fresh' {
  const s = stats(runs);
  if (s.lastSuccess === undefined && s.lastError === undefined) return 'fresh';
  return (s.lastSuccess ?? -Infinity) > (s.lastError ?? -Infinity) ? 'success' : 'failure';
}

/** A job as Chronos lists it: its definition and its counts, the times ISO 8601 or "" (never run). */
export function chronosJob(f: JobsFramework, job: Job): Json {
  const runs = f.runsOf(job.id);
  const s = stats(runs);
  const lastSuccess = s.lastSuccess ?? -Infinity;
  const errorsSinceLastSuccess = runs.filter((r) => r.state === 'FAILED' && (r.endedAt ?? 0) > lastSuccess).length;
  return {
    ...toChronos(job), successCount: s.successCount, errorCount: s.errorCount,
    lastSuccess: iso(s.lastSuccess) ?? '', lastError: iso(s.lastError) ?? '', errorsSinceLastSuccess,
  };
}

/**
 * Chronos's `state` of a job: `N running` while N runs have a task running, `queued` while
 * runs wait for a launch, else `idle` (Chronos keeps it in memory; Agora reads it off the runs).
 */
export function chronosState(runs: readonly RunRecord[]): string {
  const active = runs.filter(isActive);
  const running = active.filter((r) => r.state === 'ACTIVE').length;
  if (running > 0) return `${running} running`;
  return active.length > 0 ? 'queued' : 'idle';
}

/** `/v1/scheduler/jobs/summary`: one line a job, as Chronos's UI lists them. */
export function chronosSummary(f: JobsFramework): { jobs: Json[] } {
  return {
    jobs: byId(f).map((job) => {
      const runs = f.runsOf(job.id);
      return { name: job.id, status: lastResult(runs), state: chronosState(runs), schedule: job.schedule?.expression ?? '', parents: job.parents, disabled: job.disabled };
    }),
  };
}

export const byId = (f: JobsFramework): Job[] => [...f.state.jobs.values()].sort((a, b) => a.id.localeCompare(b.id));

/**
 * `/v1/scheduler/job/stat/{name}`: Chronos's histogram of run durations in ms (nearest-rank
 * percentiles over the stored finished runs; `mean` is the mean, where Chronos printed its
 * median), and its task history, one entry an attempt, newest first.
 */
export function chronosStat(f: JobsFramework, job: Job): Json {
  const runs = newestFirst(f.runsOf(job.id));
  const ms = runs.filter((r) => (r.state === 'SUCCESS' || r.state === 'FAILED') && r.startedAt !== undefined && r.endedAt !== undefined)
    .map((r) => r.endedAt! - r.startedAt!).sort((a, b) => a - b);
  const p = (q: number) => percentile(ms, q) ?? 0;
  return {
    histogram: {
      '75thPercentile': p(75), '95thPercentile': p(95), '98thPercentile': p(98), '99thPercentile': p(99), median: p(50),
      mean: ms.length === 0 ? 0 : ms.reduce((a, b) => a + b, 0) / ms.length, count: ms.length,
    },
    taskStatHistory: runs.flatMap((r) => [...r.attempts].reverse().map((a) => ({
      taskId: a.taskId, jobName: job.id, runId: r.runId, slaveId: a.agentId, startTime: iso(a.startedAt), endTime: iso(a.endedAt) ?? 'N/A',
      ...(a.endedAt !== undefined ? { duration: `${((a.endedAt - a.startedAt) / 1000).toFixed(3)}s` } : {}), status: a.state,
    }))),
  };
}

const COLOURS = { success: 'green', failure: 'red', fresh: 'white' } as const;
const quoted = (s: string): string => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** `/v1/scheduler/graph/dot`: the dependency graph in DOT, parent -> child, each job filled with the colour of its last result. */
export function dotGraph(f: JobsFramework): string {
  const jobs = byId(f);
  const nodes = jobs.map((j) => `  ${quoted(j.id)} [style=filled, fillcolor=${COLOURS[lastResult(f.runsOf(j.id))]}];`);
  const edges = jobs.flatMap((j) => j.parents.map((p) => `  ${quoted(p)} -> ${quoted(j.id)};`));
  return `digraph G {\n${[...nodes, ...edges].map((l) => `${l}\n`).join('')}}\n`;
}

/** `/v1/scheduler/graph/csv`: Chronos's export — `node,name,lastResult,state` and `link,parent,child` lines. */
export function csvGraph(f: JobsFramework): string {
  const jobs = byId(f);
  const nodes = jobs.map((j) => `node,${j.id},${lastResult(f.runsOf(j.id))},${chronosState(f.runsOf(j.id))}`);
  const links = jobs.flatMap((j) => j.parents.map((p) => `link,${p},${j.id}`));
  return [...nodes, ...links].map((l) => `${l}\n`).join('');
}
