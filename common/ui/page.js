// What every Agora web UI's page does around its views: hash routes to views, one live copy
// of the state that every view draws from, and the header lines all UIs show (the error
// banner, whether the event stream is live, whose page it is). Shared by every Agora web UI,
// served to each under /ui/shared/page.js.
//
// A view is { title, mount(root), update(state), unmount?() }: mounted once per route,
// updated on every refresh, so what the user types survives the refreshes events cause.

/**
 * Starts the page of index.html (its #view, #flash, #banner, #stream and #framework).
 *   name       the UI's name, after each view's title in the document's
 *   home       the route of the first page ('#/apps'), where an unknown route goes
 *   viewFor    (path, ctx) → the view of a route path ('/apps', '/job/x'), or undefined
 *   startLive  (changed) → { state }, calling changed(state) on every refresh
 *   sections   { '#/apps': '#/app/' }: a nav link that stays current on the pages under it
 *   changed    (state) → void, for what this UI adds to the header (a count)
 *   identity   (state) → the header's words on whose page this is (default: the framework id)
 *   ready      (state) → whether views may draw it (default: always; the master's waits for its first read)
 * The views get ctx: { live, go(hash), flash(text) }.
 */
const frameworkIdentity = (state) => (state.info ? `framework ${state.info.frameworkId ?? '(not registered with a master yet)'}` : '');

export function startPage({ name, home, viewFor, startLive, sections = {}, changed = () => {}, identity = frameworkIdentity, ready = () => true }) {
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

  function route() {
    const here = (location.hash || home).split('?')[0];
    const next = viewFor(here.replace(/^#/, ''), ctx);
    if (!next) { location.replace(home); return; }
    view?.unmount?.();
    view = next;
    root.replaceChildren();
    view.mount(root);
    document.title = `${view.title} · ${name}`;
    flashEl.textContent = flashText;
    flashEl.hidden = !flashText;
    flashText = '';
    for (const a of document.querySelectorAll('nav a')) {
      const href = a.getAttribute('href');
      const current = here === href || (sections[href] !== undefined && here.startsWith(sections[href]));
      if (current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    if (ready(ctx.live.state)) view.update(ctx.live.state);
    // Moves a screen reader to the new view, as a page load would.
    if (!root.contains(document.activeElement)) root.querySelector('h2')?.focus();
  }

  function refreshed(state) {
    bannerEl.hidden = !state.error;
    bannerEl.textContent = state.error ?? '';
    streamEl.textContent = state.streaming ? 'live' : 'reconnecting…';
    streamEl.className = state.streaming ? 'stream on' : 'stream off';
    frameworkEl.textContent = identity(state);
    changed(state);
    if (ready(state)) view?.update(state);
  }

  ctx.live = startLive(refreshed);
  window.addEventListener('hashchange', route);
  route();
}
