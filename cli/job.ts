/**
 * `agora job add|list|show|run|history|remove`: the jobs framework's jobs, through its
 * Metronome and Chronos REST APIs. `add` takes either dialect's JSON and sends it where that
 * dialect goes; `run --wait` follows `/v1/events` until the run ends and exits with its
 * outcome (0 SUCCESS, 1 otherwise). What the framework refuses is said in the CLI's words: a
 * 422 or a Chronos 400 as one `path: error` a line, a 409 with what to do about it.
 */
import { readFileSync } from 'fs';
import { parseArgs, UsageError } from '../common/flags';
import { validationLines } from './app-views';
import { historyText, jobSummary, jobTable, runEndText, type JobRow } from './job-views';
import {
  jobsAddress, JobsCliError, JobsClient, JobsRefusal,
  type ChronosJobJson, type HistoryJson, type JobJson, type RunJson,
} from './jobs-client';

export interface JobIo {
  /** The command's answer. */
  out: (line: string) => void;
  /** Progress for people (stderr), such as what `--wait` waits for. */
  note: (line: string) => void;
  /** The job definition for `agora job add -`; default: all of stdin. */
  readStdin?: () => Promise<string>;
}

const SUBCOMMANDS = 'add, list, show, run, history or remove';
const LIST = '/v1/jobs?embed=activeRuns&embed=historySummary&embed=agora';

export function job(argv: string[], io: JobIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'add': return add(rest, io);
    case 'list': return list(rest, io);
    case 'show': return show(rest, io);
    case 'run': return run(rest, io);
    case 'history': return history(rest, io);
    case 'remove': return remove(rest, io);
    case undefined: throw new UsageError(`agora job needs a subcommand: ${SUBCOMMANDS}`);
    default: throw new UsageError(`unknown subcommand 'agora job ${sub}'; use ${SUBCOMMANDS}`);
  }
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
  const definition = await readDefinition(file, io);
  const api = client(flags.jobs);
  const d = definition as Record<string, unknown>;
  if (typeof d.name === 'string' && d.id === undefined) {
    const parents = Array.isArray(d.parents) && d.parents.length > 0;
    const path = parents ? '/v1/scheduler/dependency' : '/v1/scheduler/iso8601';
    const existed = await api.find(jobPath(d.name));
    await refusing(api, `job ${d.name}`, () => api.post(path, definition));
    io.out(`job ${d.name} ${existed ? 'replaced' : 'created'} (Chronos, ${path})`);
    return 0;
  }
  if (typeof d.id !== 'string' || typeof d.run !== 'object' || d.run === null) {
    throw new JobsCliError(`${where(file)} is neither a Metronome job (id and run) nor a Chronos job (name)`);
  }
  const id = d.id;
  if (await api.find(jobPath(id))) {
    await refusing(api, `job ${id}`, () => api.put(jobPath(id), definition));
    io.out(`job ${id} replaced`);
  } else {
    await refusing(api, `job ${id}`, () => api.post('/v1/jobs', definition));
    io.out(`job ${id} created`);
  }
  return 0;
}

async function list(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string', json: 'boolean' }, { positional: true });
  if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}': use agora job list [--json], or agora job show <id>`);
  const api = client(flags.jobs);
  const jobs = await api.get<JobJson[]>(LIST);
  if (flags.json) {
    io.out(JSON.stringify(jobs, null, 2));
    return 0;
  }
  const chronos = await chronosJobs(api);
  const rows: JobRow[] = jobs.map((j) => {
    const c = chronos.get(j.id);
    return { job: j, ...(c ? { chronos: c } : {}), nextRunAt: j.agora?.nextRunAt ?? null };
  });
  io.out(jobTable(rows));
  return 0;
}

async function show(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string', json: 'boolean' }, { positional: true });
  const id = oneId(positional, 'agora job show needs one job id, e.g. agora job show nightly');
  const api = client(flags.jobs);
  const found = await refusing(api, `job ${id}`, () => api.get<JobJson>(jobPath(id, '?embed=activeRuns&embed=historySummary')));
  if (flags.json) {
    io.out(JSON.stringify(found, null, 2));
    return 0;
  }
  const [h, chronos] = await Promise.all([api.get<HistoryJson>(jobPath(id, '/history')), chronosJobs(api)]);
  io.out(jobSummary(found, h, chronos.get(id)));
  return 0;
}

async function run(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string', wait: 'boolean' }, { positional: true });
  const id = oneId(positional, 'agora job run needs one job id, e.g. agora job run nightly');
  const api = client(flags.jobs);
  const watch = flags.wait ? await api.watchRuns() : undefined;
  try {
    const started = await refusing(api, `job ${id}`, () => api.post<RunJson>(jobPath(id, '/runs')));
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
  const api = client(flags.jobs);
  const h = await refusing(api, `job ${id}`, () => api.get<HistoryJson>(jobPath(id, '/history')));
  io.out(flags.json ? JSON.stringify(h, null, 2) : historyText(id, h, api.addr.httpUrl));
  return 0;
}

async function remove(argv: string[], io: JobIo): Promise<number> {
  const { flags, positional } = parseArgs(argv, { jobs: 'string', force: 'boolean' }, { positional: true });
  const id = oneId(positional, 'agora job remove needs one job id, e.g. agora job remove nightly');
  const api = client(flags.jobs);
  await refusing(api, `job ${id}`, () => api.delete(jobPath(id, flags.force ? '?stopCurrentJobRuns=true' : '')));
  io.out(`job ${id} removed${flags.force ? ' (its active runs stopped)' : ''}`);
  return 0;
}

/** Runs one call to the API, putting a refusal in words that say what to do about it. */
async function refusing<T>(api: JobsClient, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof JobsRefusal)) throw err;
    const message = err.body.message ?? `status ${err.status}`;
    switch (err.status) {
      case 422: case 400:
        throw new JobsCliError([`${what} was refused: ${message}`, ...validationLines(err.body.details ?? []).map((l) => `  ${l}`)].join('\n'));
      case 404:
        throw new JobsCliError(`${message} at the jobs framework ${api.addr.httpUrl} (see agora job list)`);
      case 409:
        if (/active run/.test(message)) throw new JobsCliError(`${what}: ${message.replace(/\. Override with stopCurrentJobRuns=true$/, '')}: wait for it to end, or add --force to stop it`);
        throw new JobsCliError(`${what}: ${message}`);
      default:
        throw err;
    }
  }
}

async function chronosJobs(api: JobsClient): Promise<Map<string, ChronosJobJson>> {
  const list = await api.find<ChronosJobJson[]>('/v1/scheduler/jobs');
  return new Map((list ?? []).map((c) => [c.name, c]));
}

async function readDefinition(file: string, io: JobIo): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await (io.readStdin ?? readStdin)() : readFileSync(file, 'utf8');
  } catch (err) {
    throw new JobsCliError(`cannot read the job definition ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new JobsCliError(`${where(file)} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new JobsCliError(`${where(file)} is not a JSON object`);
  return parsed;
}

const where = (file: string) => (file === '-' ? 'the job definition on stdin' : `the job definition ${file}`);

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c: string) => { text += c; });
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

function client(raw: string | undefined): JobsClient {
  return new JobsClient(jobsAddress(raw));
}

function oneId(positional: string[], usage: string): string {
  if (positional.length !== 1 || positional[0] === '') throw new UsageError(usage);
  return positional[0]!;
}

const jobPath = (id: string, sub = '') => `/v1/jobs/${encodeURIComponent(id)}${sub}`;
