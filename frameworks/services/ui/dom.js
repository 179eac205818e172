// Building the page without innerHTML: every string from the API (app ids, commands, task
// messages) becomes a text node, so nothing a definition holds can turn into markup.

/**
 * `h('a', { href: '#/apps', 'data-testid': 'x', onclick: f }, 'text', child)`. Attributes
 * that are null, undefined or false are left out; `true` sets an empty one.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...flat(children));
  return el;
}

function flat(children) {
  const out = [];
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) out.push(...flat(c));
    else out.push(c instanceof Node ? c : String(c));
  }
  return out;
}

const shown = new WeakMap();

/**
 * Rebuilds `el`'s children only when `key` differs from what it shows. Refreshes come with
 * every event; rebuilding unchanged rows would drop focus and text selection for nothing.
 */
export function renderIfChanged(el, key, build) {
  if (shown.get(el) === key) return;
  shown.set(el, key);
  el.replaceChildren(...flat([build()]));
}

/** "12 s ago", "3 min ago": for timestamps that are only a reference point. */
export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** The hash route for an app's page; ids are paths such as /group/app. */
export const appHref = (id) => `#/app${id}`;
