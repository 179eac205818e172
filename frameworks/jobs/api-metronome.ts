/**
 * Metronome's `/v1/jobs` over the jobs framework (REFERENCE.md, Frameworks 5), so that its
 * clients work unchanged; plus, beyond Metronome, a job's whole run history
 * (`/v1/jobs/{id}/history`, missed and skipped occurrences included) and a run's output
 * (`/v1/jobs/{id}/runs/{runId}/logs`). Refusals are Metronome's: 404 for what does not exist,
 * 409 for a conflict, 422 `Object is not valid` with `details` by JSON path; nothing changes.
 *
 * Where Agora differs, and why:
 * - A job has at most one schedule (Metronome's own limit, metronome PR #84); its id is the one
 *   given, or `default`.
 * - `PUT /v1/jobs/{id}` keeps the job's schedule when the body has no `schedules` (Metronome
 *   always keeps it; its clients send the schedules they read, so they see no difference), and
 *   refuses a body whose `id` is not the path's (Metronome silently takes the path's).
 * - `GET /runs/{runId}` answers finished runs too (Metronome only active ones); `GET /runs`
 *   gives every stored run with `?all=true`.
 * - `run.volumes` need `run.docker.image` (Metronome also mounts them for a command run by the
 *   Mesos containerizer): without an image a task may run as a process, in the agent's own
 *   filesystem, where Agora mounts nothing. Only host volumes; secret volumes are refused.
 */
import { ApiError, type Reply, type Request } from '../shared/http';
import { notSubscribed, readSandboxFile, type SandboxReader } from '../shared/task-output';
import { flag, refusalsAs, type Route } from './api-router';
import { agoraHistory, EMBEDS, jobInfo, newestFirst, runJson, type Embed } from './api-views';
import { isActive, type JobsError, type JobsFramework } from './framework';
import type { RunRecord } from './history';
import { parseMetronomeJob, toMetronome, type Job, type JobSchedule } from './job';
import { isObject } from '../../common/json';
import type { Detail } from '../../common/json-schema';

export interface MetronomeDeps {
  framework: JobsFramework;
  /** The live subscription's sandbox reads (through the master), or undefined while the master is away. */
  sandbox: () => SandboxReader | undefined;
}


const invalid = (details: Detail[]): ApiError => new ApiError(422, { message: 'Object is not valid', details });
const jobNotFound = (id: string): ApiError => new ApiError(404, { id, message: `Job '${id}' does not exist` });

/** The framework's refusals in Metronome's words. */
function metronomeRefusal(e: JobsError): ApiError {
  switch (e.kind) {
    case 'not-found': return new ApiError(404, { message: e.message });
    case 'exists':
    case 'conflict': return new ApiError(409, { message: e.message });
    case 'invalid': return invalid(e.details.length > 0 ? e.details : [{ path: '/', errors: [e.message] }]);
  }
}

const ID = '([^/]+)';
const JOB = `^/v1/jobs/${ID}`;

/** Metronome's routing table: its jobs, their schedules, then their runs (and history), tried in that order. */
export function metronomeRoutes(deps: MetronomeDeps): Route[] {
  const f = deps.framework;
  return refusalsAs([...jobRoutes(f), ...scheduleRoutes(f), ...runRoutes(deps)], metronomeRefusal);
}

function jobOf(f: JobsFramework, id: string): Job {
  const job = f.state.jobs.get(id);
  if (!job) throw jobNotFound(id);
  return job;
}

function runOf(f: JobsFramework, jobId: string, runId: string): RunRecord {
  jobOf(f, jobId);
  const run = f.runsOf(jobId).find((r) => r.runId === runId);
  if (!run) throw new ApiError(404, { message: `Job '${jobId}' has no run '${runId}'` });
  return run;
}

/** `/v1/jobs`: list (GET) and create (POST); `/v1/jobs/{id}`: read, replace (PUT) or delete one. */
function jobRoutes(f: JobsFramework): Route[] {
  return [
    {
      path: /^\/v1\/jobs\/?$/,
      methods: {
        GET: (req) => ({ status: 200, body: [...f.state.jobs.values()].sort((a, b) => a.id.localeCompare(b.id)).map((j) => jobInfo(f, j, embedsOf(req.url))) }),
        POST: async (req) => {
          const parsed = parseMetronomeJob(req.body, f.now());
          if (!parsed.ok) throw invalid(parsed.details);
          const job = await f.putJob(parsed.job, 'create');
          return { status: 201, body: jobInfo(f, job, new Set()), headers: { Location: `/v1/jobs/${encodeURIComponent(job.id)}` } };
        },
      },
    },
    {
      path: new RegExp(`${JOB}/?$`),
      methods: {
        GET: (req, [id]) => ({ status: 200, body: jobInfo(f, jobOf(f, id!), embedsOf(req.url)) }),
        PUT: async (req, [id]) => ({ status: 200, body: jobInfo(f, await f.putJob(replacement(f, req, id!), 'replace'), new Set()) }),
        DELETE: async (req, [id]) => {
          const job = await f.deleteJob(id!, { stopCurrentJobRuns: flag(req.url, 'stopCurrentJobRuns') });
          return { status: 200, body: toMetronome(job) };
        },
      },
    },
  ];
}

/** The job's one cron schedule; a Chronos job's repeating interval is not one Metronome can show. */
function cronOf(job: Job, scheduleId: string): JobSchedule {
  if (job.schedule?.kind !== 'cron' || (job.schedule.id ?? 'default') !== scheduleId) throw new ApiError(404, { id: scheduleId, message: `Job '${job.id}' has no schedule '${scheduleId}'` });
  return job.schedule;
}

const scheduleJson = (job: Job): unknown => (toMetronome(job).schedules as unknown[])[0];

/** Sets or removes the job's schedule in one step; `check` runs on the job as it is then (a concurrent change cannot slip in between). */
function withSchedule(f: JobsFramework, id: string, schedule: JobSchedule | undefined, check: (job: Job) => void): Promise<Job> {
  return f.updateJob(id, (job) => {
    check(job);
    const { schedule: _, ...rest } = job;
    return schedule ? { ...rest, schedule } : rest;
  });
}

/** `/v1/jobs/{id}/schedules`: list and add (a job has at most one); `…/schedules/{sid}`: read, replace or remove it. */
function scheduleRoutes(f: JobsFramework): Route[] {
  return [
    {
      path: new RegExp(`${JOB}/schedules/?$`),
      methods: {
        GET: (_, [id]) => ({ status: 200, body: toMetronome(jobOf(f, id!)).schedules }),
        POST: async (req, [id]) => {
          const schedule = scheduleFrom(req.body, f.now());
          jobOf(f, id!);
          const job = await withSchedule(f, id!, schedule, (now) => {
            if (now.schedule) {
              throw new ApiError(409, { message: `Job '${now.id}' already has a schedule: Agora keeps one a job; change it with PUT /v1/jobs/${now.id}/schedules/${now.schedule.id ?? 'default'}` });
            }
          });
          return { status: 201, body: scheduleJson(job) };
        },
      },
    },
    {
      path: new RegExp(`${JOB}/schedules/${ID}/?$`),
      methods: {
        GET: (_, [id, sid]) => {
          const job = jobOf(f, id!);
          cronOf(job, sid!);
          return { status: 200, body: scheduleJson(job) };
        },
        PUT: async (req, [id, sid]) => {
          const schedule = scheduleFrom(req.body, f.now());
          jobOf(f, id!);
          return { status: 200, body: scheduleJson(await withSchedule(f, id!, { ...schedule, id: sid! }, (now) => cronOf(now, sid!))) };
        },
        DELETE: async (_, [id, sid]) => {
          jobOf(f, id!);
          await withSchedule(f, id!, undefined, (now) => cronOf(now, sid!));
          return { status: 200 };
        },
      },
    },
  ];
}

/**
 * `/v1/jobs/{id}/runs`: list and start one now; `…/runs/{runId}`: read one, stop it, or read
 * its output (`/logs`); and `/v1/jobs/{id}/history`, every run and missed occurrence.
 */
function runRoutes(deps: MetronomeDeps): Route[] {
  const f = deps.framework;
  return [
    {
      path: new RegExp(`${JOB}/runs/?$`),
      methods: {
        GET: (req, [id]) => {
          jobOf(f, id!);
          const runs = flag(req.url, 'all') ? f.runsOf(id!) : f.runsOf(id!).filter(isActive);
          return { status: 200, body: newestFirst(runs).map(runJson) };
        },
        POST: async (_, [id]) => {
          const run = await f.runNow(id!);
          return { status: 201, body: runJson(run), headers: { Location: `/v1/jobs/${encodeURIComponent(run.jobId)}/runs/${encodeURIComponent(run.runId)}` } };
        },
      },
    },
    { path: new RegExp(`${JOB}/runs/${ID}/?$`), methods: { GET: (_, [id, runId]) => ({ status: 200, body: runJson(runOf(f, id!, runId!)) }) } },
    {
      path: new RegExp(`${JOB}/runs/${ID}/actions/stop/?$`),
      methods: { POST: async (_, [id, runId]) => ({ status: 200, body: runJson(await f.stopRun(id!, runId!)) }) },
    },
    { path: new RegExp(`${JOB}/runs/${ID}/logs/?$`), methods: { GET: (req, [id, runId]) => runLogs(deps, runOf(f, id!, runId!), req.url) } },
    { path: new RegExp(`${JOB}/history/?$`), methods: { GET: (_, [id]) => ({ status: 200, body: agoraHistory(f, jobOf(f, id!).id) }) } },
  ];
}

/** `embed=a&embed=b` or `embed=a,b`; an unknown one is refused, naming those there are. */
function embedsOf(url: URL): Set<Embed> {
  const asked = url.searchParams.getAll('embed').flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e !== '');
  const unknown = asked.filter((e) => !(EMBEDS as readonly string[]).includes(e));
  if (unknown.length > 0) throw new ApiError(400, { message: `unknown embed ${unknown.map((e) => `'${e}'`).join(', ')}: choose from ${EMBEDS.join(', ')}` });
  return new Set(asked as Embed[]);
}

/**
 * The job a PUT asks for: the body, with the path's id (a different one in the body is
 * refused), and the stored schedule when the body names none.
 */
function replacement(f: JobsFramework, req: Request, id: string): Job {
  const body = req.body;
  if (isObject(body) && body.id !== undefined && body.id !== id) {
    throw invalid([{ path: '/id', errors: [`the body's id ${JSON.stringify(body.id)} is not the job's id in the path, '${id}'`] }]);
  }
  const parsed = parseMetronomeJob(isObject(body) ? { ...body, id } : body, f.now());
  if (!parsed.ok) throw invalid(parsed.details);
  const old = f.state.jobs.get(id);
  const stored = old?.schedule;
  if (isObject(body) && body.schedules === undefined && stored) return { ...parsed.job, schedule: stored };
  if (old?.dialect === 'chronos') {
    // A job written in Chronos's words, sent back by a Metronome client: what Metronome's JSON
    // cannot say (a repeating schedule, retries, softError, owner, disabled) is kept, not reset.
    const keepSchedule = stored?.kind === 'iso8601' && !parsed.job.schedule;
    return {
      ...parsed.job, dialect: 'chronos', retries: old.retries, softError: old.softError, disabled: old.disabled,
      ...(old.owner !== undefined ? { owner: old.owner } : {}), ...(keepSchedule ? { schedule: stored } : {}),
    };
  }
  return parsed.job;
}

/**
 * A ScheduleSpec (`/schedules` bodies), checked as a job's schedule is; problems at paths
 * relative to the schedule (`/cron`, `/timezone`), as Metronome reports them there.
 */
function scheduleFrom(body: unknown, now: number): JobSchedule {
  if (!isObject(body)) throw invalid([{ path: '/', errors: ['expected a schedule: {id, cron, timezone, concurrencyPolicy, startingDeadlineSeconds, enabled}'] }]);
  const parsed = parseMetronomeJob({ id: 'schedule', run: { cmd: 'true' }, schedules: [body] }, now);
  if (!parsed.ok) throw invalid(parsed.details.map((d) => ({ ...d, path: d.path.replace(/^\/schedules\(0\)/, '') || '/' })));
  return parsed.job.schedule!;
}

/** `…/runs/{runId}/logs?file=stdout|stderr&attempt=N`: an attempt's output (default: the last attempt), read through the master. */
async function runLogs(deps: MetronomeDeps, run: RunRecord, url: URL): Promise<Reply> {
  const file = url.searchParams.get('file') ?? 'stdout';
  if (file !== 'stdout' && file !== 'stderr') throw new ApiError(400, { message: `file must be stdout or stderr, got '${file}'` });
  const n = run.attempts.length;
  if (n === 0) throw new ApiError(404, { message: `Run '${run.runId}' of job '${run.jobId}' has not been launched: it has no output` });
  const asked = url.searchParams.get('attempt');
  const k = asked === null || asked === '' ? n : Number(asked);
  if (!Number.isSafeInteger(k) || k < 1 || k > n) {
    throw new ApiError(404, { message: `Run '${run.runId}' of job '${run.jobId}' has no attempt ${asked}: it has ${n === 1 ? 'attempt 1' : `attempts 1 to ${n}`}` });
  }
  const a = run.attempts[k - 1]!;
  const reader = deps.sandbox();
  if (!reader) throw notSubscribed();
  const { text, skippedBytes } = await readSandboxFile(reader, { taskId: a.taskId, agentId: a.agentId, file });
  return {
    status: 200, text: { contentType: 'text/plain; charset=utf-8', data: text },
    ...(skippedBytes > 0 ? { headers: { 'X-Agora-Skipped-Bytes': String(skippedBytes) } } : {}),
  };
}
