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
  };

  async function read() {
    const [apps, queue, deployments] = await Promise.all([
      call('GET', '/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure'), call('GET', '/v2/queue?embed=lastUnusedOffers'), call('GET', '/v2/deployments'),
    ]);
    const bad = [apps, queue, deployments].find((a) => !a.ok);
    if (bad) throw new Error(`the API answered ${bad.status}: ${bad.body?.message ?? ''}`);
    state.apps = apps.body.apps;
    state.queue = queue.body.queue;
    state.deployments = deployments.body;
  }

  function onEvent(event) {
    state.events.push(event);
    if (state.events.length > KEEP_EVENTS) state.events.shift();
  }

  return startEventLive({ state, read, what: 'the services API', events: '/v2/events', types: CHANGES, info: '/v2/info', onEvent }, onChange);
}
