// Pieces more than one view draws: the state, result and enabled badges, and NEXT RUN with
// OVERDUE; the inline confirmation and a refusal from the API are /ui/shared/widgets.js's.
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

export const jobLink = (id) => h('a', { href: jobHref(id), 'data-testid': 'job-link' }, id);
