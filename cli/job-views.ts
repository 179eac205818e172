/**
 * How `agora job` shows the jobs framework's JSON to people: the job table (Chronos's
 * columns: schedule, next run with OVERDUE, last result, state), one job's summary, a job's
 * run history with where each run's output is, and a run's end. Pure functions of the answers.
 */
import type { ChronosJobJson, HistoryJson, JobJson, RunEnd, RunJson } from './jobs-client';
import { table } from './table';

/** `2024-05-01T14:03:07Z`: UTC to the second, as the API's times are (without the milliseconds). */
export function when(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '-';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

/** `0.6s`, `42s`, `3m 4s`, `2h 5m`. */
export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '-';
  if (s < 10) return `${Math.round(s * 10) / 10}s`;
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** What starts the job: its cron and zone, its Chronos interval, its parents, or only a person. */
export function scheduleText(job: JobJson, chronos?: ChronosJobJson): string {
  const s = job.schedules[0];
  if (s) return `${s.cron} ${s.timezone}${s.enabled ? '' : ' (off)'}`;
  if (chronos?.schedule) return `${chronos.schedule} ${chronos.scheduleTimeZone || 'UTC'}`;
  return job.dependencies.length > 0 ? `after ${job.dependencies.map((d) => d.id).join(', ')}` : 'on demand';
}

/** Chronos's STATE: running while a run's task runs, starting while one waits for its launch, else idle. */
export function jobState(job: JobJson): string {
  const runs = job.activeRuns ?? [];
  if (runs.some((r) => r.status === 'ACTIVE')) return 'running';
  return runs.length > 0 ? 'starting' : 'idle';
}

/** Chronos's STATUS: the later of the last success and the last failure; `-` before the first run. */
export function lastResult(job: JobJson): string {
  const s = job.historySummary;
  const ok = s?.lastSuccessAt ? Date.parse(s.lastSuccessAt) : -Infinity;
  const bad = s?.lastFailureAt ? Date.parse(s.lastFailureAt) : -Infinity;
  if (ok === -Infinity && bad === -Infinity) return '-';
  return bad > ok ? 'failure' : 'success';
}

/** NEXT RUN: when, and OVERDUE once that has passed without the run being made. */
export function nextRunText(nextRunAt: string | null | undefined, now = Date.now()): string {
  if (!nextRunAt) return '-';
  return `${when(nextRunAt)}${Date.parse(nextRunAt) < now - 1000 ? ' OVERDUE' : ''}`;
}

const whatRuns = (job: JobJson, width = 40): string => {
  const cmd = job.run.cmd ?? job.run.args?.join(' ') ?? job.run.docker?.image ?? '';
  return cmd.length > width ? `${cmd.slice(0, width - 1)}…` : cmd;
};

export interface JobRow { job: JobJson; chronos?: ChronosJobJson; nextRunAt?: string | null }

export function jobTable(rows: readonly JobRow[], now = Date.now()): string {
  return table(['ID', 'SCHEDULE', 'NEXT RUN', 'LAST', 'STATE', 'ENABLED', 'CMD'], rows.map(({ job, chronos, nextRunAt }) => [
    job.id, scheduleText(job, chronos), nextRunText(nextRunAt, now), lastResult(job), jobState(job),
    chronos?.disabled || job.schedules[0]?.enabled === false ? 'no' : 'yes', whatRuns(job),
  ]));
}

/** One job: its definition in a few lines, its numbers, and its newest runs. */
export function jobSummary(job: JobJson, history: HistoryJson, chronos?: ChronosJobJson, now = Date.now()): string {
  const s = job.schedules[0];
  const r = job.run;
  const lines: [string, string][] = [['job', job.id]];
  if (job.description) lines.push(['description', job.description]);
  if (r.cmd !== undefined) lines.push(['cmd', r.cmd]);
  else if (r.args) lines.push(['args', r.args.join(' ')]);
  if (r.docker?.image) lines.push(['image', r.docker.image]);
  if (r.volumes?.length) lines.push(['volumes', r.volumes.map((v) => `${v.hostPath} → ${v.containerPath} (${v.mode})`).join(', ')]);
  lines.push(['resources', `cpus ${r.cpus}, mem ${r.mem} MB, disk ${r.disk} MB`]);
  lines.push(['schedule', scheduleText(job, chronos)]);
  if (s) lines.push(['concurrency', `${s.concurrencyPolicy}, starting deadline ${s.startingDeadlineSeconds}s`]);
  lines.push(['next run', nextRunText(history.nextRunAt, now)]);
  lines.push(['enabled', chronos?.disabled || s?.enabled === false ? 'no' : 'yes']);
  lines.push(['on failure', `${r.restart?.policy ?? 'NEVER'}${r.restart?.activeDeadlineSeconds !== undefined ? `, deadline ${r.restart.activeDeadlineSeconds}s` : ''}`]);
  lines.push(['depends on', job.dependencies.map((d) => d.id).join(', ') || '-']);
  lines.push(['state', `${jobState(job)}${(job.activeRuns ?? []).length > 0 ? ` (${(job.activeRuns ?? []).map((x) => `${x.id} ${x.status}`).join(', ')})` : ''}`]);
  const st = history.stats;
  lines.push(['runs', `${st.successCount} succeeded, ${st.errorCount} failed; last success ${when(st.lastSuccess)}, last failure ${when(st.lastError)}`]);
  lines.push(['duration', `p50 ${seconds(st.durationP50Seconds)}, p95 ${seconds(st.durationP95Seconds)}`]);
  const head = lines.map(([k, v]) => `${k.padEnd(13)}${v}`).join('\n');
  const newest = history.runs.slice(0, 5);
  if (newest.length === 0) return `${head}\n\nno runs yet`;
  return `${head}\n\n${runTable(newest)}${history.runs.length > newest.length ? `\n(${history.runs.length - newest.length} more: agora job history ${job.id})` : ''}`;
}

const durationOf = (r: RunJson): number | undefined => {
  const start = r.agora.startedAt ? Date.parse(r.agora.startedAt) : NaN;
  const end = r.completedAt ? Date.parse(r.completedAt) : NaN;
  return Number.isFinite(start) && Number.isFinite(end) ? (end - start) / 1000 : undefined;
};

function runTable(runs: readonly RunJson[], logsBase?: string): string {
  const headers = ['RUN', 'STATE', 'TRIGGER', 'SCHEDULED', 'STARTED', 'ENDED', 'DURATION', 'EXIT', 'ATTEMPTS', 'AGENT'];
  return table(logsBase === undefined ? headers : [...headers, 'STDOUT'], runs.map((r) => {
    const a = r.agora;
    const last = a.attempts[a.attempts.length - 1];
    const exit = a.exitCode ?? last?.exitCode;
    const row = [r.id, r.status, a.trigger ?? '-', when(a.scheduledAt), when(a.startedAt), when(r.completedAt), seconds(durationOf(r)),
      exit === null || exit === undefined ? '-' : String(exit), String(a.attempts.length), last ? last.hostname ?? last.agentId : '-'];
    const logs = a.logs[a.logs.length - 1];
    return logsBase === undefined ? row : [...row, logs ? `${logsBase}${logs.stdout}` : '-'];
  }));
}

/**
 * `agora job history`: the numbers, then every stored run, newest first, with the URL of its
 * last attempt's stdout (the jobs API reads it from the agent), and what to run for more.
 */
export function historyText(jobId: string, history: HistoryJson, baseUrl: string, now = Date.now()): string {
  const st = history.stats;
  const head = `job ${jobId}: ${st.successCount} succeeded, ${st.errorCount} failed; duration p50 ${seconds(st.durationP50Seconds)}, p95 ${seconds(st.durationP95Seconds)}; next run ${nextRunText(history.nextRunAt, now)}`;
  if (history.runs.length === 0) return `${head}\n\nno runs yet`;
  const failed = history.runs.filter((r) => r.agora.message && (r.status === 'FAILED' || r.status === 'MISSED' || r.status === 'SKIPPED'));
  const task = history.runs.flatMap((r) => r.agora.attempts).at(0)?.taskId;
  return [
    head, '', runTable(history.runs, baseUrl), '',
    ...failed.map((r) => `${r.id} ${r.status}: ${r.agora.message}`), ...(failed.length > 0 ? [''] : []),
    'output: curl a STDOUT URL (file=stderr for stderr, attempt=N for an earlier attempt),',
    `        or agora logs <job>.<run>.<attempt> [--stderr]${task ? `, e.g. agora logs ${task}` : ''}`,
  ].join('\n');
}

/** How `agora job run --wait` reports a run's end. */
export function runEndText(end: RunEnd): string {
  const took = end.startedAt !== undefined && end.endedAt !== undefined ? ` in ${seconds((end.endedAt - end.startedAt) / 1000)}` : '';
  const exit = end.exitCode !== undefined ? ` (exit ${end.exitCode})` : '';
  return `run ${end.runId} of job ${end.jobId} ended ${end.state}${exit}${took}${end.message && end.state !== 'SUCCESS' ? `: ${end.message}` : ''}`;
}
