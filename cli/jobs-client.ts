/**
 * The jobs framework as the CLI sees it: its address (`--jobs HOST:PORT`, `AGORA_JOBS`, else
 * `agora up`'s 127.0.0.1:4400), its Metronome and Chronos REST APIs, and its event stream, on
 * which `agora job run --wait` learns that a run ended. The wire shapes the commands read are
 * declared here, apart from how the commands show them (job-views.ts).
 */
import { clientIdentity } from '../common/security/client-config';
import { schemeFor } from '../common/security/https';
import { callJson } from './framework-http';
import { EventWatch } from './event-watch';

export const DEFAULT_JOBS = '127.0.0.1:4400';

export interface JobsAddress {
  /** `https://host:port` (`http://` on an open cluster) of the REST APIs. */
  httpUrl: string;
}

/** The framework could not be reached, or refused; the message says which and what to do. */
export class JobsCliError extends Error {
  override readonly name = 'JobsCliError';
}

export function jobsAddress(raw: string | undefined = process.env.AGORA_JOBS): JobsAddress {
  const text = (raw && raw.trim()) || DEFAULT_JOBS;
  let url: URL;
  try {
    // No scheme: HTTPS when this client trusts the cluster's CA (a locked cluster).
    url = new URL(/^[a-z]+:\/\//.test(text) ? text : `${schemeFor(clientIdentity()?.ca)}://${text}`);
  } catch {
    throw new JobsCliError(`jobs address '${text}' must be host:port, https://host:port or http://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new JobsCliError(`jobs address '${text}' must be host:port, https://host:port or http://host:port`);
  return { httpUrl: `${url.protocol}//${url.hostname}:${url.port || 4400}` };
}

/** One place in a definition and what is wrong there (the `details` of a 422 or a Chronos 400). */
export interface ValidationDetail { path: string; errors: string[] }

export interface RefusalBody { message?: string; details?: ValidationDetail[] }

/** The framework answered with an error status; the commands put it in their own words. */
export class JobsRefusal extends JobsCliError {
  constructor(readonly status: number, readonly body: RefusalBody, readonly at: string) {
    super(`the jobs framework at ${at} answered ${status}: ${body.message ?? 'no reason given'}`);
  }
}

export interface AttemptJson {
  attempt: number;
  taskId: string;
  agentId: string;
  hostname: string | null;
  state: string;
  exitCode: number | null;
  message: string | null;
}

/** A run as `/v1/jobs/{id}/runs` and `/history` answer it: Metronome's JobRun, Agora's fields under `agora`. */
export interface RunJson {
  id: string;
  jobId: string;
  status: string;
  createdAt: string | null;
  completedAt: string | null;
  agora: {
    trigger: string | null;
    scheduledAt: string | null;
    startedAt: string | null;
    message: string | null;
    exitCode: number | null;
    attempts: AttemptJson[];
    logs: { attempt: number; stdout: string; stderr: string }[];
  };
}

export interface JobJson {
  id: string;
  description?: string;
  run: { cmd?: string; args?: string[]; cpus: number; mem: number; disk: number; docker?: { image?: string }; restart?: { policy?: string; activeDeadlineSeconds?: number } };
  schedules: { id: string; cron: string; timezone: string; concurrencyPolicy: string; startingDeadlineSeconds: number; enabled: boolean; nextRunAt?: string | null }[];
  dependencies: { id: string }[];
  activeRuns?: RunJson[];
  historySummary?: { successCount: number; failureCount: number; lastSuccessAt: string | null; lastFailureAt: string | null };
  /** With embed=agora: the next run, of a cron or a Chronos schedule alike. */
  agora?: { nextRunAt: string | null };
}

/** A job as Chronos lists it: what Metronome's shape has no place for (a repeating schedule, disabled). */
export interface ChronosJobJson { name: string; schedule?: string; scheduleTimeZone?: string; disabled?: boolean; parents?: string[] }

export interface HistoryJson {
  runs: RunJson[];
  stats: { successCount: number; errorCount: number; lastSuccess: string | null; lastError: string | null; durationP50Seconds: number | null; durationP95Seconds: number | null };
  nextRunAt: string | null;
}


export class JobsClient {
  constructor(readonly addr: JobsAddress) {}

  async get<T>(path: string): Promise<T> { return (await this.call<T>('GET', path)).body; }
  async post<T>(path: string, body?: unknown): Promise<T> { return (await this.call<T>('POST', path, body)).body; }
  async put<T>(path: string, body: unknown): Promise<T> { return (await this.call<T>('PUT', path, body)).body; }
  async delete<T>(path: string): Promise<T> { return (await this.call<T>('DELETE', path)).body; }

  /** GET, with a 404 as undefined: whether something exists. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof JobsRefusal && err.status === 404) return undefined;
      throw err;
    }
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const r = await callJson({
      url: this.addr.httpUrl, method, path, body, what: 'the jobs framework',
      refusal: (status, b) => new JobsRefusal(status, b as RefusalBody, this.addr.httpUrl),
      unreachable: (err) => unreachable(this.addr, err), fail: (m) => new JobsCliError(m),
    });
    return { status: r.status, body: r.body as T };
  }

  /**
   * Listens for runs ending, from before the run is started: a run that fails to launch, or
   * runs `true`, can end before the answer that names it arrives. Resolves once the stream is open.
   */
  watchRuns(): Promise<RunWatch> {
    return RunWatch.open(this.addr);
  }
}

function unreachable(addr: JobsAddress, err: Error): JobsCliError {
  return new JobsCliError(`cannot reach the jobs framework at ${addr.httpUrl}: ${err.message} ` +
    '(is it running? `agora up` starts one on 127.0.0.1:4400; else name it with --jobs HOST:PORT or AGORA_JOBS)');
}

/** A run's end as `/v1/events` reports it (the framework's own run record). */
export interface RunEnd {
  runId: string;
  jobId: string;
  state: 'SUCCESS' | 'FAILED' | 'MISSED' | 'SKIPPED';
  exitCode?: number;
  message?: string;
  startedAt?: number;
  endedAt?: number;
}

const ENDED: ReadonlySet<string> = new Set(['SUCCESS', 'FAILED', 'MISSED', 'SKIPPED']);

/** `run_updated` events from `/v1/events`, by run id, once the run has ended. */
export class RunWatch {
  private constructor(private readonly w: EventWatch<RunEnd>) {}

  static async open(addr: JobsAddress): Promise<RunWatch> {
    return new RunWatch(await EventWatch.open<RunEnd>({
      url: `${addr.httpUrl}/v1/events`,
      pick: (event, data) => {
        if (event !== 'run_updated') return undefined;
        const run = (JSON.parse(data) as { run?: RunEnd }).run;
        return run && typeof run.runId === 'string' && ENDED.has(run.state) ? { id: run.runId, outcome: run } : undefined;
      },
      fail: (m) => new JobsCliError(`the jobs framework at ${addr.httpUrl} ${m}`),
      unreachable: (err) => unreachable(addr, err),
      endedBefore: (m, runId) => new JobsCliError(`${m} before run ${runId} ended; see agora job history`),
    }));
  }

  /** Resolves with the run's end; rejects if the stream ends first. */
  ended(runId: string): Promise<RunEnd> {
    return this.w.outcome(runId);
  }

  close(): void {
    this.w.close();
  }
}
