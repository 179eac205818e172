// #/apps: every app with its status, running/wanted instances, health and resources.
import { h, renderIfChanged } from '/ui/shared/dom.js';
import { listTable, viewHead } from '/ui/shared/widgets.js';
import { appStatus } from './model.js';
import { appLink, healthBar, statusBadge } from './widgets.js';

export function appsView() {
  const body = h('tbody', { 'data-testid': 'apps' });
  return {
    title: 'Apps',
    mount(root) {
      root.append(
        viewHead('Apps', h('a', { href: '#/new', class: 'button primary', 'data-testid': 'new-app' }, 'New app')),
        listTable(['App', 'Status', 'Running', 'Health', 'CPUs', 'Memory'], body, 'Apps'));
    },
    update(state) {
      const queued = new Map(state.queue.map((q) => [q.app.id, q]));
      const rows = state.apps.map((app) => ({ app, status: appStatus(app, queued.get(app.id)) }));
      const key = JSON.stringify(rows.map(({ app, status }) => [
        app.id, status, app.instances, app.tasksRunning, app.tasksStaged, app.tasksHealthy, app.tasksUnhealthy, app.cpus, app.mem,
        app.healthChecks.length,
      ]).concat([state.loaded]));
      renderIfChanged(body, key, () => {
        if (!state.loaded) return h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'Loading…'));
        if (rows.length === 0) {
          return h('tr', {}, h('td', { colspan: 6, class: 'empty', 'data-testid': 'no-apps' }, 'No apps yet. ', h('a', { href: '#/new' }, 'Create one'), '.'));
        }
        return rows.map(({ app, status }) => h('tr', { 'data-testid': 'app-row', 'data-app-id': app.id },
          h('th', { scope: 'row' }, appLink(app.id)),
          h('td', {}, statusBadge(status)),
          h('td', { 'data-testid': 'app-instances', class: 'num' }, `${app.tasksRunning}/${app.instances}`),
          h('td', {}, healthBar(app)),
          h('td', { class: 'num' }, app.cpus),
          h('td', { class: 'num' }, `${app.mem} MiB`)));
      });
    },
  };
}
