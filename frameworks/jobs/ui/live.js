// The page's copy of the framework's state, kept current by /v1/events: every event (a job
// stored or deleted, a run made or moved on) triggers one re-read of the jobs list, and counts
// as a new revision of its job, so a job's page knows to read that job's history again.
// Re-reading is simpler than patching the copy from events and cannot drift from the API.
import { call } from './api.js';

const TYPES = ['job_updated', 'job_deleted', 'run_updated'];
/** Events arrive in bursts (a run's launch is several updates): one refresh each burst. */
const COALESCE_MS = 50;
/** Only a safety net for a stream that silently stalled; also moves "in 3 min" along. */
const FALLBACK_REFRESH_MS = 30_000;
const LIST = '/v1/jobs?embed=activeRuns&embed=history&embed=historySummary&embed=schedules&embed=agora';

export function startLive(onChange) {
  const state = {
    /** Metronome's jobs, each with `chronos`: the same job as Chronos answers it (its ISO 8601 schedule, disabled, parents). */
    jobs: [], loaded: false, error: undefined, streaming: false, info: undefined,
    /** job id → a number that grows with every event about the job. */
    revisions: new Map(),
    /** job id → its newest run record from the event stream (the internal RunRecord). */
    lastRunEvent: new Map(),
  };
  let chronosServed = true;
  let inFlight;
  let queued;
  let timer;

  /**
   * Resolves once a read that started after the call is shown: a caller that just changed
   * something (a run started, a job deleted) must not be answered by a read from before it.
   */
  function refresh() {
    if (!inFlight) {
      inFlight = load().finally(() => { inFlight = undefined; });
      return inFlight;
    }
    queued ??= inFlight.then(() => { queued = undefined; return refresh(); });
    return queued;
  }

  async function load() {
    try {
      const [jobs, chronos] = await Promise.all([call('GET', LIST), chronosServed ? call('GET', '/v1/scheduler/jobs') : undefined]);
      if (!jobs.ok) throw new Error(`the API answered ${jobs.status}: ${jobs.body?.message ?? ''}`);
      if (chronos?.status === 404) chronosServed = false;
      const byName = new Map(chronos?.ok && Array.isArray(chronos.body) ? chronos.body.map((c) => [c.name, c]) : []);
      const list = jobs.body.map((j) => ({ ...j, chronos: byName.get(j.id) }));
      state.jobs = list.sort((a, b) => a.id.localeCompare(b.id));
      state.loaded = true;
      state.error = undefined;
    } catch (err) {
      state.error = `cannot read the jobs API: ${err.message}`;
    }
    onChange(state);
  }

  async function loadInfo() {
    const info = await call('GET', '/v1/info').catch(() => undefined);
    if (info?.ok) { state.info = info.body; onChange(state); }
  }

  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), COALESCE_MS);
  };

  const stream = new EventSource('/v1/events');
  stream.addEventListener('open', () => {
    state.streaming = true;
    // Whatever happened while the stream was down is read now; every page re-reads its job.
    for (const id of state.revisions.keys()) state.revisions.set(id, state.revisions.get(id) + 1);
    void loadInfo();
    void refresh();
  });
  stream.addEventListener('error', () => { state.streaming = false; onChange(state); });
  for (const type of TYPES) {
    stream.addEventListener(type, (e) => {
      let id;
      try {
        const event = JSON.parse(e.data);
        id = event.job?.id ?? event.jobId ?? event.run?.jobId;
        if (event.run) state.lastRunEvent.set(event.run.jobId, event.run);
      } catch { /* a malformed event still says something changed */ }
      if (id !== undefined) state.revisions.set(id, (state.revisions.get(id) ?? 0) + 1);
      soon();
    });
  }
  setInterval(() => void refresh(), FALLBACK_REFRESH_MS);
  void refresh();
  void loadInfo();

  return { state, refresh };
}
