// The agents: each one's resources (used by tasks of its total), attributes, tasks and last
// heartbeat; and one agent's page with its tasks.
import { h, renderIfChanged, timeEl } from '/ui/shared/dom.js';
import { addTo, agentHref, amount, byAgent, filterTasks, SCALARS, usageBy, zero } from './model.js';
import { frameworkLink, meter, stateBadge, taskLink } from './widgets.js';

const attributes = (a) => Object.entries(a.attributes ?? {}).sort().map(([k, v]) => `${k}:${v}`).join(' ');

// A degraded agent is reachable but takes no launches (its container engine does not answer):
// it is not offered, and its reason says why.
const stateCell = (a) => a.degradedReason && a.status === 'ACTIVE'
  ? [h('span', { class: 'badge badge-degraded', title: a.degradedReason, 'data-testid': 'agent-degraded' }, 'degraded'),
    h('div', { class: 'muted small' }, a.degradedReason)]
  : h('span', { class: `badge badge-${a.status.toLowerCase()}` }, a.status.toLowerCase());

export function agentsView() {
  let body;
  return {
    title: 'Agents',
    mount(root) {
      body = h('div');
      root.append(h('div', { class: 'view-head' }, h('h2', { tabindex: '-1' }, 'Agents')), body);
    },
    update(state) {
      renderIfChanged(body, state.version, () => {
        const agents = [...state.agents.values()].sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
        if (agents.length === 0) return h('p', { class: 'empty', 'data-testid': 'no-agents' }, 'No agent has registered yet.');
        const usage = usageBy(state, byAgent);
        return h('table', { class: 'list', 'data-testid': 'agents' },
          h('thead', {}, h('tr', {}, ['Agent', 'State', 'CPUs', 'Memory', 'Disk', 'Tasks', 'Attributes', 'Last heartbeat'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, agents.map((a) => {
            const u = usage.get(a.id) ?? { used: zero(), tasks: 0 };
            return h('tr', { 'data-testid': 'agent-row', 'data-agent-id': a.id },
              h('th', { scope: 'row' }, h('a', { href: agentHref(a.id), 'data-testid': 'agent-link' }, a.hostname), h('div', { class: 'muted small' }, a.id)),
              h('td', {}, stateCell(a)),
              ['cpus', 'mem', 'disk'].map((k) => h('td', {}, meter(k, u.used[k], a.total[k]))),
              h('td', { class: 'num' }, u.tasks),
              h('td', {}, attributes(a) || h('span', { class: 'muted' }, '—')),
              h('td', {}, timeEl(a.lastHeartbeatAt)));
          })));
      });
    },
  };
}

export function agentView(ctx, agentId) {
  let body;
  return {
    title: `Agent ${agentId}`,
    mount(root) {
      body = h('div');
      root.append(h('div', { class: 'view-head' }, h('h2', { tabindex: '-1', 'data-testid': 'agent-title' }, 'Agent ', h('code', {}, agentId))), body);
    },
    update(state) {
      renderIfChanged(body, state.version, () => {
        const a = state.agents.get(agentId);
        if (!a) return h('p', { class: 'empty' }, 'This agent is not registered with the master (it may have been removed).');
        const tasks = filterTasks(state, { show: 'active' }).filter((t) => t.agentId === agentId);
        const used = usageBy(state, byAgent).get(agentId)?.used ?? zero();
        const offered = zero();
        for (const o of state.offers.values()) if (o.agentId === agentId) addTo(offered, o.scalars);
        return [
          h('dl', { class: 'summary' },
            h('dt', {}, 'Hostname'), h('dd', { 'data-testid': 'agent-hostname' }, a.hostname),
            h('dt', {}, 'State'), h('dd', {}, stateCell(a)),
            h('dt', {}, 'Sandbox files'), h('dd', {}, `${location.protocol}//${a.hostname}:${a.port}/files/…`),
            h('dt', {}, 'Registered'), h('dd', {}, timeEl(a.registeredAt)),
            h('dt', {}, 'Last heartbeat'), h('dd', {}, timeEl(a.lastHeartbeatAt)),
            h('dt', {}, 'Attributes'), h('dd', {}, attributes(a) || '—'),
            h('dt', {}, 'Resources'), h('dd', {}, h('code', {}, a.total.text))),
          h('table', { class: 'list' },
            h('thead', {}, h('tr', {}, ['Resource', 'Used by tasks', 'Offered', 'Total'].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', {}, SCALARS.filter((k) => k !== 'gpus' || a.total.gpus > 0).map((k) => h('tr', {},
              h('th', { scope: 'row' }, k), h('td', {}, meter(k, used[k], a.total[k])),
              h('td', { class: 'num' }, amount(k, offered[k])), h('td', { class: 'num' }, amount(k, a.total[k])))))),
          h('h3', {}, `Tasks (${tasks.length})`),
          tasks.length === 0 ? h('p', { class: 'empty' }, 'No task runs here.')
            : h('table', { class: 'list', 'data-testid': 'agent-tasks' },
              h('thead', {}, h('tr', {}, ['Task', 'Framework', 'State', 'CPUs', 'Memory'].map((c) => h('th', { scope: 'col' }, c)))),
              h('tbody', {}, tasks.map((t) => h('tr', {},
                h('th', { scope: 'row' }, taskLink(t)), h('td', {}, frameworkLink(state, t.frameworkId)), h('td', {}, stateBadge(t.state)),
                h('td', { class: 'num' }, amount('cpus', t.resources.cpus)), h('td', { class: 'num' }, amount('mem', t.resources.mem)))))),
        ];
      });
    },
  };
}
