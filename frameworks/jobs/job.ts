/**
 * Job definitions in the two dialects users bring — Chronos (`name`, `command`, `schedule`
 * R[n]/start/period, `parents` …) and Metronome (`id`, `run`, `schedules` with cron …) — read
 * into one model and written back to either. Pure. Each dialect's JSON Schema (job-schema.ts)
 * checks the fields, the code here what a schema cannot say (a cron string, a time zone, a
 * schedule or parents, volumes only with an image); every problem is reported at its JSON
 * path (the `details` of a 422), and a definition with any problem is refused whole.
 */
import { userPatternProblem } from '../shared/user-pattern';
import { CHRONOS_JOB, METRONOME_JOB, type ChronosJobJson, type MetronomeJobJson, type MetronomeScheduleJson } from './job-schema';
import { cronSchedule, repeatingSchedule } from './schedule';
import { isTimeZone } from './zone';
import { isObject, type JsonObject as Json } from '../../common/json';
import type { Detail, Report } from '../../common/json-schema';
import type { Volume } from '../../common/types';

export type ConcurrencyPolicy = 'ALLOW' | 'FORBID' | 'REPLACE';
export type RestartPolicy = 'NEVER' | 'ON_FAILURE';

export interface JobConstraint { attribute: string; operator: 'IS' | 'LIKE' | 'UNLIKE'; value: string }

export interface JobSchedule {
  /** Metronome's schedule id (a job has one schedule; `default` when none was given). */
  id?: string;
  /** A cron expression (Metronome) or an ISO 8601 repeating interval (Chronos). */
  kind: 'cron' | 'iso8601';
  expression: string;
  timeZone: string;
  concurrencyPolicy: ConcurrencyPolicy;
  /** An occurrence missed by more than this is recorded as missed, not run late. */
  startingDeadlineSeconds: number;
  enabled: boolean;
}

export interface Job {
  id: string;
  /** The dialect it was written in: its errors name that dialect's fields. */
  dialect?: 'chronos' | 'metronome';
  description: string;
  labels: Record<string, string>;
  owner?: string;
  cmd?: string;
  args?: string[];
  cpus: number;
  mem: number;
  disk: number;
  gpus: number;
  image?: string;
  forcePullImage: boolean;
  /** Host volumes mounted into the image's container; only with an image, never empty. */
  volumes?: Volume[];
  env: Record<string, string>;
  constraints: JobConstraint[];
  user?: string;
  /** Attempts after the first failure (Chronos `retries`; Metronome ON_FAILURE: until the deadline). */
  retries: number;
  restartPolicy: RestartPolicy;
  /** A run still going after this long is killed and failed (Metronome activeDeadlineSeconds, Chronos maxCompletionTime). */
  activeDeadlineSeconds?: number;
  /** A run not running this long after it was due is given up, failed (Metronome maxLaunchDelay). */
  maxLaunchDelaySeconds: number;
  schedule?: JobSchedule;
  /** Jobs that must all succeed (since this one last ran) before it runs. */
  parents: string[];
  /** A failure still lets the children run (Chronos softError). */
  softError: boolean;
  disabled: boolean;
}

export type ParsedJob = { ok: true; job: Job } | { ok: false; details: Detail[] };

/** How often a Metronome ON_FAILURE run is tried again at most. */
export const METRONOME_RETRIES = 10;

/** A LIKE or UNLIKE value must be a regular expression that RE2 accepts (linear-time matching). */
function patternProblem(c: JobConstraint): string | undefined {
  return c.operator === 'IS' ? undefined : userPatternProblem(c.value);
}

/**
 * Volumes only with an image. Without one the agent picks how the task runs, and a process
 * task runs in the agent's own filesystem, where nothing can be mounted: the job is refused
 * now rather than each of its runs failing at launch.
 */
function checkVolumes(r: Report, volumes: readonly unknown[] | null | undefined, image: string | null | undefined, at: string, imageField: string): void {
  if ((volumes ?? []).length > 0 && !image) r.add(at, `volumes need a Docker image (${imageField}): without one a job may run as a process, in the agent's own filesystem, where nothing is mounted`);
}

const volumesOf = (volumes: readonly Volume[] | null | undefined): { volumes?: Volume[] } =>
  (volumes?.length ? { volumes: volumes.map((v) => ({ containerPath: v.containerPath, hostPath: v.hostPath, mode: v.mode })) } : {});

/** The schedule's time zone is one, and its expression parses in it. */
function checkSchedule(r: Report, s: JobSchedule, at: string, now: number): void {
  if (!isTimeZone(s.timeZone)) r.add(`${at}/${s.kind === 'cron' ? 'timezone' : 'scheduleTimeZone'}`, `'${s.timeZone}' is not a time zone (an IANA name such as Europe/Berlin or UTC)`);
  else {
    const parsed = s.kind === 'cron' ? cronSchedule(s.expression, s.timeZone) : repeatingSchedule(s.expression, s.timeZone, now);
    if (!parsed.ok) r.add(`${at}/${s.kind === 'cron' ? 'cron' : 'schedule'}`, parsed.error);
  }
}

/**
 * A Metronome job (`/v1/jobs`): `{id, description, labels, run: {…}, schedules: [≤1], dependencies}`.
 * The schema first (job-schema.ts), then what it cannot say, on the parts it passed.
 */
export function parseMetronomeJob(json: unknown, now = 0): ParsedJob {
  const r = METRONOME_JOB.report(json);
  if (!isObject(json)) return { ok: false, details: r.details };
  const j = json as MetronomeJobJson;
  if (r.clean('/run/cmd') && r.clean('/run/args') && r.clean('/run/docker') && j.run.cmd == null && j.run.args == null && !j.run.docker) r.add('/run/cmd', 'a job needs cmd, args, or a Docker image to run');
  if (r.clean('/run/volumes') && r.clean('/run/docker')) checkVolumes(r, j.run.volumes, j.run.docker?.image, '/run/volumes', 'run.docker.image');
  for (const [c, at] of r.items(isObject(j.run) ? j.run.placement?.constraints : undefined, '/run/placement/constraints')) {
    const bad = patternProblem(metronomeConstraintOf(c));
    if (bad) r.add(`${at}/value`, bad);
  }
  const s0 = r.clean('/schedules(0)/cron') && r.clean('/schedules(0)/timezone') ? j.schedules?.[0] : undefined;
  if (s0) checkSchedule(r, metronomeScheduleOf(s0), '/schedules(0)', now);
  return r.ok ? { ok: true, job: metronomeJobOf(j) } : { ok: false, details: r.details };
}

const metronomeConstraintOf = (c: { attribute: string; operator: string; value?: string }): JobConstraint => ({
  attribute: c.attribute, operator: c.operator === 'EQ' ? 'IS' : c.operator as JobConstraint['operator'], value: c.value ?? '',
});

function metronomeScheduleOf(s: MetronomeScheduleJson): JobSchedule {
  return {
    ...(s.id != null ? { id: s.id } : {}), kind: 'cron', expression: s.cron, timeZone: s.timezone ?? 'UTC', concurrencyPolicy: s.concurrencyPolicy ?? 'ALLOW',
    startingDeadlineSeconds: s.startingDeadlineSeconds ?? 900, enabled: s.enabled ?? true,
  };
}

/** Metronome's defaults, filled in once the job passed every check. */
function metronomeJobOf(j: MetronomeJobJson): Job {
  const { run } = j;
  const policy = run.restart?.policy ?? 'NEVER';
  const s0 = j.schedules?.[0];
  return {
    id: j.id, dialect: 'metronome', description: j.description ?? '', labels: { ...j.labels },
    ...(run.cmd != null ? { cmd: run.cmd } : {}), ...(run.args != null ? { args: [...run.args] } : {}),
    cpus: run.cpus ?? 1, mem: run.mem ?? 128, disk: run.disk ?? 0, gpus: run.gpus ?? 0,
    ...(run.docker?.image != null ? { image: run.docker.image } : {}), forcePullImage: run.docker?.forcePullImage ?? false, ...volumesOf(run.volumes),
    env: { ...run.env }, constraints: (run.placement?.constraints ?? []).map(metronomeConstraintOf), ...(run.user !== undefined ? { user: run.user } : {}),
    // Metronome retries ON_FAILURE until the deadline; Agora also stops after 10 (a crash loop ends).
    retries: policy === 'ON_FAILURE' ? METRONOME_RETRIES : 0, restartPolicy: policy, maxLaunchDelaySeconds: run.maxLaunchDelay ?? 3600,
    ...(run.restart?.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: run.restart.activeDeadlineSeconds } : {}),
    ...(s0 ? { schedule: metronomeScheduleOf(s0) } : {}), parents: (j.dependencies ?? []).map((d) => d.id), softError: false, disabled: false,
  };
}

/** A Chronos job (`/v1/scheduler/iso8601` or `/dependency`): the schema first, then what it cannot say. */
export function parseChronosJob(json: unknown, now = 0): ParsedJob {
  const r = CHRONOS_JOB.report(json);
  if (!isObject(json)) return { ok: false, details: r.details };
  const j = json as ChronosJobJson;
  if (r.clean('/command') && r.clean('/container') && !j.command && !j.container) r.add('/command', 'a job needs a command');
  if (r.clean('/container')) checkVolumes(r, j.container?.volumes, j.container?.image, '/container/volumes', 'container.image');
  if (r.clean('/schedule') && r.clean('/parents')) {
    const parents = j.parents ?? [];
    if (j.schedule && parents.length > 0) r.add('/parents', 'a job has a schedule or parents, not both');
    if (!j.schedule && parents.length === 0) r.add('/schedule', 'a job needs a schedule (R[n]/<start>/<period>) or parents');
  }
  const schedule = chronosScheduleOf(j);
  if (schedule && r.clean('/schedule') && r.clean('/scheduleTimeZone')) checkSchedule(r, schedule, '', now);
  for (const [c, at] of r.items(j.constraints, '/constraints')) {
    const bad = patternProblem(chronosConstraintOf(c));
    if (bad) r.add(at, bad);
  }
  return r.ok ? { ok: true, job: chronosJobOf(j, schedule) } : { ok: false, details: r.details };
}

const chronosConstraintOf = ([attribute, op, value]: [string, string, string]): JobConstraint =>
  ({ attribute, operator: op === 'EQUALS' ? 'IS' : op as JobConstraint['operator'], value });

function chronosScheduleOf(j: ChronosJobJson): JobSchedule | undefined {
  if (!j.schedule) return undefined;
  return {
    kind: 'iso8601', expression: j.schedule, timeZone: j.scheduleTimeZone || 'UTC',
    concurrencyPolicy: j.concurrent ? 'ALLOW' : 'FORBID', startingDeadlineSeconds: 900, enabled: true,
  };
}

/** Chronos's defaults (a shell command, 2 retries, 0.1 cpus, 128 MB, 256 MB of disk), filled in once the job passed every check. */
function chronosJobOf(j: ChronosJobJson, schedule: JobSchedule | undefined): Job {
  const command = [j.command ?? '', ...(j.arguments ?? [])];
  return {
    id: j.name, dialect: 'chronos', description: j.description ?? '', labels: {}, ...(j.owner !== undefined ? { owner: j.owner } : {}),
    ...(j.shell ?? true ? { cmd: command.join(' ').trim() } : { args: command }),
    cpus: j.cpus ?? 0.1, mem: j.mem ?? 128, disk: j.disk ?? 256, gpus: 0,
    ...(j.container?.image ? { image: j.container.image } : {}), forcePullImage: j.container?.forcePullImage ?? false, ...volumesOf(j.container?.volumes),
    env: Object.fromEntries((j.environmentVariables ?? []).map((e) => [e.name, e.value])), constraints: (j.constraints ?? []).map(chronosConstraintOf),
    ...(j.runAsUser !== undefined ? { user: j.runAsUser } : {}), retries: j.retries ?? 2, restartPolicy: 'ON_FAILURE', maxLaunchDelaySeconds: 3600,
    // Chronos gives maxCompletionTime in milliseconds.
    ...(j.maxCompletionTime !== undefined ? { activeDeadlineSeconds: Math.ceil(j.maxCompletionTime / 1000) } : {}),
    ...(schedule ? { schedule } : {}), parents: [...(j.parents ?? [])], softError: j.softError ?? false, disabled: j.disabled ?? false,
  };
}

/** A job written as Metronome answers `GET /v1/jobs/{id}`. */
export function toMetronome(job: Job): Json {
  return {
    id: job.id, description: job.description, labels: job.labels,
    run: {
      ...(job.cmd !== undefined ? { cmd: job.cmd } : {}), ...(job.args ? { args: job.args } : {}),
      cpus: job.cpus, mem: job.mem, disk: job.disk, gpus: job.gpus, env: job.env, maxLaunchDelay: job.maxLaunchDelaySeconds,
      ...(job.image ? { docker: { image: job.image, forcePullImage: job.forcePullImage } } : {}), ...volumesOf(job.volumes),
      placement: { constraints: job.constraints.map((c) => ({ ...c })) }, ...(job.user ? { user: job.user } : {}),
      restart: { policy: job.restartPolicy, ...(job.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: job.activeDeadlineSeconds } : {}) },
    },
    schedules: job.schedule && job.schedule.kind === 'cron' ? [{
      id: job.schedule.id ?? 'default', cron: job.schedule.expression, timezone: job.schedule.timeZone, concurrencyPolicy: job.schedule.concurrencyPolicy,
      startingDeadlineSeconds: job.schedule.startingDeadlineSeconds, enabled: job.schedule.enabled,
    }] : [],
    dependencies: job.parents.map((id) => ({ id })),
  };
}

/** A job written as Chronos answers `GET /v1/scheduler/job/{name}`. */
export function toChronos(job: Job): Json {
  return {
    name: job.id, description: job.description, ...(job.owner ? { owner: job.owner } : {}),
    command: job.cmd ?? job.args?.[0] ?? '', shell: job.cmd !== undefined, arguments: job.cmd !== undefined ? [] : (job.args ?? []).slice(1),
    ...(job.schedule?.kind === 'iso8601' ? { schedule: job.schedule.expression, scheduleTimeZone: job.schedule.timeZone } : {}),
    ...(job.parents.length > 0 ? { parents: job.parents } : {}),
    cpus: job.cpus, mem: job.mem, disk: job.disk, retries: job.retries, disabled: job.disabled, softError: job.softError,
    concurrent: job.schedule?.concurrencyPolicy === 'ALLOW',
    environmentVariables: Object.entries(job.env).map(([name, value]) => ({ name, value })),
    constraints: job.constraints.map((c) => [c.attribute, c.operator === 'IS' ? 'EQUALS' : c.operator, c.value]),
    ...(job.image ? { container: { type: 'DOCKER', image: job.image, forcePullImage: job.forcePullImage, ...volumesOf(job.volumes) } } : {}),
    ...(job.activeDeadlineSeconds !== undefined ? { maxCompletionTime: job.activeDeadlineSeconds * 1000 } : {}),
    ...(job.user ? { runAsUser: job.user } : {}),
  };
}
