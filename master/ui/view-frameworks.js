// The frameworks: roles, tasks, what they use, and their offer summary from the offer log
// (offers received, accepted, declined with the top reasons, mean time an offer was held),
// re-read while offers come and go.
import { h, renderIfChanged, timeEl } from '/ui/shared/dom.js';
import { getJson } from './live.js';
import { amount, byFramework, usageBy, zero } from './model.js';
import { frameworkLink } from './widgets.js';

/** The summary scans the offer log: re-read it at most this often while offer events arrive. */
const SUMMARY_EVERY_MS = 2000;

export function frameworksView(ctx) {
  let body;
  let state;
  let summary = new Map();
  let summaryNote = '';
  let stopOffers;
  let timer;
  let reading = false;

  async function readSummary() {
    if (reading) return;
    reading = true;
    try {
      const s = await getJson('/api/v1/offers/summary');
      summary = new Map(s.frameworks.map((f) => [f.frameworkId, f]));
      summaryNote = `Offer counts from the ${s.source === 'jetstream' ? 'durable offer log' : "master's in-memory offer log (the durable log is unavailable)"}${s.truncated ? ', its newest part only' : ''}.`;
    } catch (err) {
      summaryNote = `The offer summary cannot be read: ${err.message}`;
    } finally {
      reading = false;
    }
    if (state) draw(state, true);
  }

  let drawn = 0;
  function draw(s, fresh = false) {
    state = s;
    if (fresh) drawn += 1;
    renderIfChanged(body, `${s.version}:${drawn}`, () => {
      const frameworks = [...s.frameworks.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      if (frameworks.length === 0) return h('p', { class: 'empty', 'data-testid': 'no-frameworks' }, 'No framework has subscribed yet.');
      const usage = usageBy(s, byFramework);
      return [
        h('table', { class: 'list', 'data-testid': 'frameworks' },
          h('thead', {}, h('tr', {}, ['Framework', 'Roles', 'State', 'Tasks', 'CPUs', 'Memory', 'Offers', 'Top decline reasons', 'Mean held'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, frameworks.map((f) => {
            const u = usage.get(f.id) ?? { used: zero(), tasks: 0 };
            const o = summary.get(f.id);
            return h('tr', { 'data-testid': 'framework-row', 'data-framework-id': f.id },
              h('th', { scope: 'row' }, frameworkLink(s, f.id), h('div', { class: 'muted small' }, f.id)),
              h('td', {}, f.roles.join(', '), f.suppressedRoles.length > 0 ? h('div', { class: 'muted small' }, `suppressed: ${f.suppressedRoles.join(', ')}`) : null),
              h('td', {}, h('span', { class: `badge badge-${f.connected ? 'connected' : 'disconnected'}` }, f.connected ? 'connected' : 'disconnected'),
                h('div', { class: 'muted small' }, 'since ', timeEl(f.registeredAt))),
              h('td', { class: 'num' }, u.tasks),
              h('td', { class: 'num' }, amount('cpus', u.used.cpus)),
              h('td', { class: 'num' }, amount('mem', u.used.mem)),
              h('td', { class: 'num', 'data-testid': 'framework-offers' }, o ? `${o.offered} offered · ${o.accepted} accepted · ${o.declined} declined${o.rescinded ? ` · ${o.rescinded} rescinded` : ''}${o.expired ? ` · ${o.expired} expired` : ''}` : '—'),
              h('td', { 'data-testid': 'framework-reasons' }, o && o.declineReasons.length > 0
                ? h('ul', { class: 'plain' }, o.declineReasons.slice(0, 3).map((r) => h('li', {}, `${r.count}× `, r.reason || h('span', { class: 'muted' }, 'no reason given'))))
                : h('span', { class: 'muted' }, '—')),
              h('td', { class: 'num' }, o && o.meanHeldMs !== null ? `${Math.round(o.meanHeldMs)} ms` : '—'));
          }))),
        h('p', { class: 'muted small' }, summaryNote),
      ];
    });
  }

  return {
    title: 'Frameworks',
    mount(root) {
      body = h('div');
      root.append(h('div', { class: 'view-head' }, h('h2', { tabindex: '-1' }, 'Frameworks')), body);
      void readSummary();
      stopOffers = ctx.live.onOffer(() => {
        timer ??= setTimeout(() => { timer = undefined; void readSummary(); }, SUMMARY_EVERY_MS);
      });
    },
    update(s) { draw(s); },
    unmount() {
      stopOffers?.();
      clearTimeout(timer);
    },
  };
}
