// The cluster at a glance: agents by state, the resources (total, used by tasks, held in
// offers, idle), each role's share as DRF sees it, and the frameworks' own UIs.
import { h, renderIfChanged } from '/ui/shared/dom.js';
import { amount, clusterResources, countBy, isTerminal, roleShares, SCALARS, stateWord } from './model.js';
import { frameworkLink, meter } from './widgets.js';

export function clusterView() {
  let body;
  return {
    title: 'Cluster',
    mount(root) {
      body = h('div');
      root.append(h('div', { class: 'view-head' }, h('h2', { tabindex: '-1' }, 'Cluster')), body);
    },
    update(state) {
      renderIfChanged(body, state.version, () => {
        const agents = countBy(state.agents.values(), (a) => a.status);
        const tasks = countBy([...state.tasks.values()].filter((t) => !isTerminal(t.state)), (t) => t.state);
        const frameworks = [...state.frameworks.values()];
        const r = clusterResources(state);
        const roles = roleShares(state);
        const uis = frameworks.filter((f) => f.webuiUrl);
        return [
          h('dl', { class: 'stats', 'data-testid': 'cluster-stats' },
            stat('Active agents', agents.ACTIVE ?? 0, 'stat-active-agents'),
            stat('Unreachable agents', agents.UNREACHABLE ?? 0, 'stat-unreachable-agents'),
            stat('Frameworks', `${frameworks.filter((f) => f.connected).length} connected of ${frameworks.length}`, 'stat-frameworks'),
            stat('Active tasks', Object.values(tasks).reduce((a, b) => a + b, 0), 'stat-tasks'),
            stat('Outstanding offers', state.offers.size, 'stat-offers')),
          Object.keys(tasks).length > 0
            ? h('p', { class: 'muted' }, Object.entries(tasks).sort().map(([s, n]) => `${n} ${stateWord(s)}`).join(' · '))
            : null,
          h('h3', {}, 'Resources'),
          h('table', { class: 'list', 'data-testid': 'resources' },
            h('thead', {}, h('tr', {}, ['Resource', 'Used by tasks', 'Offered', 'Idle', 'Total'].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', {}, SCALARS.filter((k) => k !== 'gpus' || r.total.gpus > 0).map((k) => h('tr', { 'data-resource': k },
              h('th', { scope: 'row' }, k),
              h('td', {}, meter(k, r.used[k], r.total[k])),
              h('td', { class: 'num' }, amount(k, r.offered[k])),
              h('td', { class: 'num' }, amount(k, r.idle[k])),
              h('td', { class: 'num' }, amount(k, r.total[k])))))),
          h('h3', {}, 'Roles'),
          roles.length === 0 ? h('p', { class: 'empty' }, 'No framework has subscribed yet.')
            : h('table', { class: 'list', 'data-testid': 'roles' },
              h('thead', {}, h('tr', {}, ['Role', 'Frameworks', 'Tasks', 'CPUs', 'Memory', 'Dominant share'].map((c) => h('th', { scope: 'col' }, c)))),
              h('tbody', {}, roles.map((x) => h('tr', { 'data-role': x.role },
                h('th', { scope: 'row' }, x.role),
                h('td', {}, x.frameworks.join(', ')),
                h('td', { class: 'num' }, x.tasks),
                h('td', { class: 'num' }, amount('cpus', x.used.cpus)),
                h('td', { class: 'num' }, amount('mem', x.used.mem)),
                h('td', { class: 'num' }, x.dominant ? `${(x.share * 100).toFixed(1)} % of ${x.dominant}` : '0 %'))))),
          uis.length > 0 ? [h('h3', {}, 'Framework UIs'),
            h('ul', { class: 'plain' }, uis.map((f) => h('li', {}, frameworkLink(state, f.id))))] : null,
        ];
      });
    },
  };
}

function stat(label, value, testid) {
  return h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, String(value)));
}
