// The services web UI: hash routes to views, one live copy of the state (live.js) that every
// view draws from. A view is { title, mount(root), update(state) }: mounted once per route,
// updated on every refresh, so what the user types survives the refreshes events cause.
//
//   #/apps            view-apps.js         #/new            view-new.js
//   #/app/<id>        view-app.js          #/deployments    view-deployments.js
import { startLive } from './live.js';
import { appView } from './view-app.js';
import { appsView } from './view-apps.js';
import { deploymentsView } from './view-deployments.js';
import { newAppView } from './view-new.js';

const root = document.getElementById('view');
const flashEl = document.getElementById('flash');
const bannerEl = document.getElementById('banner');
const streamEl = document.getElementById('stream');
const frameworkEl = document.getElementById('framework');
const deploymentsCount = document.getElementById('deployments-count');

let view;
let flashText = '';

const ctx = {
  live: undefined,
  go(hash) {
    if (location.hash === hash) route(); else location.hash = hash;
  },
  /** A message for the next view: what the last action started. */
  flash(text) { flashText = text; },
};

function viewFor(hash) {
  const path = hash.replace(/^#/, '') || '/apps';
  if (path === '/apps') return appsView(ctx);
  if (path === '/new') return newAppView(ctx);
  if (path === '/deployments') return deploymentsView(ctx);
  if (path.startsWith('/app/')) return appView(ctx, path.slice('/app'.length));
  return undefined;
}

function route() {
  const next = viewFor(location.hash);
  if (!next) { location.replace('#/apps'); return; }
  view = next;
  root.replaceChildren();
  view.mount(root);
  document.title = `${view.title} · Agora services`;
  flashEl.textContent = flashText;
  flashEl.hidden = !flashText;
  flashText = '';
  for (const a of document.querySelectorAll('nav a')) {
    const here = (location.hash || '#/apps') === a.getAttribute('href') || (a.getAttribute('href') === '#/apps' && location.hash.startsWith('#/app/'));
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
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
  deploymentsCount.textContent = state.deployments.length > 0 ? String(state.deployments.length) : '';
  view?.update(state);
}

ctx.live = startLive(changed);
window.addEventListener('hashchange', route);
route();
