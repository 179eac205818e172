/**
 * `agora job add|list|show|run|history|remove`: the jobs framework's jobs, through its
 * Metronome and Chronos REST APIs. `add` takes either dialect's JSON and sends it where that
 * dialect goes; `run --wait` follows `/v1/events` until the run ends and exits with its
 * outcome (0 SUCCESS, 1 otherwise). What the framework refuses is said in the CLI's words: a
 * 422 or a Chronos 400 as one `path: error` a line, a 409 with what to do about it.
 */
import { parseArgs, UsageError } from '../common/flags';
import { FrameworkCliError } from './framework-client';
import { definitionName, dispatch, print, readDefinition, refusing as refusingWith, type CommandIo } from './framework-command';
import { historyText, jobSummary, jobTable, runEndText, type JobRow } from './job-views';
import { JobsClient, type ChronosJobJson, type HistoryJson, type JobJson, type RunJson } from './jobs-client';

export type JobIo = CommandIo;

const LIST = '/v1/jobs?embed=activeRuns&embed=historySummary&embed=agora';

export function job(argv: string[], io: JobIo): Promise<number> {
  return dispatch('job', { add, list, show, run, history, remove }, argv, io);
}

/**
 * Metronome's JSON (`id` and `run`) is created with POST /v1/jobs, or replaces the job with
 * PUT when it exists; Chronos's (`name`) goes to /v1/scheduler/dependency when it has parents,
 * else /v1/scheduler/iso8601, which create or replace.
 */
async function add(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string' }, { positional: true });
  if (positional.length !== 1) throw new UsageError('agora job add needs one job definition: a JSON file, or - for stdin');
  const file = positional[0]!;
  const definition = await readDefinition('job', file, io);
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) throw new FrameworkCliError(`${definitionName('job', file)} is not a JSON object`);
  const api = new JobsClient(flags.jobs);
  const d = definition as Record<string, unknown>;
  if (typeof d.name === 'string' && d.id === undefined) {
    const parents = Array.isArray(d.parents) && d.parents.length > 0;
    const path = parents ? '/v1/scheduler/dependency' : '/v1/scheduler/iso8601';
    const existed = await api.find(jobPath(d.name));
    await refusing(`job ${d.name}`, () => api.post(path, definition));
    io.out(`job ${d.name} ${existed ? 'replaced' : 'created'} (Chronos, ${path})`);
    return 0;
  }
  if (typeof d.id !== 'string' || typeof d.run !== 'object' || d.run === null) {
    throw new FrameworkCliError(`${definitionName('job', file)} is neither a Metronome job (id and run) nor a Chronos job (name)`);
  }
  const id = d.id;
  if (await api.find(jobPath(id))) {
    await refusing(`job ${id}`, () => api.put(jobPath(id), definition));
    io.out(`job ${id} replaced`);
  } else {
    await refusing(`job ${id}`, () => api.post('/v1/jobs', definition));
    io.out(`job ${id} created`);
  }
  return 0;
}

async function list(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string', json: 'boolean' }, { positional: true });
  if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}': use agora job list [--json], or agora job show <id>`);
  const api = new JobsClient(flags.jobs);
  const jobs = await api.get<JobJson[]>(LIST);
  return print(io, flags.json, jobs, async () => {
    const chronos = await chronosJobs(api);
    const rows: JobRow[] = jobs.map((j) => {
      const c = chronos.get(j.id);
      return { job: j, ...(c ? { chronos: c } : {}), nextRunAt: j.agora?.nextRunAt ?? null };
    });
    return jobTable(rows);
  });
}

async function show(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string', json: 'boolean' }, { positional: true });
  const id = oneId(positional, 'agora job show needs one job id, e.g. agora job show nightly');
  const api = new JobsClient(flags.jobs);
  const found = await refusing(`job ${id}`, () => api.get<JobJson>(jobPath(id, '?embed=activeRuns&embed=historySummary')));
  return print(io, flags.json, found, async () => {
    const [h, chronos] = await Promise.all([api.get<HistoryJson>(jobPath(id, '/history')), chronosJobs(api)]);
    return jobSummary(found, h, chronos.get(id));
  });
}

async function run(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string', wait: 'boolean' }, { positional: true });
  const id = oneId(positional, 'agora job run needs one job id, e.g. agora job run nightly');
  const api = new JobsClient(flags.jobs);
  const watch = flags.wait ? await api.watchRuns() : undefined;
  try {
    const started = await refusing(`job ${id}`, () => api.post<RunJson>(jobPath(id, '/runs')));
    io.out(`run ${started.id} of job ${id} started`);
    if (!watch) return 0;
    io.note(`waiting for run ${started.id} to end (Ctrl-C stops waiting, not the run)`);
    const end = await watch.ended(started.id);
    io.out(runEndText(end));
    const n = (await api.find<RunJson>(jobPath(id, `/runs/${encodeURIComponent(started.id)}`)))?.agora.logs.at(-1);
    if (n) io.out(`stdout: ${api.addr.httpUrl}${n.stdout}`);
    return end.state === 'SUCCESS' ? 0 : 1;
  } finally {
    watch?.close();
  }
}

async function history(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string', json: 'boolean' }, { positional: true });
  const id = oneId(positional, 'agora job history needs one job id, e.g. agora job history nightly');
  const api = new JobsClient(flags.jobs);
  const h = await refusing(`job ${id}`, () => api.get<HistoryJson>(jobPath(id, '/history')));
  return print(io, flags.json, h, () => historyText(id, h, api.addr.httpUrl));
}

async function remove(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string', force: 'boolean' }, { positional: true });
  const id = oneId(positional, 'agora job remove needs one job id, e.g. agora job remove nightly');
  const api = new JobsClient(flags.jobs);
  await refusing(`job ${id}`, () => api.delete(jobPath(id, flags.force ? '?stopCurrentJobRuns=true' : '')));
  io.out(`job ${id} removed${flags.force ? ' (its active runs stopped)' : ''}`);
  return 0;
}

/** `refusing` (framework-command.ts) with the jobs framework's 409s: an active run in the way, or an id taken. */
function refusing<T>(what: string, call: () => Promise<T>): Promise<T> {
  return refusingWith(call, {
    what, list: 'agora job list',
    conflict: (_, message) => new FrameworkCliError(/active run/.test(message)
      ? `${what}: ${message.replace(/\. Override with stopCurrentJobRuns=true$/, '')}: wait for it to end, or add --force to stop it`
      : `${what}: ${message}`),
  });
}

async function chronosJobs(api: JobsClient): Promise<Map<string, ChronosJobJson>> {
  const list = await api.find<ChronosJobJson[]>('/v1/scheduler/jobs');
  return new Map((list ?? []).map((c) => [c.name, c]));
}

function oneId(positional: string[], usage: string): string {
  if (positional.length !== 1 || positional[0] === '') throw new UsageError(usage);
  return positional[0]!;
}

const jobPath = (id: string, sub = '') => `/v1/jobs/${encodeURIComponent(id)}${sub}`;
