/**
 * The jobs framework as the CLI sees it: its address (`--jobs HOST:PORT`, `AGORA_JOBS`, else
 * `agora up`'s 127.0.0.1:4400), its Metronome and Chronos REST APIs, and its event stream, on
 * which `agora job run --wait` learns that a run ended. The wire shapes the commands read are
 * declared here, apart from how the commands show them (job-views.ts); the calls themselves
 * are framework-client.ts's.
 */
import { FrameworkClient, frameworkAddress } from './framework-client';
import type { EventWatch } from './event-watch';

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
  run: { cmd?: string; args?: string[]; cpus: number; mem: number; disk: number; docker?: { image?: string }; volumes?: { containerPath: string; hostPath: string; mode: string }[]; restart?: { policy?: string; activeDeadlineSeconds?: number } };
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


export class JobsClient extends FrameworkClient {
  constructor(raw?: string) {
    super('jobs', frameworkAddress('jobs', raw));
  }

  /**
   * Listens for runs ending, from before the run is started: a run that fails to launch, or
   * runs `true`, can end before the answer that names it arrives. Resolves once the stream is open.
   */
  async watchRuns(): Promise<RunWatch> {
    return new RunWatch(await this.watch<RunEnd>('/v1/events', (event, data) => {
      if (event !== 'run_updated') return undefined;
      const run = (JSON.parse(data) as { run?: RunEnd }).run;
      return run && typeof run.runId === 'string' && ENDED.has(run.state) ? { id: run.runId, outcome: run } : undefined;
    }, (m, runId) => `${m} before run ${runId} ended; see agora job history`));
  }
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
  constructor(private readonly w: EventWatch<RunEnd>) {}

  /** Resolves with the run's end; rejects if the stream ends first. */
  ended(runId: string): Promise<RunEnd> {
    return this.w.outcome(runId);
  }

  close(): void {
    this.w.close();
  }
}
