// Pieces more than one view draws: the state, result and enabled badges, NEXT RUN with
// OVERDUE, an inline confirmation, and a refusal from the API.
import { h, relative, timeEl } from '/ui/shared/dom.js';
import { enabled, jobHref, jobState, lastResult, nextRun } from './model.js';

export const stateBadge = (job) => {
  const st = jobState(job);
  return h('span', { class: `badge badge-${st}`, 'data-testid': 'job-state' }, st);
};

export const resultBadge = (job) => {
  const r = lastResult(job);
  return h('span', { class: `badge badge-${r.kind}`, 'data-testid': 'job-result', title: r.at ? new Date(r.at).toISOString() : '' },
    r.label, r.at ? h('small', { class: 'muted' }, ` ${relative(r.at)}`) : null);
};

export const enabledBadge = (job) => (enabled(job)
  ? h('span', { class: 'badge badge-enabled', 'data-testid': 'job-enabled' }, 'enabled')
  : h('span', { class: 'badge badge-disabled', 'data-testid': 'job-enabled' }, 'disabled'));

/** NEXT RUN: the time, and OVERDUE once it has passed without the run being made (Chronos's column). */
export function nextRunView(job, now = Date.now()) {
  const n = nextRun(job, now);
  if (!n) return h('span', { class: 'muted', 'data-testid': 'job-next' }, '—');
  return h('span', { 'data-testid': 'job-next' }, timeEl(n.at), n.overdue ? [' ', h('span', { class: 'badge badge-overdue', 'data-testid': 'job-overdue' }, 'OVERDUE')] : null);
}

/**
 * A button that asks before it acts, inside the page (no window.confirm: it blocks, and a
 * headless browser answers it for nobody). `pending` remembers which question is open across
 * re-renders, so a refresh does not close it.
 */
export function confirmButton(o) {
  const { key, pending, label, question, yes, onConfirm, testid, danger, disabled } = o;
  const show = (open, focus) => {
    pending.key = open ? key : undefined;
    o.rerender();
    document.querySelector(`[data-testid="${focus}"]`)?.focus();
  };
  if (pending.key !== key) {
    return h('button', { type: 'button', class: danger ? 'danger' : '', disabled, 'data-testid': testid, onclick: () => show(true, `${testid}-yes`) }, label);
  }
  return h('span', { class: 'confirm', role: 'group', 'aria-label': question },
    h('span', {}, question), ' ',
    h('button', { type: 'button', class: danger ? 'danger' : 'primary', disabled, 'data-testid': `${testid}-yes`, onclick: () => { pending.key = undefined; onConfirm(); } }, yes),
    ' ',
    h('button', { type: 'button', 'data-testid': `${testid}-no`, onclick: () => show(false, testid) }, 'Cancel'));
}

/** A refusal: the message and the details by JSON path. */
export function problemView(p, testid = 'problem') {
  return h('div', { class: 'problem', role: 'alert', 'data-testid': testid },
    h('strong', {}, p.message),
    p.details.length > 0 ? h('ul', {}, p.details.map((d) => h('li', {}, h('code', {}, d.path), ' ', d.errors.join('; ')))) : null);
}

export const jobLink = (id) => h('a', { href: jobHref(id), 'data-testid': 'job-link' }, id);
