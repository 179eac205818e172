// #/jobs: every job as Chronos listed them — JOB, SCHEDULE (in words), NEXT RUN (OVERDUE),
// LAST RESULT, STATE — with whether it is enabled, and Run now, Stop, Edit and Delete.
import { runNow, removeJob, stopRuns } from './actions.js';
import { h, renderIfChanged } from '/ui/shared/dom.js';
import { jobState, scheduleText } from './model.js';
import { confirmButton, listTable, problemView, viewHead } from '/ui/shared/widgets.js';
import { enabledBadge, jobLink, nextRunView, resultBadge, stateBadge } from './widgets.js';

const COLUMNS = ['Job', 'Schedule', 'Next run', 'Last result', 'State', 'Enabled', ''];

export function jobsView(ctx) {
  const pending = { key: undefined };
  const body = h('tbody', { 'data-testid': 'jobs' });
  const result = h('div', { class: 'result', role: 'status', 'data-testid': 'list-result' });
  let last;

  async function act(what, fn) {
    result.replaceChildren(`${what}…`);
    const r = await fn();
    result.replaceChildren(r.ok ? r.text : problemView(r.problem, 'list-problem'));
    await ctx.live.refresh();
  }

  function draw() {
    const state = last;
    if (!state) return;
    // The minute is part of the key: "in 3 min" moves on without an event.
    const key = JSON.stringify([state.loaded, pending.key, Math.floor(Date.now() / 60_000), state.jobs]);
    renderIfChanged(body, key, () => {
      if (!state.loaded) return h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' }, 'Loading…'));
      if (state.jobs.length === 0) {
        return h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty', 'data-testid': 'no-jobs' }, 'No jobs yet. ', h('a', { href: '#/new' }, 'Create one'), '.'));
      }
      return state.jobs.map((job) => h('tr', { 'data-testid': 'job-row', 'data-job-id': job.id },
        h('th', { scope: 'row' }, jobLink(job.id), job.description ? h('div', { class: 'muted small' }, job.description) : null),
        h('td', { 'data-testid': 'job-schedule' }, scheduleText(job)),
        h('td', {}, nextRunView(job)),
        h('td', {}, resultBadge(job)),
        h('td', {}, stateBadge(job)),
        h('td', {}, enabledBadge(job)),
        h('td', { class: 'buttons' },
          h('button', { type: 'button', 'data-testid': 'run-now', onclick: () => void act(`Starting a run of ${job.id}`, () => runNow(job.id)) }, 'Run now'), ' ',
          h('button', { type: 'button', 'data-testid': 'stop', disabled: jobState(job) === 'idle', onclick: () => void act(`Stopping ${job.id}`, () => stopRuns(job)) }, 'Stop'), ' ',
          h('a', { class: 'button', href: `#/edit/${encodeURIComponent(job.id)}`, 'data-testid': 'edit' }, 'Edit'), ' ',
          confirmButton({
            key: `delete ${job.id}`, pending, label: 'Delete', testid: 'delete', danger: true, rerender: draw,
            question: `Delete ${job.id}?${jobState(job) === 'idle' ? '' : ' Its active runs are stopped.'}`, yes: 'Delete',
            onConfirm: () => void act(`Deleting ${job.id}`, () => removeJob(job.id)),
          }))));
    });
  }

  return {
    title: 'Jobs',
    mount(root) {
      root.append(
        viewHead('Jobs', h('a', { href: '#/new', class: 'button primary', 'data-testid': 'new-job' }, 'New job')),
        result,
        listTable(COLUMNS, body, 'Jobs'));
    },
    update(state) {
      last = state;
      draw();
    },
  };
}
