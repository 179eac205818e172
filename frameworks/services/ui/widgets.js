// Pieces more than one view draws: the status badge, the health bar, and a refusal from the
// API with the deployments in its way; the inline confirmation is /ui/shared/widgets.js's.
import { h } from '/ui/shared/dom.js';
import { problemView as sharedProblemView } from '/ui/shared/widgets.js';
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

/** A refusal: the message, the details by path, links to the deployments in the way. */
export function problemView(p, testid = 'problem') {
  return sharedProblemView(p, testid, (p.deployments ?? []).length > 0
    ? h('p', {}, 'In the way: ', p.deployments.flatMap((id, i) => [i > 0 ? ', ' : '', h('a', { href: '#/deployments' }, id)]))
    : null);
}

export const appLink = (id) => h('a', { href: appHref(id) }, id);
