// The jobs web UI: hash routes to views, one live copy of the state (live.js) that every
// view draws from. A view is { title, mount(root), update(state), unmount?() }: mounted once
// per route, updated on every refresh, so what the user types survives the refreshes events cause.
//
//   #/jobs            view-jobs.js        #/new, #/edit/<id>   view-edit.js
//   #/job/<id>        view-job.js         #/graph              view-graph.js
import { startLive } from './live.js';
import { editView } from './view-edit.js';
import { graphView } from './view-graph.js';
import { jobView } from './view-job.js';
import { jobsView } from './view-jobs.js';

const root = document.getElementById('view');
const flashEl = document.getElementById('flash');
const bannerEl = document.getElementById('banner');
const streamEl = document.getElementById('stream');
const frameworkEl = document.getElementById('framework');

let view;
let flashText = '';

const ctx = {
  live: undefined,
  go(hash) {
    if (location.hash === hash) route(); else location.hash = hash;
  },
  /** A message for the next view: what the last action did. */
  flash(text) { flashText = text; },
};

function viewFor(hash) {
  const path = (hash.replace(/^#/, '') || '/jobs').split('?')[0];
  const id = (prefix) => decodeURIComponent(path.slice(prefix.length));
  if (path === '/jobs') return jobsView(ctx);
  if (path === '/new') return editView(ctx, undefined);
  if (path === '/graph') return graphView(ctx);
  if (path.startsWith('/edit/') && path.length > 6) return editView(ctx, id('/edit/'));
  if (path.startsWith('/job/') && path.length > 5) return jobView(ctx, id('/job/'));
  return undefined;
}

function route() {
  const next = viewFor(location.hash);
  if (!next) { location.replace('#/jobs'); return; }
  view?.unmount?.();
  view = next;
  root.replaceChildren();
  view.mount(root);
  document.title = `${view.title} · Agora jobs`;
  flashEl.textContent = flashText;
  flashEl.hidden = !flashText;
  flashText = '';
  const here = (location.hash || '#/jobs').split('?')[0];
  for (const a of document.querySelectorAll('nav a')) {
    const href = a.getAttribute('href');
    const current = here === href || (href === '#/jobs' && here.startsWith('#/job/'));
    if (current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  view.update(ctx.live.state);
  // Moves a screen reader to the new view, as a page load would.
  if (!root.contains(document.activeElement)) root.querySelector('h2')?.focus();
}

function changed(state) {
  bannerEl.hidden = !state.error;
  bannerEl.textContent = state.error ?? '';
  streamEl.textContent = state.streaming ? 'live' : 'reconnecting…';
  streamEl.className = state.streaming ? 'stream on' : 'stream off';
  frameworkEl.textContent = state.info ? `framework ${state.info.frameworkId ?? '(not registered with a master yet)'}` : '';
  view?.update(state);
}

ctx.live = startLive(changed);
window.addEventListener('hashchange', route);
route();
