// Building the page without innerHTML: every string from an API (ids, commands, task
// messages, a task's output) becomes a text node, so nothing a definition holds can turn into
// markup. Shared by every Agora web UI, served to each under /ui/shared/dom.js.

/**
 * `h('a', { href: '#/jobs', 'data-testid': 'x', onclick: f }, 'text', child)`. Attributes
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

const SVG = 'http://www.w3.org/2000/svg';

/** `h` for SVG elements (the dependency graph). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
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
 * every event; rebuilding unchanged rows would drop focus, open questions and selections.
 */
export function renderIfChanged(el, key, build) {
  if (shown.get(el) === key) return;
  shown.set(el, key);
  el.replaceChildren(...flat([build()]));
}

/** Milliseconds since the epoch of an API time (ISO 8601 text, or a number of ms); undefined if none. */
export function ms(t) {
  if (t === undefined || t === null || t === '') return undefined;
  const n = typeof t === 'number' ? t : Date.parse(t);
  return Number.isFinite(n) ? n : undefined;
}

/** "12 s", "3 min", "2 h", "4 d": a span of time, rounded for people. */
export function span(msecs) {
  const s = Math.round(Math.abs(msecs) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d`;
}

/** "12 s ago", "in 3 min": for a time that matters relative to now. */
export function relative(t, now = Date.now()) {
  const at = ms(t);
  if (at === undefined) return '';
  return at <= now ? `${span(now - at)} ago` : `in ${span(at - now)}`;
}

/** "2024-05-01 14:03:07" in the browser's time zone, for the title and the tables. */
export function clock(t) {
  const at = ms(t);
  if (at === undefined) return '';
  const d = new Date(at);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A <time> showing `text` (default: relative), the exact time on hover. */
export function timeEl(t, text) {
  const at = ms(t);
  if (at === undefined) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: new Date(at).toISOString(), title: clock(at) }, text ?? relative(at));
}

/** "1.2 s", "3 min 4 s": a run's duration. */
export function duration(seconds) {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return '';
  if (seconds < 10) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
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
