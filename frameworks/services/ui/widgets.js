// Pieces more than one view draws: the status badge, the health bar, an inline confirmation,
// and a refusal from the API.
import { h } from '/ui/shared/dom.js';
import { appHealth, appHref } from './model.js';

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status.label.toLowerCase()}`, title: status.detail, 'data-testid': 'app-status' }, status.label);
}

/** The health bar: one segment per kind, as wide as its share of the instances. */
export function healthBar(app) {
  const health = appHealth(app);
  const { healthy, unhealthy, unknown, staged } = health.segments;
  const label = `${healthy} healthy, ${unhealthy} unhealthy, ${unknown} without a verdict, ${staged} starting, of ${app.instances} wanted`;
  const seg = (kind, n) => (n > 0 ? h('span', { class: `seg seg-${kind}`, style: `width:${(100 * n) / health.total}%` }) : null);
  return h('span', { class: 'health' },
    h('span', { class: 'bar', role: 'img', 'aria-label': label, title: label },
      seg('healthy', healthy), seg('unhealthy', unhealthy), seg('unknown', unknown), seg('staged', staged)),
    h('span', { class: 'health-text', 'data-testid': 'app-health' }, health.text));
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

/** A refusal: the message, the details by path, links to the deployments in the way. */
export function problemView(p, testid = 'problem') {
  return h('div', { class: 'problem', role: 'alert', 'data-testid': testid },
    h('strong', {}, p.message),
    p.details.length > 0 ? h('ul', {}, p.details.map((d) => h('li', {}, h('code', {}, d.path), ' ', d.errors.join('; ')))) : null,
    p.deployments.length > 0 ? h('p', {}, 'In the way: ', p.deployments.flatMap((id, i) => [i > 0 ? ', ' : '', h('a', { href: '#/deployments' }, id)])) : null);
}

export const appLink = (id) => h('a', { href: appHref(id) }, id);
