// #/job/<id>: one job — what it runs and when, its state, the actions (Run now, Stop, Edit,
// Delete), its statistics (successes, errors, p50/p95 durations), its runs with their output
// (view-runs.js), its place among its parents and children, and its definition.
import { runNow, removeJob, stopRuns } from './actions.js';
import { callSafe, jobPath } from './api.js';
import { duration, h, renderIfChanged, timeEl } from '/ui/shared/dom.js';
import { definitionOf, jobState, parentsOf, scheduleOf, scheduleText } from './model.js';
import { runsTable } from './view-runs.js';
import { confirmButton, problemView, viewHead } from '/ui/shared/widgets.js';
import { enabledBadge, jobLink, nextRunView, resultBadge, stateBadge } from './widgets.js';

export function jobView(ctx, id) {
  const pending = { key: undefined };
  const el = {
    badges: h('span', { class: 'badges' }), summary: h('dl', { class: 'summary', 'data-testid': 'job-summary' }),
    actions: h('div', { class: 'actions', hidden: true }), result: h('div', { class: 'result', role: 'status', 'data-testid': 'action-result' }),
    stats: h('dl', { class: 'stats', 'data-testid': 'job-stats' }), definition: h('pre', { 'data-testid': 'job-definition' }),
    missing: h('p', { hidden: true, 'data-testid': 'job-missing' }),
  };
  const runs = runsTable(id);
  let job;
  let history;
  let requested;
  let reading = Promise.resolve();

  async function act(what, fn, after) {
    el.result.replaceChildren(`${what}…`);
    const r = await fn();
    if (!r.ok) {
      el.result.replaceChildren(problemView(r.problem, 'action-problem'), r.problem.status === 409 && /depend/.test(r.problem.message)
        ? h('button', { type: 'button', 'data-testid': 'delete-reparent', onclick: () => void act(`Deleting ${id}`, () => removeJob(id, { reparent: true }), gone) },
          'Delete it anyway: its children take its parents (Chronos)')
        : null);
      return;
    }
    el.result.replaceChildren(r.text);
    await ctx.live.refresh();
    after?.();
  }

  function gone() {
    ctx.flash(`Deleted ${id}`);
    ctx.go('#/jobs');
  }

  const runButton = h('button', { type: 'button', class: 'primary', 'data-testid': 'run-now', onclick: () => void act(`Starting a run of ${id}`, () => runNow(id)) }, 'Run now');
  const stopButton = h('button', { type: 'button', 'data-testid': 'stop', onclick: () => job && void act(`Stopping the runs of ${id}`, () => stopRuns(job)) }, 'Stop');
  const deleteSlot = h('span');
  el.actions.append(runButton, stopButton, h('a', { class: 'button', href: `#/edit/${encodeURIComponent(id)}`, 'data-testid': 'edit' }, 'Edit'), deleteSlot);

  function drawDelete() {
    const active = job ? jobState(job) !== 'idle' : false;
    renderIfChanged(deleteSlot, JSON.stringify([active, pending.key]), () => confirmButton({
      key: 'delete', pending, label: 'Delete', testid: 'delete', danger: true, rerender: drawDelete,
      question: `Delete ${id}?${active ? ' Its active runs are stopped.' : ''} Its history goes with it.`, yes: 'Delete',
      onConfirm: () => void act(`Deleting ${id}`, () => removeJob(id), gone),
    }));
  }

  /** The history is read again for every event about the job (its revision), one read at a time. */
  function readHistory(revision) {
    requested = revision;
    reading = reading.then(async () => {
      if (requested !== revision) return;   // a later revision's read follows
      const a = await callSafe('GET', jobPath(id, '/history'));
      if (a.ok) history = a.body;
      else if (a.status === 404) history = undefined;
      drawHistory();
    });
  }

  function drawHistory() {
    const s = history?.stats;
    renderIfChanged(el.stats, JSON.stringify(s ?? null), () => (!s ? [] : [
      h('div', {}, h('dt', {}, 'Successes'), h('dd', { 'data-testid': 'stat-successes' }, String(s.successCount ?? 0))),
      h('div', {}, h('dt', {}, 'Errors'), h('dd', { 'data-testid': 'stat-errors' }, String(s.errorCount ?? 0))),
      h('div', {}, h('dt', {}, 'Last success'), h('dd', {}, timeEl(s.lastSuccess))),
      h('div', {}, h('dt', {}, 'Last error'), h('dd', {}, timeEl(s.lastError))),
      h('div', {}, h('dt', {}, 'Duration p50'), h('dd', { 'data-testid': 'stat-p50' }, duration(s.durationP50Seconds) || '—')),
      h('div', {}, h('dt', {}, 'Duration p95'), h('dd', { 'data-testid': 'stat-p95' }, duration(s.durationP95Seconds) || '—')),
    ]));
    runs.update(history?.runs ?? []);
    if (job && history?.nextRunAt && !job.nextRunAt) drawSummary(job, lastState);
  }

  let lastState;
  function drawSummary(j, state) {
    const withNext = history?.nextRunAt && !j.nextRunAt ? { ...j, nextRunAt: history.nextRunAt } : j;
    const run = j.run ?? {};
    const sched = scheduleOf(j);
    const parents = parentsOf(j);
    const children = state.jobs.filter((x) => parentsOf(x).includes(id)).map((x) => x.id);
    const links = (ids) => (ids.length === 0 ? h('span', { class: 'muted' }, 'none') : ids.flatMap((p, i) => [i > 0 ? ', ' : '', jobLink(p)]));
    renderIfChanged(el.summary, JSON.stringify([withNext, children, Math.floor(Date.now() / 60_000)]), () => [
      j.description ? [h('dt', {}, 'Description'), h('dd', {}, j.description)] : null,
      h('dt', {}, 'Command'), h('dd', {}, h('code', { 'data-testid': 'job-cmd' }, run.cmd ?? (run.args ?? []).join(' '))),
      run.docker?.image ? [h('dt', {}, 'Image'), h('dd', {}, h('code', {}, run.docker.image))] : null,
      run.volumes?.length ? [h('dt', {}, 'Volumes'), h('dd', { 'data-testid': 'job-volumes' },
        run.volumes.flatMap((v, i) => [i > 0 ? ', ' : '', h('code', {}, `${v.hostPath} → ${v.containerPath}`), ` (${v.mode})`]))] : null,
      h('dt', {}, 'Resources'), h('dd', {}, `${run.cpus} CPUs, ${run.mem} MiB memory, ${run.disk ?? 0} MiB disk`),
      h('dt', {}, 'Schedule'), h('dd', { 'data-testid': 'job-schedule' }, scheduleText(j), sched ? [' ', h('code', { class: 'muted' }, sched.expression)] : null),
      sched ? [h('dt', {}, 'Next run'), h('dd', {}, nextRunView(withNext))] : null,
      sched ? [h('dt', {}, 'Concurrency'), h('dd', {}, sched.concurrencyPolicy, sched.startingDeadlineSeconds !== undefined ? `; an occurrence more than ${sched.startingDeadlineSeconds} s late is missed` : '')] : null,
      h('dt', {}, 'On failure'), h('dd', {}, run.restart?.policy === 'ON_FAILURE' ? 'tried again (ON_FAILURE)' : j.chronos?.retries ? `tried again up to ${j.chronos.retries} times` : 'not tried again (NEVER)',
        run.restart?.activeDeadlineSeconds !== undefined ? `; stopped after ${run.restart.activeDeadlineSeconds} s` : ''),
      h('dt', {}, 'Depends on'), h('dd', { 'data-testid': 'job-parents' }, links(parents)),
      h('dt', {}, 'Needed by'), h('dd', { 'data-testid': 'job-children' }, links(children)),
    ]);
  }

  return {
    title: id,
    mount(root) {
      root.append(
        viewHead([h('span', { 'data-testid': 'job-id' }, id), ' ', el.badges], h('a', { href: '#/jobs' }, '← all jobs')),
        el.missing, el.summary,
        h('section', { 'aria-label': 'Actions' }, el.actions, el.result),
        h('section', {}, h('h3', {}, 'Statistics'), el.stats),
        h('section', {}, h('h3', {}, 'Runs'), runs.el),
        h('details', {}, h('summary', {}, 'Definition'), el.definition),
        h('p', {}, h('a', { href: `#/graph?job=${encodeURIComponent(id)}` }, 'Show in the dependency graph')));
    },
    update(state) {
      lastState = state;
      job = state.jobs.find((j) => j.id === id);
      el.missing.hidden = !!job || !state.loaded;
      el.missing.replaceChildren(`There is no job ${id}. `, h('a', { href: '#/jobs' }, 'All jobs'));
      el.actions.hidden = !job;
      const revision = state.revisions.get(id) ?? 0;
      if (revision !== requested) readHistory(revision);
      if (!job) {
        for (const k of ['badges', 'summary', 'definition']) el[k].replaceChildren();
        return;
      }
      el.badges.replaceChildren(stateBadge(job), ' ', resultBadge(job), ' ', enabledBadge(job));
      stopButton.disabled = jobState(job) === 'idle';
      drawDelete();
      drawSummary(job, state);
      renderIfChanged(el.definition, JSON.stringify(definitionOf(job)), () => JSON.stringify(definitionOf(job), null, 2));
    },
    unmount() { runs.stop(); },
  };
}
