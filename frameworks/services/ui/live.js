// The page's copy of the framework's state, kept current by /v2/events (/ui/shared/live.js):
// any event that can change what is shown triggers one refresh of apps (with tasks), queue
// and deployments.
import { call } from './api.js';
import { startEventLive } from '/ui/shared/live.js';

/** The event types that change apps, tasks, the queue or deployments. */
const CHANGES = [
  'status_update_event', 'instance_changed_event', 'health_status_changed_event', 'unhealthy_instance_kill_event',
  'deployment_info', 'deployment_success', 'deployment_failed', 'deployment_step_success', 'app_terminated_event', 'api_post_event',
];
const KEEP_EVENTS = 100;

export function startLive(onChange) {
  const state = {
    apps: [], queue: [], deployments: [],
    /** The latest events, newest last, since the page opened. */
    events: [],
    /** Agent id → where it serves sandbox files (host:port), for the tasks' log links. */
    agents: new Map(),
  };
  let agentsServed = true;

  async function read() {
    const [apps, queue, deployments] = await Promise.all([
      call('GET', '/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure'), call('GET', '/v2/queue?embed=lastUnusedOffers'), call('GET', '/v2/deployments'),
    ]);
    const bad = [apps, queue, deployments].find((a) => !a.ok);
    if (bad) throw new Error(`the API answered ${bad.status}: ${bad.body?.message ?? ''}`);
    state.apps = apps.body.apps;
    if (state.apps.some((a) => (a.tasks ?? []).some((t) => !state.agents.has(t.slaveId)))) await readAgents();
    state.queue = queue.body.queue;
    state.deployments = deployments.body;
  }

  /**
   * Not Marathon's: `/v1/agents` ({agents: [{id, hostname, port}]}, the master's view
   * relayed) says where each agent's HTTP server is. A framework that cannot answer it (404)
   * gets tasks with the `agora logs` command instead of a link, and the page stops asking.
   */
  async function readAgents() {
    if (!agentsServed) return;
    const a = await call('GET', '/v1/agents').catch(() => undefined);
    if (a?.status === 404) agentsServed = false;
    if (a?.ok && Array.isArray(a.body?.agents)) state.agents = new Map(a.body.agents.map((x) => [x.id, `${x.hostname}:${x.port}`]));
  }

  function onEvent(event) {
    state.events.push(event);
    if (state.events.length > KEEP_EVENTS) state.events.shift();
  }

  return startEventLive({ state, read, what: 'the services API', events: '/v2/events', types: CHANGES, info: '/v2/info', onEvent }, onChange);
}
