// The job actions of the list and of a job's page — Run now, Stop, Delete — as one call each
// that says, in words, what happened (or the refusal, for problemView).
import { callSafe, jobPath, problemOf, runPath } from './api.js';
import { isActiveRun } from './model.js';

/** POST /v1/jobs/{id}/runs → `{ ok, text }` or `{ ok: false, problem }`. */
export async function runNow(id) {
  const a = await callSafe('POST', jobPath(id, '/runs'));
  return a.ok ? { ok: true, text: `Started run ${a.body?.id ?? ''} of ${id}`, runId: a.body?.id } : { ok: false, problem: problemOf(a) };
}

/** Stops every active run of the job; a run that ended meanwhile is no failure. */
export async function stopRuns(job) {
  const runs = (job.activeRuns ?? []).filter(isActiveRun);
  if (runs.length === 0) return { ok: true, text: `${job.id} has no active run` };
  const answers = await Promise.all(runs.map((r) => callSafe('POST', runPath(job.id, r.id, '/actions/stop'))));
  const bad = answers.find((a) => !a.ok && a.status !== 404);
  if (bad) return { ok: false, problem: problemOf(bad) };
  return { ok: true, text: `Stopping ${runs.map((r) => r.id).join(', ')} of ${job.id}` };
}

/**
 * Deletes the job, stopping its runs (the question said so). Jobs depending on it make the
 * API refuse (409), as Metronome does; `reparent` deletes it the Chronos way instead: its
 * children take its parents, or its schedule.
 */
export async function removeJob(id, { reparent = false } = {}) {
  const a = reparent
    ? await callSafe('DELETE', `/v1/scheduler/job/${encodeURIComponent(id)}`)
    : await callSafe('DELETE', jobPath(id, '?stopCurrentJobRuns=true'));
  return a.ok ? { ok: true, text: `Deleted ${id}` } : { ok: false, problem: problemOf(a) };
}
