// The page's copy of the framework's state, kept current by /v2/events: any event that can
// change what is shown triggers one refresh of apps (with tasks), queue and deployments.
// Re-reading is simpler than patching the copy from events and cannot drift from the API.
import { call } from './api.js';

/** The event types that change apps, tasks, the queue or deployments. */
const CHANGES = [
  'status_update_event', 'instance_changed_event', 'health_status_changed_event', 'unhealthy_instance_kill_event',
  'deployment_info', 'deployment_success', 'deployment_failed', 'deployment_step_success', 'app_terminated_event', 'api_post_event',
];
/** Events arrive in bursts (a launch is a status update and an instance change): one refresh each burst. */
const COALESCE_MS = 50;
/** Only a safety net for a stream that silently stalled: events do the real work. */
const FALLBACK_REFRESH_MS = 30_000;
const KEEP_EVENTS = 100;

export function startLive(onChange) {
  const state = {
    apps: [], queue: [], deployments: [], info: undefined,
    loaded: false, error: undefined, streaming: false,
    /** The latest events, newest last, since the page opened. */
    events: [],
    /** Agent id → where it serves sandbox files (host:port), for the tasks' log links. */
    agents: new Map(),
  };
  let agentsServed = true;
  let inFlight;
  let queued;
  let timer;

  /**
   * Resolves once a read that started after the call is shown: a caller that just changed
   * something (a scale, a delete) must not be answered by a read from before its change.
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
      const [apps, queue, deployments] = await Promise.all([
        call('GET', '/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure'), call('GET', '/v2/queue?embed=lastUnusedOffers'), call('GET', '/v2/deployments'),
      ]);
      const bad = [apps, queue, deployments].find((a) => !a.ok);
      if (bad) throw new Error(`the API answered ${bad.status}: ${bad.body?.message ?? ''}`);
      state.apps = apps.body.apps;
      if (state.apps.some((a) => (a.tasks ?? []).some((t) => !state.agents.has(t.slaveId)))) await loadAgents();
      state.queue = queue.body.queue;
      state.deployments = deployments.body;
      state.loaded = true;
      state.error = undefined;
    } catch (err) {
      state.error = `cannot read the services API: ${err.message}`;
    }
    onChange(state);
  }

  /**
   * Not Marathon's: `/v1/agents` ({agents: [{id, hostname, port}]}, the master's view
   * relayed) says where each agent's HTTP server is. A framework that cannot answer it (404)
   * gets tasks with the `agora logs` command instead of a link, and the page stops asking.
   */
  async function loadAgents() {
    if (!agentsServed) return;
    const a = await call('GET', '/v1/agents').catch(() => undefined);
    if (a?.status === 404) agentsServed = false;
    if (a?.ok && Array.isArray(a.body?.agents)) state.agents = new Map(a.body.agents.map((x) => [x.id, `${x.hostname}:${x.port}`]));
  }

  async function loadInfo() {
    const info = await call('GET', '/v2/info').catch(() => undefined);
    if (info?.ok) { state.info = info.body; onChange(state); }
  }

  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), COALESCE_MS);
  };

  const stream = new EventSource('/v2/events');
  stream.addEventListener('open', () => {
    state.streaming = true;
    // Whatever happened while the stream was down is read now; the framework id may be new.
    void loadInfo();
    void refresh();
  });
  stream.addEventListener('error', () => { state.streaming = false; onChange(state); });
  for (const type of CHANGES) {
    stream.addEventListener(type, (e) => {
      try {
        state.events.push(JSON.parse(e.data));
        if (state.events.length > KEEP_EVENTS) state.events.shift();
      } catch { /* a malformed event still says something changed */ }
      soon();
    });
  }
  setInterval(() => void refresh(), FALLBACK_REFRESH_MS);
  void refresh();
  void loadInfo();

  return { state, refresh };
}
