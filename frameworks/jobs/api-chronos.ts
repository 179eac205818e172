/**
 * Chronos's `/v1/scheduler/…` over the jobs framework (REFERENCE.md, Frameworks 4), so that
 * its clients and scripts work unchanged; also at `/scheduler/…`, the prefix Chronos 2.x
 * served, which older scripts still call. Chronos answers every refusal 400 — a job that does
 * not exist included (its resources `require` the job, and an IllegalArgumentException is a
 * Bad Request) — and so does Agora here, with `{message, status, details}` where Chronos sent
 * a stack trace: the message names the field (`/schedule`, `/scheduleTimeZone`, `/cpus`,
 * `/parents`) and what would be right. Nothing changes on a refusal.
 *
 * Where Agora differs, and why:
 * - `DELETE /task/kill/{name}` of an unknown job is 400 like the rest (Chronos: 500).
 * - `/jobs/search?any=` alone matches jobs whose name or command contains it (Chronos then
 *   returned every job: its `any` only rescued jobs the other filters had refused).
 * - `PUT /job/{name}?arguments=…` is refused: a run has the job's own command (Chronos passed
 *   the arguments to that one run's command line).
 * - A job posted to `/dependency` with a schedule and no parents is 400 (Chronos: 500).
 * - `PUT /job/success/{name}` and `/stats/{percentile}` are not served (see the README).
 */
import { ApiError, type Reply } from '../shared/http';
import { intParam, refusalsAs, type Route } from './api-router';
import { byId, chronosJob, chronosStat, chronosSummary, csvGraph, dotGraph } from './api-views';
import type { JobsError, JobsFramework } from './framework';
import { parseChronosJob, type Job } from './job';
import type { Detail } from '../../common/json-schema';

const badRequest = (message: string, details?: Detail[]): ApiError =>
  new ApiError(400, { message, status: 'Bad Request', ...(details ? { details } : {}) });

const words = (details: Detail[]): string => details.map((d) => `${d.path}: ${d.errors.join('; ')}`).join('; ');

/** The framework's refusals in Chronos's words: all 400 (a job written here names its parents `/parents`). */
function chronosRefusal(e: JobsError): ApiError {
  return badRequest(e.message, e.details.length > 0 ? e.details : undefined);
}

const text = (contentType: string, data: string): Reply => ({ status: 200, text: { contentType, data } });
const NAME = '([^/]+)';

/** Chronos's routing table: the job lists, one job's writes and reads, stopping a job's runs, and the dependency graph, tried in that order. */
export function chronosRoutes(f: JobsFramework): Route[] {
  return refusalsAs([...jobListRoutes(f), ...jobRoutes(f), ...taskRoutes(f), ...graphRoutes(f)], chronosRefusal);
}

function jobOf(f: JobsFramework, name: string): Job {
  const job = f.state.jobs.get(name);
  if (!job) throw badRequest(`Job '${name}' does not exist`);
  return job;
}

/** `/jobs` (every job), `/jobs/summary` (one line a job) and `/jobs/search?name=&command=&any=&limit=&offset=`. */
function jobListRoutes(f: JobsFramework): Route[] {
  return [
    { path: /^(?:\/v1)?\/scheduler\/jobs\/?$/, methods: { GET: () => ({ status: 200, body: byId(f).map((j) => chronosJob(f, j)) }) } },
    { path: /^(?:\/v1)?\/scheduler\/jobs\/summary\/?$/, methods: { GET: () => ({ status: 200, body: chronosSummary(f) }) } },
    { path: /^(?:\/v1)?\/scheduler\/jobs\/search\/?$/, methods: { GET: (req) => ({ status: 200, body: search(f, req.url).map((j) => chronosJob(f, j)) }) } },
  ];
}

/** The jobs `/jobs/search` finds, by id: a page of `limit` from `offset`. */
function search(f: JobsFramework, url: URL): Job[] {
  const q = (name: string) => url.searchParams.get(name)?.toLowerCase() || undefined;
  const [name, command, any] = [q('name'), q('command'), q('any')];
  const limit = intParam(url, 'limit', 10);
  const offset = intParam(url, 'offset', 0);
  const matches = (j: Job): boolean => {
    const id = j.id.toLowerCase();
    const cmd = (j.cmd ?? j.args?.join(' ') ?? '').toLowerCase();
    const filtered = (!name || id.includes(name)) && (!command || cmd.includes(command));
    const anyHit = any !== undefined && (id.includes(any) || cmd.includes(any));
    if (name || command) return filtered || anyHit;   // Chronos: `any` rescues what the others refused
    return any === undefined || anyHit;
  };
  return byId(f).filter(matches).slice(offset, offset + limit);
}

/** POST /iso8601 and /dependency: create or replace (204); the route says which kind of job it takes. */
function put(f: JobsFramework, kind: 'iso8601' | 'dependency') {
  return async (req: { body: unknown }): Promise<Reply> => {
    const parsed = parseChronosJob(req.body, f.now());
    if (!parsed.ok) throw badRequest(words(parsed.details), parsed.details);
    const job = parsed.job;
    const wrong: Detail | undefined = kind === 'iso8601' && !job.schedule
      ? { path: '/schedule', errors: ['a job posted to /iso8601 needs a schedule (R[n]/<start>/<period>); a job with parents goes to /dependency'] }
      : kind === 'dependency' && job.parents.length === 0
        ? { path: '/parents', errors: ['a job posted to /dependency needs parents; a job with a schedule goes to /iso8601'] }
        : undefined;
    if (wrong) throw badRequest(words([wrong]), [wrong]);
    await f.putJob(job, 'upsert');
    return { status: 204 };
  };
}

/** Writing a job (`/iso8601`, `/dependency`), its stats (`/job/stat/{name}`), and one job: read, run now (PUT), delete. */
function jobRoutes(f: JobsFramework): Route[] {
  return [
    { path: /^(?:\/v1)?\/scheduler\/iso8601\/?$/, methods: { POST: put(f, 'iso8601') } },
    { path: /^(?:\/v1)?\/scheduler\/dependency\/?$/, methods: { POST: put(f, 'dependency'), PUT: put(f, 'dependency') } },
    { path: new RegExp(`^(?:/v1)?/scheduler/job/stat/${NAME}/?$`), methods: { GET: (_, [name]) => ({ status: 200, body: chronosStat(f, jobOf(f, name!)) }) } },
    {
      path: new RegExp(`^(?:/v1)?/scheduler/job/${NAME}/?$`),
      methods: {
        GET: (_, [name]) => ({ status: 200, body: chronosJob(f, jobOf(f, name!)) }),
        PUT: async (req, [name]) => {
          if (req.url.searchParams.get('arguments')?.trim()) {
            throw badRequest(`Agora runs a job with its own command only; ?arguments= is not supported: change the job's command (or arguments) instead`);
          }
          await f.runNow(jobOf(f, name!).id);
          return { status: 204 };
        },
        DELETE: async (_, [name]) => {
          // Chronos's DELETE takes the job's runs down with it, and gives its children its parents (or its schedule).
          await f.deleteJob(jobOf(f, name!).id, { stopCurrentJobRuns: true, reparent: true });
          return { status: 204 };
        },
      },
    },
  ];
}

/** DELETE `/task/kill/{name}`: stop every active run of the job (the job stays). */
function taskRoutes(f: JobsFramework): Route[] {
  return [
    {
      path: new RegExp(`^(?:/v1)?/scheduler/task/kill/${NAME}/?$`),
      methods: {
        DELETE: async (_, [name]) => {
          await f.killJob(jobOf(f, name!).id);
          return { status: 204 };
        },
      },
    },
  ];
}

/** `/graph/dot` and `/graph/csv`: the jobs' dependency graph in DOT or in Chronos's CSV. */
function graphRoutes(f: JobsFramework): Route[] {
  return [
    { path: /^(?:\/v1)?\/scheduler\/graph\/dot\/?$/, methods: { GET: () => text('text/plain; charset=utf-8', dotGraph(f)) } },
    { path: /^(?:\/v1)?\/scheduler\/graph\/csv\/?$/, methods: { GET: () => text('text/plain; charset=utf-8', csvGraph(f)) } },
  ];
}
