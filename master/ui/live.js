// The page's copy of the master's state: read once from /api/v1/state, then kept current by
// the operator event stream (/api/v1/events), which resumes from the state's own eventId —
// so no change falls between the read and the stream. Changes are applied by id, at most
// one render per animation frame however many arrive: 10,000 tasks stay responsive.
//
// On RESYNC (the master no longer keeps the events the page missed, or it is a new master)
// the page reads the state again and follows on from there.
import { call } from '/ui/shared/api.js';
import { scalars, taskKey } from './model.js';

/** How often values no event carries (agents' heartbeats, tasks' usage) are re-read; events do the rest. */
const POLL_MS = 30_000;

/** A GET of the master's API: its JSON, or an error naming the path and the master's own words. */
export async function getJson(path) {
  const { ok, status, body } = await call('GET', path);
  if (!ok) throw new Error(`${path} answered ${status}: ${body?.error ?? body?.message ?? ''}`);
  return body;
}

export function startLive(onChange) {
  const state = {
    master: undefined,
    agents: new Map(), frameworks: new Map(), tasks: new Map(),
    /** Outstanding offers by id: { id, frameworkId, agentId, role, resources (text), scalars, at }. */
    offers: new Map(),
    loaded: false, streaming: false, error: undefined,
    /** Grows by one per applied change: views redraw only when it moved. */
    version: 0,
  };
  const offerListeners = new Set();
  let stream;
  let frame;

  const changed = () => {
    state.version += 1;
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = undefined; onChange(state); });
  };

  function offerView(o) {
    return { id: o.id, frameworkId: o.frameworkId, agentId: o.agentId, role: o.role, resources: o.resources.text, scalars: o.resources, at: o.offeredAt };
  }

  function take(view) {
    state.master = view.master;
    state.agents = new Map(view.agents.map((a) => [a.id, a]));
    state.frameworks = new Map(view.frameworks.map((f) => [f.id, f]));
    state.tasks = new Map(view.tasks.map((t) => [taskKey(t.frameworkId, t.id), t]));
    state.offers = new Map(view.offers.map((o) => [o.id, offerView(o)]));
    state.loaded = true;
    state.error = undefined;
  }

  function apply(e) {
    switch (e.type) {
      case 'TASK_ADDED': case 'TASK_UPDATED': state.tasks.set(taskKey(e.task.frameworkId, e.task.id), e.task); break;
      case 'AGENT_ADDED': case 'AGENT_UPDATED': state.agents.set(e.agent.id, e.agent); break;
      case 'AGENT_REMOVED': state.agents.delete(e.agentId); break;
      case 'FRAMEWORK_ADDED': case 'FRAMEWORK_UPDATED': state.frameworks.set(e.framework.id, e.framework); break;
      case 'FRAMEWORK_REMOVED': state.frameworks.delete(e.frameworkId); break;
      case 'OFFER': {
        const o = e.offer;
        if (o.type === 'OFFERED') {
          state.offers.set(o.offerId, { id: o.offerId, frameworkId: o.frameworkId, agentId: o.agentId, role: o.role, resources: o.resources, scalars: scalars(o.resources), at: o.at });
        } else {
          state.offers.delete(o.offerId);
        }
        for (const l of offerListeners) l(o);
        break;
      }
      default: return;
    }
    changed();
  }

  /** Reads the state, then follows the events after it; again on RESYNC. */
  async function sync() {
    stream?.close();
    stream = undefined;
    let view;
    try {
      view = await getJson('/api/v1/state');
    } catch (err) {
      state.error = `cannot read the master's state: ${err.message}`;
      state.streaming = false;
      changed();
      setTimeout(() => void sync(), 3000);
      return;
    }
    take(view);
    changed();
    const s = new EventSource(`/api/v1/events?lastEventId=${encodeURIComponent(view.eventId ?? '')}`);
    stream = s;
    s.addEventListener('SUBSCRIBED', () => { state.streaming = true; state.error = undefined; changed(); });
    s.addEventListener('error', () => { state.streaming = false; changed(); });
    s.addEventListener('RESYNC', () => { if (stream === s) void sync(); });
    for (const type of ['TASK_ADDED', 'TASK_UPDATED', 'AGENT_ADDED', 'AGENT_UPDATED', 'AGENT_REMOVED', 'FRAMEWORK_ADDED', 'FRAMEWORK_UPDATED', 'FRAMEWORK_REMOVED', 'OFFER']) {
      s.addEventListener(type, (m) => {
        if (stream !== s) return;
        let e;
        try { e = JSON.parse(m.data); } catch { return; }
        apply(e);
      });
    }
  }

  /**
   * A quiet re-read of what no event carries: agents' heartbeats and resources, tasks' usage
   * statistics. Task states and offers stay as the events keep them; a task's usage is taken
   * only while the page's copy of it is as new as the state's.
   */
  async function poll() {
    if (document.hidden || !state.loaded) return;
    try {
      const view = await getJson('/api/v1/state');
      for (const a of view.agents) if (state.agents.has(a.id)) state.agents.set(a.id, a);
      for (const t of view.tasks) {
        const mine = state.tasks.get(taskKey(t.frameworkId, t.id));
        if (mine && mine.updatedAt === t.updatedAt && t.statistics) mine.statistics = t.statistics;
      }
      changed();
    } catch { /* the stream's state says whether the master is reachable */ }
  }

  setInterval(() => void poll(), POLL_MS);
  void sync();
  return {
    state,
    /** Calls `listener(offerLogEvent)` for each offer-log line the stream brings; returns the way to stop. */
    onOffer(listener) { offerListeners.add(listener); return () => offerListeners.delete(listener); },
  };
}
