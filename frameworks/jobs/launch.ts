/**
 * A run's attempt as a task, and which offers take which runs. Pure.
 *
 * Task ids are `<job id>.<run id>.<attempt>`: an operator reading the master's task list sees
 * whose task it is, and the run it belongs to is read back from the id.
 *
 * A task's environment tells the command what it is running for: AGORA_JOB_ID, AGORA_RUN_ID,
 * AGORA_RUN_ATTEMPT (1, 2, … across retries), AGORA_SCHEDULED_AT (the occurrence, ISO 8601,
 * when the run is for one), and CHRONOS_JOB_NAME, which Chronos users' scripts read.
 */
import { contains, format, subtract, type Resources } from '../../common/resources';
import type { ContainerInfo, Offer, TaskInfo } from '../../common/types';
import { taskResources } from '../sdk';
import { fullMatch, userPatternProblem } from '../shared/user-pattern';
import type { Job, JobConstraint } from './job';
import type { RunRecord } from './history';

export function taskIdOf(jobId: string, runId: string, attempt: number): string {
  return `${jobId}.${runId}.${attempt}`;
}

/** The job and run a task id names, or undefined for one not made by `taskIdOf`. */
export function runOfTask(taskId: string): { jobId: string; runId: string; attempt: number } | undefined {
  const m = /^(.+)\.([0-9]{14}[a-z0-9]{5})\.([0-9]+)$/.exec(taskId);
  return m ? { jobId: m[1]!, runId: m[2]!, attempt: Number(m[3]) } : undefined;
}

/** A run id as Metronome makes them: the UTC time to the second, then five random characters. */
export function runIdAt(now: number, random: string): string {
  const suffix = random.toLowerCase().replace(/[^a-z0-9]/g, '').padEnd(5, '0').slice(0, 5);
  return new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14) + suffix;
}

function resourcesOf(job: Job): Resources {
  return taskResources({ cpus: job.cpus, mem: job.mem, disk: job.disk, gpus: job.gpus });
}

export function taskFor(job: Job, run: RunRecord, attempt: number, offer: Pick<Offer, 'agentId'>): TaskInfo {
  // Volumes go with the task whatever its container, never dropped: a job is refused volumes
  // without an image (job.ts), but were one stored so, its agent mounts them or says why not.
  const container: ContainerInfo = {
    ...(job.image ? { type: 'DOCKER', docker: { image: job.image, portMappings: [], forcePullImage: job.forcePullImage } } : { type: 'DEFAULT' }),
    ...(job.volumes?.length ? { volumes: job.volumes.map((v) => ({ ...v })) } : {}),
  };
  const env: Record<string, string> = {
    ...job.env, AGORA_JOB_ID: job.id, AGORA_RUN_ID: run.runId, AGORA_RUN_ATTEMPT: String(attempt), CHRONOS_JOB_NAME: job.id,
    ...(run.scheduledAt !== undefined ? { AGORA_SCHEDULED_AT: new Date(run.scheduledAt).toISOString() } : {}),
  };
  const shell = job.cmd !== undefined;
  return {
    taskId: taskIdOf(job.id, run.runId, attempt),
    name: `${job.id} ${run.runId}`,
    agentId: offer.agentId,
    resources: resourcesOf(job),
    command: { value: shell ? job.cmd ?? '' : '', argv: shell ? [] : job.args ?? [], environment: env, user: job.user ?? '' },
    container,
    labels: { ...job.labels, 'agora.job': job.id, 'agora.run': run.runId },
  };
}

/** Why an offer cannot take a job by its constraints, or undefined when it can. */
export function constraintProblem(offer: Pick<Offer, 'hostname' | 'attributes'>, constraints: readonly JobConstraint[]): string | undefined {
  for (const c of constraints) {
    // Only a job stored before patterns were checked on submission has one RE2 refuses:
    // its runs wait, saying why, rather than UNLIKE holding everywhere.
    const bad = c.operator === 'IS' ? undefined : userPatternProblem(c.value);
    if (bad !== undefined) return `${c.attribute} ${c.operator}: ${bad}`;
    const value = c.attribute === 'hostname' ? offer.hostname : offer.attributes[c.attribute];
    const ok = c.operator === 'IS' ? value === c.value
      : c.operator === 'LIKE' ? value !== undefined && fullMatch(c.value, value)
        : value === undefined || !fullMatch(c.value, value);
    if (!ok) return `${c.attribute} ${c.operator} ${c.value} does not hold on ${offer.hostname} (${c.attribute}=${value ?? 'unset'})`;
  }
  return undefined;
}

export interface Placed { offerId: string; runId: string; jobId: string; attempt: number; task: TaskInfo; hostname: string }

/**
 * Each waiting run (in order) to the first offer that has room for it and meets its
 * constraints. `refusals` says, per offer left unused, why the first run that wanted it could
 * not have it (for the master's offer log).
 */
export function placeRuns(offers: readonly Offer[], waiting: readonly { job: Job; run: RunRecord }[]): { placed: Placed[]; refusals: Map<string, string> } {
  const left = new Map(offers.map((o) => [o.id, o.resources]));
  const placed: Placed[] = [];
  const refusals = new Map<string, string>();
  for (const { job, run } of waiting) {
    const need = resourcesOf(job);
    for (const offer of offers) {
      const room = left.get(offer.id)!;
      const problem = constraintProblem(offer, job.constraints)
        ?? (contains(room, need) ? undefined : `${offer.hostname} has ${format(room)} left, job ${job.id} needs ${format(need)}`);
      if (problem) {
        if (!refusals.has(offer.id)) refusals.set(offer.id, problem);
        continue;
      }
      const attempt = run.attempts.length + 1;
      placed.push({ offerId: offer.id, runId: run.runId, jobId: job.id, attempt, task: taskFor(job, run, attempt, offer), hostname: offer.hostname });
      left.set(offer.id, subtract(room, need));
      break;
    }
  }
  for (const p of placed) refusals.delete(p.offerId);
  return { placed, refusals };
}
