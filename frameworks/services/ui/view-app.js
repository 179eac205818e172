// #/app/<id>: one app — its status, why it waits, the actions (scale, restart, suspend,
// destroy), its tasks with their health and logs, its last failure, definition and events.
import { appPath, callSafe, problemOf } from './api.js';
import { ago, h, renderIfChanged } from '/ui/shared/dom.js';
import { appStatus, declined, endpoints, stdoutHref, taskHealth } from './model.js';
import { confirmButton, listTable, viewHead } from '/ui/shared/widgets.js';
import { healthBar, problemView, statusBadge } from './widgets.js';

/** What GET /v2/apps adds to a definition: left out of the definition shown. */
const RUNTIME = ['tasks', 'tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'deployments', 'lastTaskFailure', 'versionInfo'];
const SHOWN_EVENTS = 12;

export function appView(ctx, id) {
  const pending = { key: undefined };
  const el = {
    status: h('span'), summary: h('dl', { class: 'summary' }), waiting: h('section', { 'data-testid': 'why-waiting', hidden: true }),
    actions: h('div', { class: 'actions', hidden: true }), result: h('div', { class: 'result', role: 'status', 'data-testid': 'action-result' }),
    tasks: h('tbody', { 'data-testid': 'tasks' }), failure: h('div'), definition: h('pre', { 'data-testid': 'app-definition' }),
    events: h('ol', { class: 'events', 'data-testid': 'app-events' }), missing: h('p', { hidden: true, 'data-testid': 'app-missing' }),
  };
  const scale = h('input', { id: 'scale-to', type: 'number', min: 0, step: 1, inputmode: 'numeric', 'data-testid': 'scale-input' });
  let scaleEdited = false;
  scale.addEventListener('input', () => { scaleEdited = true; });
  let last;
  let busy = false;

  /** One change through the API; a 409 offers to force it, as Marathon's ?force=true. */
  async function act(what, method, path, body, after) {
    setBusy(true);
    el.result.replaceChildren(`${what}…`);
    const answer = await callSafe(method, path, body);
    setBusy(false);
    if (answer.ok) {
      const d = answer.body?.deploymentId;
      el.result.replaceChildren(`${what}: `, d ? h('a', { href: '#/deployments' }, `deployment ${d}`) : 'done');
      await ctx.live.refresh();
      after?.(answer);
      return;
    }
    const p = problemOf(answer);
    const forced = `${path}${path.includes('?') ? '&' : '?'}force=true`;
    el.result.replaceChildren(problemView(p, 'action-problem'), p.status === 409 && !path.includes('force=true')
      ? h('button', { type: 'button', 'data-testid': 'force', onclick: () => void act(`${what} (forced)`, method, forced, body, after) }, 'Force it')
      : null);
  }

  // Built once: a refresh must not take the focus or the typed number away from them.
  const buttons = {
    scale: h('button', { type: 'submit', class: 'primary', 'data-testid': 'scale' }, 'Scale'),
    restart: h('button', { type: 'button', 'data-testid': 'restart', onclick: () => void act('Restarting', 'POST', appPath(id, '/restart')) }, 'Restart'),
    suspend: h('button', { type: 'button', 'data-testid': 'suspend', onclick: () => void act('Suspending', 'PUT', appPath(id), { instances: 0 }) }, 'Suspend'),
  };
  const destroySlot = h('span');
  el.actions.append(
    h('form', { class: 'inline', novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      const to = scale.value.trim() === '' ? NaN : Number(scale.value);
      scaleEdited = false;
      // Not a number: sent as typed, for the API's own 422 to explain.
      void act(`Scaling to ${scale.value}`, 'PUT', appPath(id), { instances: Number.isFinite(to) ? to : scale.value });
    } }, h('label', { for: 'scale-to' }, 'Instances'), ' ', scale, ' ', buttons.scale),
    buttons.restart, buttons.suspend, destroySlot);

  function setBusy(b) {
    busy = b;
    for (const btn of Object.values(buttons)) btn.disabled = busy;
    if (last) buttons.suspend.disabled = busy || last.instances === 0;
    drawDestroy();
  }

  /** Destroy asks first, in the page; the question says how many instances go with it. */
  function drawDestroy() {
    const app = last;
    const n = app ? app.tasksRunning + app.tasksStaged : 0;
    renderIfChanged(destroySlot, JSON.stringify([n, busy, pending.key]), () => confirmButton({
      key: 'destroy', pending, label: 'Destroy', testid: 'destroy', danger: true, disabled: busy,
      rerender: drawDestroy,
      question: `Destroy ${id}? ${n > 0 ? `Its ${n} instance${n === 1 ? ' is' : 's are'} killed and the` : 'The'} app is removed.`,
      yes: 'Destroy',
      onConfirm: () => void act(`Destroying ${id}`, 'DELETE', appPath(id), undefined, (a) => {
        ctx.flash(`Destroying ${id}: deployment ${a.body.deploymentId}`);
        ctx.go('#/apps');
      }),
    }));
  }

  return {
    title: id,
    mount(root) {
      root.append(
        viewHead([h('span', { 'data-testid': 'app-id' }, id), ' ', el.status], h('a', { href: '#/apps' }, '← all apps')),
        el.missing, el.summary, el.waiting,
        h('section', { 'aria-label': 'Actions' }, el.actions, el.result),
        h('section', {}, h('h3', {}, 'Tasks'),
          listTable(['Task', 'State', 'Endpoints', 'Health', 'Started', 'Logs'], el.tasks)),
        el.failure,
        h('section', {}, h('h3', {}, 'Events'), el.events),
        h('details', { open: true }, h('summary', {}, 'Definition'), el.definition));
    },
    update(state) {
      const app = state.apps.find((a) => a.id === id);
      el.missing.hidden = !!app || !state.loaded;
      el.missing.textContent = `There is no app ${id}.`;
      last = app;
      if (!app) {
        for (const k of ['status', 'summary', 'tasks', 'failure', 'definition']) el[k].replaceChildren();
        el.actions.hidden = true;
        el.waiting.hidden = true;
        return;
      }
      el.actions.hidden = false;
      const queued = state.queue.find((q) => q.app.id === id);
      el.status.replaceChildren(statusBadge(appStatus(app, queued)));
      if (!scaleEdited && document.activeElement !== scale) scale.value = String(app.instances);
      setBusy(busy);
      drawSummary(app);
      drawWaiting(queued);
      drawTasks(app);
      el.failure.replaceChildren(...failureView(app.lastTaskFailure));
      renderIfChanged(el.definition, app.version, () => JSON.stringify(definitionOf(app), null, 2));
      drawEvents(state.events);
    },
  };

  function drawSummary(app) {
    const image = app.container?.docker?.image;
    renderIfChanged(el.summary, JSON.stringify(app, (k, v) => (k === 'tasks' ? undefined : v)), () => [
      h('dt', {}, 'Running'), h('dd', { 'data-testid': 'app-instances' }, `${app.tasksRunning}/${app.instances}`, app.tasksStaged ? ` (${app.tasksStaged} starting)` : ''),
      h('dt', {}, 'Health'), h('dd', {}, healthBar(app)),
      h('dt', {}, 'Resources'), h('dd', {}, `${app.cpus} CPUs, ${app.mem} MiB`),
      image ? [h('dt', {}, 'Image'), h('dd', {}, h('code', {}, image))] : null,
      app.cmd ? [h('dt', {}, 'Command'), h('dd', {}, h('code', {}, app.cmd))] : null,
      h('dt', {}, 'Version'), h('dd', {}, h('time', { datetime: app.version, title: app.version }, ago(app.version))),
      app.deployments.length > 0 ? [h('dt', {}, 'Deployment'), h('dd', {}, h('a', { href: '#/deployments' }, app.deployments[0].id))] : null,
    ]);
  }

  /** Why waiting: the launch queue's entry, with the reason each recent offer did not fit. */
  function drawWaiting(q) {
    el.waiting.hidden = !q;
    if (!q) return;
    const offers = (q.lastUnusedOffers ?? []).map(declined);
    renderIfChanged(el.waiting, JSON.stringify([q.count, q.delay, offers.map((o) => o.offerId)]), () => [
      h('h3', {}, 'Why waiting'),
      h('p', {}, `${q.count} instance${q.count === 1 ? '' : 's'} waiting for offers since `, h('time', { datetime: q.since }, ago(q.since)), '.',
        q.delay && !q.delay.overdue ? ` Launches are delayed for another ${q.delay.timeLeftSeconds} s after failures.` : ''),
      offers.length === 0
        ? h('p', { class: 'muted' }, 'No offer has been declined for it yet.')
        : listTable(['Agent', 'Why the offer did not fit', 'When'],
          h('tbody', {}, [...offers].reverse().map((o) => h('tr', { 'data-testid': 'declined-offer' },
            h('td', {}, o.hostname),
            h('td', {}, h('span', { class: 'tag', 'data-testid': 'declined-kind' }, o.kind), ' ', h('span', { 'data-testid': 'declined-reason' }, o.words)),
            h('td', {}, h('time', { datetime: o.at }, ago(o.at))))))),
    ]);
  }

  function drawTasks(app) {
    const tasks = [...(app.tasks ?? [])].sort((a, b) => a.stagedAt.localeCompare(b.stagedAt));
    renderIfChanged(el.tasks, JSON.stringify(tasks), () => {
      if (tasks.length === 0) return h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No tasks.'));
      return tasks.map((t) => {
        const health = taskHealth(t, app);
        const href = stdoutHref(t);
        return h('tr', { 'data-testid': 'task-row', 'data-task-id': t.id },
          h('th', { scope: 'row' }, h('code', {}, t.id)),
          h('td', { 'data-testid': 'task-state' }, t.state.replace(/^TASK_/, '')),
          h('td', {}, endpoints(t)),
          h('td', {}, h('span', { class: `dot dot-${health}`, 'data-testid': 'task-health' }, health === 'none' ? '—' : health)),
          h('td', {}, t.startedAt ? h('time', { datetime: t.startedAt, title: t.startedAt }, ago(t.startedAt)) : ''),
          h('td', { 'data-testid': 'task-logs' }, h('a', { href, target: '_blank', rel: 'noopener' }, 'stdout')));
      });
    });
  }

  function drawEvents(events) {
    const mine = events.filter((e) => concerns(e, id) && e.eventType !== 'instance_changed_event').slice(-SHOWN_EVENTS).reverse();
    renderIfChanged(el.events, JSON.stringify(mine.map((e) => [e.timestamp, e.eventType])), () => (mine.length === 0
      ? h('li', { class: 'muted' }, 'Nothing since this page opened.')
      : mine.map((e) => h('li', {}, h('time', { datetime: e.timestamp }, e.timestamp.slice(11, 19)), ' ', h('code', {}, e.eventType), ' ', describe(e)))));
  }
}

function definitionOf(app) {
  const out = { ...app };
  for (const k of RUNTIME) delete out[k];
  return out;
}

function failureView(f) {
  if (!f) return [];
  return [h('section', { 'data-testid': 'last-failure' }, h('h3', {}, 'Last task failure'),
    h('p', {}, h('code', {}, f.taskId), ` ${f.state.replace(/^TASK_/, '')} on ${f.host}, `, h('time', { datetime: f.timestamp }, ago(f.timestamp)), f.message ? `: ${f.message}` : ''))];
}

function concerns(e, id) {
  if (e.appId === id || e.runSpecId === id) return true;
  return (e.plan?.steps ?? []).some((s) => (s.actions ?? []).some((a) => a.app === id));
}

function describe(e) {
  switch (e.eventType) {
    case 'status_update_event': return `${e.taskId} ${String(e.taskStatus).replace(/^TASK_/, '')}${e.message ? `: ${e.message}` : ''}`;
    case 'health_status_changed_event': return `${e.taskId ?? e.instanceId} ${e.alive ? 'healthy' : 'unhealthy'}`;
    case 'unhealthy_instance_kill_event': return `${e.taskId} killed as unhealthy${e.reason ? `: ${e.reason}` : ''}`;
    case 'deployment_info': return `deployment ${e.plan?.id} started: ${(e.plan?.steps?.[0]?.actions ?? []).map((a) => a.action).join(', ')}`;
    case 'deployment_failed': return `deployment ${e.id} ended: ${e.reason ?? 'failed'}`;
    case 'deployment_success': case 'deployment_step_success': return `deployment ${e.id ?? e.plan?.id} done`;
    case 'app_terminated_event': return 'app terminated';
    case 'api_post_event': return `definition changed through ${e.uri}`;
    default: return '';
  }
}
