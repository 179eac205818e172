// The master's web UI: hash routes to views, one live copy of the master's state (live.js)
// that every view draws from. A view is { title, mount(root), update(state), unmount?() }:
// mounted once per route, updated when the state changed, so filters and selections survive.
//
//   #/                 view-cluster.js      #/tasks            view-tasks.js
//   #/agents           view-agents.js       #/task/<fw>/<id>   view-task.js
//   #/agent/<id>       view-agents.js       #/offers           view-offers.js
//   #/frameworks       view-frameworks.js
import { startLive } from './live.js';
import { agentView, agentsView } from './view-agents.js';
import { clusterView } from './view-cluster.js';
import { frameworksView } from './view-frameworks.js';
import { offersView } from './view-offers.js';
import { taskView } from './view-task.js';
import { tasksView } from './view-tasks.js';
import { isTerminal } from './model.js';

const root = document.getElementById('view');
const bannerEl = document.getElementById('banner');
const streamEl = document.getElementById('stream');
const masterEl = document.getElementById('master');
const agentsCount = document.getElementById('agents-count');
const tasksCount = document.getElementById('tasks-count');

let view;
const ctx = { live: undefined };

function viewFor(hash) {
  const path = (hash.replace(/^#/, '') || '/').split('?')[0];
  const parts = path.split('/').slice(1).map((p) => decodeURIComponent(p));
  if (path === '/') return clusterView(ctx);
  if (path === '/agents') return agentsView(ctx);
  if (path === '/frameworks') return frameworksView(ctx);
  if (path === '/tasks') return tasksView(ctx);
  if (path === '/offers') return offersView(ctx);
  if (parts[0] === 'agent' && parts.length === 2 && parts[1]) return agentView(ctx, parts[1]);
  if (parts[0] === 'task' && parts.length === 3 && parts[1] && parts[2]) return taskView(ctx, parts[1], parts[2]);
  return undefined;
}

/** The nav entry a route belongs to: #/agent/x under Agents, #/task/… under Tasks. */
function section(hash) {
  const path = (hash.replace(/^#/, '') || '/').split('?')[0];
  if (path.startsWith('/agent')) return '#/agents';
  if (path.startsWith('/task')) return '#/tasks';
  return `#${path}`;
}

function route() {
  const next = viewFor(location.hash);
  if (!next) { location.replace('#/'); return; }
  view?.unmount?.();
  view = next;
  root.replaceChildren();
  view.mount(root);
  document.title = `${view.title} · Agora master`;
  const here = section(location.hash || '#/');
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (ctx.live.state.loaded) view.update(ctx.live.state);
  // Moves a screen reader to the new view, as a page load would.
  if (!root.contains(document.activeElement)) root.querySelector('h2')?.focus();
}

function changed(state) {
  bannerEl.hidden = !state.error;
  bannerEl.textContent = state.error ?? '';
  streamEl.textContent = state.streaming ? 'live' : 'reconnecting…';
  streamEl.className = state.streaming ? 'stream on' : 'stream off';
  masterEl.textContent = state.master ? `master ${state.master.id} · ${state.master.hostname}` : '';
  agentsCount.textContent = state.agents.size > 0 ? String(state.agents.size) : '';
  let active = 0;
  for (const t of state.tasks.values()) if (!isTerminal(t.state)) active += 1;
  tasksCount.textContent = active > 0 ? String(active) : '';
  if (state.loaded) view?.update(state);
}

ctx.live = startLive(changed);
window.addEventListener('hashchange', route);
route();
