// The page's copy of the framework's state, kept current by /v1/events (/ui/shared/live.js):
// every event (a job stored or deleted, a run made or moved on) triggers one re-read of the
// jobs list, and counts as a new revision of its job, so a job's page knows to read that
// job's history again.
import { call } from './api.js';
import { startEventLive } from '/ui/shared/live.js';

const LIST = '/v1/jobs?embed=activeRuns&embed=history&embed=historySummary&embed=schedules&embed=agora';

export function startLive(onChange) {
  const state = {
    /** Metronome's jobs, each with `chronos`: the same job as Chronos answers it (its ISO 8601 schedule, disabled, parents). */
    jobs: [],
    /** job id → a number that grows with every event about the job. */
    revisions: new Map(),
    /** job id → its newest run record from the event stream (the internal RunRecord). */
    lastRunEvent: new Map(),
  };
  let chronosServed = true;

  async function read() {
    const [jobs, chronos] = await Promise.all([call('GET', LIST), chronosServed ? call('GET', '/v1/scheduler/jobs') : undefined]);
    if (!jobs.ok) throw new Error(`the API answered ${jobs.status}: ${jobs.body?.message ?? ''}`);
    if (chronos?.status === 404) chronosServed = false;
    const byName = new Map(chronos?.ok && Array.isArray(chronos.body) ? chronos.body.map((c) => [c.name, c]) : []);
    const list = jobs.body.map((j) => ({ ...j, chronos: byName.get(j.id) }));
    state.jobs = list.sort((a, b) => a.id.localeCompare(b.id));
  }

  function onEvent(event) {
    const id = event.job?.id ?? event.jobId ?? event.run?.jobId;
    if (event.run) state.lastRunEvent.set(event.run.jobId, event.run);
    if (id !== undefined) state.revisions.set(id, (state.revisions.get(id) ?? 0) + 1);
  }

  return startEventLive({
    state, read, what: 'the jobs API', events: '/v1/events', types: ['job_updated', 'job_deleted', 'run_updated'], info: '/v1/info', onEvent,
    // Every page re-reads its job.
    onOpen: () => { for (const id of state.revisions.keys()) state.revisions.set(id, state.revisions.get(id) + 1); },
  }, onChange);
}
