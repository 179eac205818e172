// What the views show, computed from the API's JSON alone: a job's state, last result,
// schedule and next run; a run's times and attempts; the form ⇄ Metronome JSON; which form
// field a refusal's JSON path names; which dialect a pasted definition speaks; a job's route. Pure.
import { ms } from '/ui/shared/dom.js';
import { formNumber } from '/ui/shared/editor.js';
import { scheduleWords } from './words.js';

/** The hash route of a job's page; job ids are dot-separated [a-z0-9-] (Chronos names add _). */
export const jobHref = (id) => `#/job/${encodeURIComponent(id)}`;

const ACTIVE = new Set(['INITIAL', 'STARTING', 'ACTIVE']);
export const isActiveRun = (r) => ACTIVE.has(r.status ?? r.state);

/**
 * Chronos's STATE column: running when a run's task runs, starting when a run waits for an
 * offer or for its launch (a retry's delay included), idle otherwise.
 */
export function jobState(job) {
  const runs = (job.activeRuns ?? []).filter(isActiveRun);
  if (runs.some((r) => (r.status ?? r.state) === 'ACTIVE')) return 'running';
  return runs.length > 0 ? 'starting' : 'idle';
}

/** Chronos's STATUS column, from the history summary: the later of the last success and the last failure. */
export function lastResult(job) {
  const s = job.historySummary ?? job.history ?? {};
  const ok = ms(s.lastSuccessAt);
  const bad = ms(s.lastFailureAt);
  if (ok === undefined && bad === undefined) return { label: 'never run', kind: 'none', at: undefined };
  return (bad ?? -Infinity) > (ok ?? -Infinity) ? { label: 'failure', kind: 'failure', at: bad } : { label: 'success', kind: 'success', at: ok };
}

/** The job's schedule in one shape: Metronome's schedules[0] (cron), else Chronos's ISO 8601 one. */
export function scheduleOf(job) {
  const m = (job.schedules ?? [])[0];
  if (m) {
    return {
      kind: 'cron', expression: m.cron, timeZone: m.timezone ?? 'UTC', enabled: m.enabled !== false,
      concurrencyPolicy: m.concurrencyPolicy ?? 'ALLOW', startingDeadlineSeconds: m.startingDeadlineSeconds,
    };
  }
  const c = job.chronos;
  if (c?.schedule) {
    return { kind: 'iso8601', expression: c.schedule, timeZone: c.scheduleTimeZone || 'UTC', enabled: true, concurrencyPolicy: c.concurrent ? 'ALLOW' : 'FORBID' };
  }
  return undefined;
}

/** The jobs that must succeed before this one runs (Metronome's dependencies, Chronos's parents). */
export const parentsOf = (job) => (job.dependencies?.length ? job.dependencies.map((d) => d.id) : job.chronos?.parents ?? []);

/** Disabled as a whole (Chronos `disabled`, an exhausted R[n]) or its schedule switched off. */
export function enabled(job) {
  if (job.chronos?.disabled === true || job.agora?.disabled === true) return false;
  const s = scheduleOf(job);
  return !s || s.enabled;
}

export const scheduleText = (job) => scheduleWords(scheduleOf(job), parentsOf(job));

/**
 * NEXT RUN: when the framework says (schedules[0].nextRunAt, Metronome's; agora.nextRunAt for any schedule; a job page's history),
 * and OVERDUE when that time has passed without the run being made. Undefined when the job
 * does not run on a schedule.
 */
export function nextRun(job, now = Date.now()) {
  if (!enabled(job) || !scheduleOf(job)) return undefined;
  const at = ms((job.schedules ?? [])[0]?.nextRunAt ?? job.agora?.nextRunAt ?? job.nextRunAt);
  if (at === undefined) return undefined;
  return { at, overdue: at < now - 1000 };
}

// ------------------------------------------------------------------ runs

/** A run of the API (Metronome's shape with Agora's additions) in the words of the history table. */
export function runView(run) {
  const a = run.agora ?? {};
  const attempts = a.attempts ?? [];
  const start = ms(a.startedAt ?? run.startedAt);
  const end = ms(run.completedAt ?? run.finishedAt);
  const last = attempts.at(-1);
  return {
    id: run.id, status: run.status, trigger: a.trigger ?? '', scheduledAt: ms(a.scheduledAt), createdAt: ms(run.createdAt),
    startedAt: start, endedAt: end, seconds: start !== undefined && end !== undefined ? (end - start) / 1000 : undefined,
    exitCode: a.exitCode ?? last?.exitCode, message: a.message ?? '', attempts,
    agent: last ? last.hostname ?? last.agentId : '', logs: a.logs ?? [],
  };
}

// ------------------------------------------------------------------ the form

/** The form's fields, in order. */
export const FIELDS = ['id', 'description', 'cmd', 'image', 'cpus', 'mem', 'disk', 'cron', 'timezone', 'concurrencyPolicy',
  'startingDeadlineSeconds', 'enabled', 'restartPolicy', 'activeDeadlineSeconds', 'dependencies'];


/**
 * Form values (strings; `enabled` 'true'/'false') → Metronome job JSON. `base` is what the
 * JSON editor or the stored job held: fields the form does not show (env, labels, placement…)
 * pass through unchanged.
 */
export function formToJob(v, base = {}) {
  const job = structuredClone(base);
  const run = { ...(job.run ?? {}) };
  const set = (o, key, value) => { if (value === undefined || value === '') delete o[key]; else o[key] = value; };
  set(job, 'id', v.id.trim());
  set(job, 'description', v.description.trim() ? v.description : undefined);
  set(run, 'cmd', v.cmd.trim() ? v.cmd : undefined);
  set(run, 'cpus', formNumber(v.cpus));
  set(run, 'mem', formNumber(v.mem));
  set(run, 'disk', formNumber(v.disk));
  const image = v.image.trim();
  if (image) run.docker = { ...(run.docker ?? {}), image }; else delete run.docker;
  const restart = { ...(run.restart ?? {}), policy: v.restartPolicy || 'NEVER' };
  set(restart, 'activeDeadlineSeconds', formNumber(v.activeDeadlineSeconds));
  run.restart = restart;
  job.run = run;
  const cron = v.cron.trim();
  if (cron) {
    const old = (job.schedules ?? [])[0] ?? {};
    const s = { ...old, id: old.id ?? 'default', cron, timezone: v.timezone.trim() || 'UTC', concurrencyPolicy: v.concurrencyPolicy || 'ALLOW', enabled: v.enabled !== 'false' };
    delete s.nextRunAt;
    set(s, 'startingDeadlineSeconds', formNumber(v.startingDeadlineSeconds));
    job.schedules = [s];
  } else {
    job.schedules = [];
  }
  job.dependencies = v.dependencies.split(/[\s,]+/).filter(Boolean).map((id) => ({ id }));
  return job;
}

/** Job JSON → form values: what the form can show of it (the rest stays in the base). */
export function jobToForm(job) {
  const str = (x) => (x === undefined || x === null ? '' : String(x));
  const run = job.run ?? {};
  const s = (job.schedules ?? [])[0] ?? {};
  return {
    id: str(job.id), description: str(job.description), cmd: str(run.cmd ?? (run.args ?? []).join(' ')), image: str(run.docker?.image),
    cpus: str(run.cpus), mem: str(run.mem), disk: str(run.disk), cron: str(s.cron), timezone: str(s.timezone),
    concurrencyPolicy: s.concurrencyPolicy ?? 'ALLOW', startingDeadlineSeconds: str(s.startingDeadlineSeconds),
    enabled: s.enabled === false ? 'false' : 'true', restartPolicy: run.restart?.policy ?? 'NEVER',
    activeDeadlineSeconds: str(run.restart?.activeDeadlineSeconds), dependencies: (job.dependencies ?? []).map((d) => d.id).join(', '),
  };
}

/** What a stored job's JSON holds besides its definition: left out of the editor. */
export function definitionOf(job) {
  const out = structuredClone(job);
  for (const k of ['activeRuns', 'history', 'historySummary', 'chronos', 'agora', 'nextRunAt']) delete out[k];
  for (const s of out.schedules ?? []) delete s.nextRunAt;
  return out;
}

// Metronome writes an index as (0); accept /0 as well.
const I = '(?:\\(\\d+\\)|/\\d+)';
const FIELD_OF_PATH = [
  [/^\/id$/, 'id'],
  [/^\/description$/, 'description'],
  [/^\/run\/(cmd|args)\b/, 'cmd'],
  [/^\/run\/cpus$/, 'cpus'],
  [/^\/run\/mem$/, 'mem'],
  [/^\/run\/disk$/, 'disk'],
  [/^\/run\/docker\b/, 'image'],
  [/^\/run\/restart\/activeDeadlineSeconds$/, 'activeDeadlineSeconds'],
  [/^\/run\/restart\b/, 'restartPolicy'],
  [new RegExp(`^/schedules${I}/cron$`), 'cron'],
  [new RegExp(`^/schedules${I}/timezone$`), 'timezone'],
  [new RegExp(`^/schedules${I}/concurrencyPolicy$`), 'concurrencyPolicy'],
  [new RegExp(`^/schedules${I}/startingDeadlineSeconds$`), 'startingDeadlineSeconds'],
  [new RegExp(`^/schedules${I}/enabled$`), 'enabled'],
  [/^\/schedules\b/, 'cron'],
  [/^\/dependencies\b/, 'dependencies'],
];

/** The form field a 422 detail's JSON path belongs to, or undefined: shown above the form. */
export function fieldOfPath(path) {
  return FIELD_OF_PATH.find(([re]) => re.test(path))?.[1];
}

/**
 * Where a definition goes: Metronome's (`id`) to /v1/jobs, Chronos's (`name`) to
 * /v1/scheduler/dependency when it has parents, else /v1/scheduler/iso8601 (both create or
 * replace). Undefined for text that is not a JSON object: sent to /v1/jobs for the API's 400.
 */
export function dialectOf(json) {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  if (json.id === undefined && json.name !== undefined) {
    const parents = Array.isArray(json.parents) && json.parents.length > 0;
    return { dialect: 'chronos', id: json.name, path: parents ? '/v1/scheduler/dependency' : '/v1/scheduler/iso8601' };
  }
  return { dialect: 'metronome', id: json.id };
}
