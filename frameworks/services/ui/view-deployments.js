// #/deployments: the deployments in progress, with their apps and actions, and the two ways
// to end one: Rollback (DELETE: a new deployment back to where its apps were) and Force-cancel
// (DELETE ?force=true: stop it where it stands).
import { callSafe, problemOf } from './api.js';
import { ago, h, renderIfChanged } from '/ui/shared/dom.js';
import { confirmButton, listTable, viewHead } from '/ui/shared/widgets.js';
import { appLink, problemView } from './widgets.js';

export function deploymentsView(ctx) {
  const pending = { key: undefined };
  const body = h('tbody', { 'data-testid': 'deployments' });
  const result = h('div', { class: 'result', role: 'status', 'data-testid': 'deployment-result' });
  let last;

  async function end(d, force) {
    const what = force ? `Cancelling ${d.id}` : `Rolling back ${d.id}`;
    result.replaceChildren(`${what}…`);
    const answer = await callSafe('DELETE', `/v2/deployments/${encodeURIComponent(d.id)}${force ? '?force=true' : ''}`);
    if (!answer.ok) return result.replaceChildren(problemView(problemOf(answer), 'deployment-problem'));
    result.replaceChildren(force ? `Cancelled ${d.id}; its apps stay where it left them.` : `Rolling back ${d.id}: deployment ${answer.body.deploymentId}`);
    await ctx.live.refresh();
  }

  function draw(state) {
    const list = state.deployments;
    renderIfChanged(body, JSON.stringify([list, pending.key, state.loaded]), () => {
      if (!state.loaded) return h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'Loading…'));
      if (list.length === 0) return h('tr', {}, h('td', { colspan: 4, class: 'empty', 'data-testid': 'no-deployments' }, 'No deployments in progress.'));
      return list.map((d) => h('tr', { 'data-testid': 'deployment-row', 'data-deployment-id': d.id },
        h('th', { scope: 'row' }, h('code', {}, d.id), h('br'), h('small', { class: 'muted' }, 'since ', h('time', { datetime: d.version, title: d.version }, ago(d.version)))),
        h('td', {}, h('ul', { class: 'plain' }, d.affectedApps.map((id) => h('li', {}, appLink(id))))),
        h('td', {}, h('ul', { class: 'plain' }, (d.currentActions ?? []).map((a) => h('li', {}, h('code', {}, a.action), ' ', a.app))),
          h('small', { class: 'muted' }, `step ${d.currentStep} of ${d.totalSteps}`)),
        h('td', { class: 'buttons' },
          confirmButton({
            key: `rollback:${d.id}`, pending, label: 'Rollback', testid: 'rollback', rerender: () => draw(last),
            question: `Roll ${d.affectedApps.join(', ')} back to where ${d.affectedApps.length === 1 ? 'it was' : 'they were'}?`, yes: 'Roll back',
            onConfirm: () => void end(d, false),
          }), ' ',
          confirmButton({
            key: `cancel:${d.id}`, pending, label: 'Force-cancel', testid: 'force-cancel', danger: true, rerender: () => draw(last),
            question: 'Stop this deployment where it stands, without rolling back?', yes: 'Cancel it',
            onConfirm: () => void end(d, true),
          }))));
    });
  }

  return {
    title: 'Deployments',
    mount(root) {
      root.append(
        viewHead('Deployments'),
        result,
        listTable(['Deployment', 'Apps', 'Actions', ''], body));
    },
    update(state) {
      last = state;
      draw(state);
    },
  };
}
