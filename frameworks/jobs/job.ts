/**
 * Job definitions in the two dialects users bring — Chronos (`name`, `command`, `schedule`
 * R[n]/start/period, `parents` …) and Metronome (`id`, `run`, `schedules` with cron …) — read
 * into one model and written back to either. Pure. Every problem is reported at its JSON path
 * (the `details` of a 422), and a definition with any problem is refused whole.
 */
import { userPatternProblem } from '../shared/user-pattern';
import { cronSchedule, repeatingSchedule } from './schedule';
import { isTimeZone } from './zone';
import { isObject, type JsonObject as Json } from '../../common/json';

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

export interface Detail { path: string; errors: string[] }
export type ParsedJob = { ok: true; job: Job } | { ok: false; details: Detail[] };


class Problems {
  readonly list: Detail[] = [];
  add(path: string, error: string): void {
    const d = this.list.find((x) => x.path === path);
    if (d) d.errors.push(error); else this.list.push({ path, errors: [error] });
  }
  num(j: Json, key: string, at: string, dflt: number, min = 0): number {
    const v = j[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) { this.add(`${at}/${key}`, `expected a number, got ${JSON.stringify(v)}`); return dflt; }
    if (v < min) this.add(`${at}/${key}`, `must be at least ${min}, got ${v}`);
    return v;
  }
  str(j: Json, key: string, at: string): string | undefined {
    const v = j[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') { this.add(`${at}/${key}`, `expected a string, got ${JSON.stringify(v)}`); return undefined; }
    return v;
  }
  bool(j: Json, key: string, at: string, dflt: boolean): boolean {
    const v = j[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') { this.add(`${at}/${key}`, `expected true or false, got ${JSON.stringify(v)}`); return dflt; }
    return v;
  }
  strings(j: Json, key: string, at: string): string[] | undefined {
    const v = j[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) { this.add(`${at}/${key}`, 'expected a list of strings'); return undefined; }
    return v as string[];
  }
  stringMap(j: Json, key: string, at: string): Record<string, string> {
    const v = j[key];
    if (v === undefined || v === null) return {};
    if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) { this.add(`${at}/${key}`, 'expected an object of string values'); return {}; }
    return v as Record<string, string>;
  }
}

/** How often a Metronome ON_FAILURE run is tried again at most. */
export const METRONOME_RETRIES = 10;

const METRONOME_ID = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const CHRONOS_NAME = /^[\w.-]+$/;

/** A LIKE or UNLIKE value must be a regular expression that RE2 accepts (linear-time matching). */
function patternProblem(c: JobConstraint): string | undefined {
  return c.operator === 'IS' ? undefined : userPatternProblem(c.value);
}

function checkSchedule(p: Problems, s: JobSchedule, at: string, now: number): void {
  if (!isTimeZone(s.timeZone)) p.add(`${at}/${s.kind === 'cron' ? 'timezone' : 'scheduleTimeZone'}`, `'${s.timeZone}' is not a time zone (an IANA name such as Europe/Berlin or UTC)`);
  else {
    const r = s.kind === 'cron' ? cronSchedule(s.expression, s.timeZone) : repeatingSchedule(s.expression, s.timeZone, now);
    if (!r.ok) p.add(`${at}/${s.kind === 'cron' ? 'cron' : 'schedule'}`, r.error);
  }
}

/** A Metronome job (`/v1/jobs`): `{id, description, labels, run: {…}, schedules: [≤1], dependencies}`. */
export function parseMetronomeJob(json: unknown, now = 0): ParsedJob {
  const p = new Problems();
  if (!isObject(json)) return { ok: false, details: [{ path: '/', errors: ['expected a JSON object'] }] };
  const id = p.str(json, 'id', '') ?? '';
  if (!METRONOME_ID.test(id)) p.add('/id', `'${id}' is not a job id: dot-separated parts of lowercase letters, digits and '-'`);
  const run = isObject(json.run) ? json.run : (p.add('/run', 'a job needs run: {cmd, cpus, mem, …}'), {});
  const cmd = p.str(run, 'cmd', '/run');
  const args = p.strings(run, 'args', '/run');
  if (cmd === undefined && args === undefined && !isObject(run.docker)) p.add('/run/cmd', 'a job needs cmd, args, or a Docker image to run');
  const docker = isObject(run.docker) ? run.docker : undefined;
  const image = docker ? p.str(docker, 'image', '/run/docker') : undefined;
  const restart = isObject(run.restart) ? run.restart : {};
  const policy = restart.policy ?? 'NEVER';
  if (policy !== 'NEVER' && policy !== 'ON_FAILURE') p.add('/run/restart/policy', `'${String(policy)}' is not NEVER or ON_FAILURE`);
  const placement = isObject(run.placement) ? run.placement : {};
  const constraints: JobConstraint[] = [];
  (Array.isArray(placement.constraints) ? placement.constraints : []).forEach((c: unknown, i) => {
    const at = `/run/placement/constraints(${i})`;
    if (!isObject(c) || typeof c.attribute !== 'string' || !['IS', 'LIKE', 'UNLIKE', 'EQ'].includes(String(c.operator))) {
      return p.add(at, 'expected {attribute, operator: IS|LIKE|UNLIKE, value}');
    }
    const constraint: JobConstraint = { attribute: c.attribute, operator: c.operator === 'EQ' ? 'IS' : c.operator as JobConstraint['operator'], value: typeof c.value === 'string' ? c.value : '' };
    const bad = patternProblem(constraint);
    if (bad) p.add(`${at}/value`, bad);
    constraints.push(constraint);
  });
  const schedules = Array.isArray(json.schedules) ? json.schedules : [];
  if (schedules.length > 1) p.add('/schedules', 'a job takes at most one schedule');
  let schedule: JobSchedule | undefined;
  const s0: unknown = schedules[0];
  if (s0 !== undefined) {
    if (!isObject(s0)) p.add('/schedules(0)', 'expected {cron, timezone, concurrencyPolicy, startingDeadlineSeconds, enabled}');
    else {
      const cp = s0.concurrencyPolicy ?? 'ALLOW';
      if (cp !== 'ALLOW' && cp !== 'FORBID' && cp !== 'REPLACE') p.add('/schedules(0)/concurrencyPolicy', `'${String(cp)}' is not ALLOW, FORBID or REPLACE`);
      const sid = p.str(s0, 'id', '/schedules(0)');
      if (sid !== undefined && !METRONOME_ID.test(sid)) p.add('/schedules(0)/id', `'${sid}' is not a schedule id: lowercase letters, digits and '-'`);
      schedule = {
        ...(sid !== undefined ? { id: sid } : {}), kind: 'cron', expression: p.str(s0, 'cron', '/schedules(0)') ?? '', timeZone: p.str(s0, 'timezone', '/schedules(0)') ?? 'UTC',
        concurrencyPolicy: cp as ConcurrencyPolicy, startingDeadlineSeconds: p.num(s0, 'startingDeadlineSeconds', '/schedules(0)', 900, 1),
        enabled: p.bool(s0, 'enabled', '/schedules(0)', true),
      };
      if (!schedule.expression) p.add('/schedules(0)/cron', 'a schedule needs a cron expression');
      else checkSchedule(p, schedule, '/schedules(0)', now);
    }
  }
  const parents = (Array.isArray(json.dependencies) ? json.dependencies : []).map((d: unknown, i) => {
    if (!isObject(d) || typeof d.id !== 'string') { p.add(`/dependencies(${i})`, 'expected {id}'); return ''; }
    return d.id;
  });
  const job: Job = {
    id, dialect: 'metronome', description: p.str(json, 'description', '') ?? '', labels: p.stringMap(json, 'labels', ''),
    ...(cmd !== undefined ? { cmd } : {}), ...(args !== undefined ? { args } : {}),
    cpus: p.num(run, 'cpus', '/run', 1, 0.01), mem: p.num(run, 'mem', '/run', 128, 32), disk: p.num(run, 'disk', '/run', 0), gpus: p.num(run, 'gpus', '/run', 0),
    ...(image !== undefined ? { image } : {}), forcePullImage: docker ? p.bool(docker, 'forcePullImage', '/run/docker', false) : false,
    env: p.stringMap(run, 'env', '/run'), constraints, ...(typeof run.user === 'string' ? { user: run.user } : {}),
    // Metronome retries ON_FAILURE until the deadline; Agora also stops after 10 (a crash loop ends).
    retries: policy === 'ON_FAILURE' ? METRONOME_RETRIES : 0, restartPolicy: policy as RestartPolicy, maxLaunchDelaySeconds: p.num(run, 'maxLaunchDelay', '/run', 3600, 1),
    ...(restart.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: p.num(restart, 'activeDeadlineSeconds', '/run/restart', 0, 1) } : {}),
    ...(schedule ? { schedule } : {}), parents, softError: false, disabled: false,
  };
  return p.list.length > 0 ? { ok: false, details: p.list } : { ok: true, job };
}

/** A Chronos job (`/v1/scheduler/iso8601` or `/dependency`). */
export function parseChronosJob(json: unknown, now = 0): ParsedJob {
  const p = new Problems();
  if (!isObject(json)) return { ok: false, details: [{ path: '/', errors: ['expected a JSON object'] }] };
  const name = p.str(json, 'name', '') ?? '';
  if (!CHRONOS_NAME.test(name)) p.add('/name', `'${name}' is not a job name: letters, digits, '_', '.' and '-'`);
  const command = p.str(json, 'command', '');
  const container = isObject(json.container) ? json.container : undefined;
  if (!command && !container) p.add('/command', 'a job needs a command');
  const scheduleText = p.str(json, 'schedule', '');
  const parents = p.strings(json, 'parents', '') ?? [];
  if (scheduleText && parents.length > 0) p.add('/parents', 'a job has a schedule or parents, not both');
  if (!scheduleText && parents.length === 0) p.add('/schedule', 'a job needs a schedule (R[n]/<start>/<period>) or parents');
  const concurrent = p.bool(json, 'concurrent', '', false);
  let schedule: JobSchedule | undefined;
  if (scheduleText) {
    schedule = {
      kind: 'iso8601', expression: scheduleText, timeZone: p.str(json, 'scheduleTimeZone', '') || 'UTC',
      concurrencyPolicy: concurrent ? 'ALLOW' : 'FORBID', startingDeadlineSeconds: 900, enabled: true,
    };
    checkSchedule(p, schedule, '', now);
  }
  const env: Record<string, string> = {};
  (Array.isArray(json.environmentVariables) ? json.environmentVariables : []).forEach((e: unknown, i) => {
    if (!isObject(e) || typeof e.name !== 'string' || typeof e.value !== 'string') return p.add(`/environmentVariables(${i})`, 'expected {name, value}');
    env[e.name] = e.value;
  });
  const constraints: JobConstraint[] = [];
  (Array.isArray(json.constraints) ? json.constraints : []).forEach((c: unknown, i) => {
    const ok = Array.isArray(c) && c.length === 3 && c.every((x) => typeof x === 'string') && ['EQUALS', 'LIKE', 'UNLIKE'].includes(c[1] as string);
    if (!ok) return p.add(`/constraints(${i})`, 'expected [attribute, EQUALS|LIKE|UNLIKE, value]');
    const [attribute, op, value] = c as [string, string, string];
    const constraint: JobConstraint = { attribute, operator: op === 'EQUALS' ? 'IS' : op as JobConstraint['operator'], value };
    const bad = patternProblem(constraint);
    if (bad) p.add(`/constraints(${i})`, bad);
    constraints.push(constraint);
  });
  const maxCompletionTime = json.maxCompletionTime === undefined ? undefined : p.num(json, 'maxCompletionTime', '', 0, 1);
  const image = container ? p.str(container, 'image', '/container') : undefined;
  const shell = p.bool(json, 'shell', '', true);
  const args = p.strings(json, 'arguments', '');
  const job: Job = {
    id: name, dialect: 'chronos', description: p.str(json, 'description', '') ?? '', labels: {}, ...(typeof json.owner === 'string' ? { owner: json.owner } : {}),
    ...(shell ? { cmd: [command ?? '', ...(args ?? [])].join(' ').trim() } : { args: [command ?? '', ...(args ?? [])] }),
    cpus: p.num(json, 'cpus', '', 0.1, 0.01), mem: p.num(json, 'mem', '', 128, 1), disk: p.num(json, 'disk', '', 256), gpus: 0,
    ...(image ? { image } : {}), forcePullImage: container ? p.bool(container, 'forcePullImage', '/container', false) : false,
    env, constraints, ...(typeof json.runAsUser === 'string' ? { user: json.runAsUser } : {}),
    retries: p.num(json, 'retries', '', 2), restartPolicy: 'ON_FAILURE', maxLaunchDelaySeconds: 3600,
    // Chronos gives maxCompletionTime in milliseconds.
    ...(maxCompletionTime !== undefined ? { activeDeadlineSeconds: Math.ceil(maxCompletionTime / 1000) } : {}),
    ...(schedule ? { schedule } : {}), parents, softError: p.bool(json, 'softError', '', false), disabled: p.bool(json, 'disabled', '', false),
  };
  return p.list.length > 0 ? { ok: false, details: p.list } : { ok: true, job };
}

/** A job written as Metronome answers `GET /v1/jobs/{id}`. */
export function toMetronome(job: Job): Json {
  return {
    id: job.id, description: job.description, labels: job.labels,
    run: {
      ...(job.cmd !== undefined ? { cmd: job.cmd } : {}), ...(job.args ? { args: job.args } : {}),
      cpus: job.cpus, mem: job.mem, disk: job.disk, gpus: job.gpus, env: job.env, maxLaunchDelay: job.maxLaunchDelaySeconds,
      ...(job.image ? { docker: { image: job.image, forcePullImage: job.forcePullImage } } : {}),
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
    ...(job.image ? { container: { type: 'DOCKER', image: job.image, forcePullImage: job.forcePullImage } } : {}),
    ...(job.activeDeadlineSeconds !== undefined ? { maxCompletionTime: job.activeDeadlineSeconds * 1000 } : {}),
    ...(job.user ? { runAsUser: job.user } : {}),
  };
}
