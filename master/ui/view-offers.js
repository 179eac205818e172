// The live offer log: every offer the master makes and what became of it — accepted (with the
// tasks), declined (with the framework's reason and filter), rescinded, expired — newest
// first, as it happens. Filters by framework, agent, role and kind; Pause holds the table
// still (new lines are kept and counted) until Resume.
//
// It reads /api/v1/offers/events with the newest lines replayed first; a reconnect replays
// them again, and a line already shown is recognised by its offer and kind.
import { clock, h, renderIfChanged } from '/ui/shared/dom.js';
import { offerDetail, offerMatches } from './model.js';

const REPLAY = 500;
const KEEP = 5000;
const SHOW = 300;
const KINDS = ['OFFERED', 'ACCEPTED', 'DECLINED', 'RESCINDED', 'EXPIRED'];

export function offersView() {
  let source;
  let body;
  let head;
  let controls;
  let state;
  /** Newest first. */
  let lines = [];
  let held = [];
  const seen = new Set();
  let paused = false;
  let redraw = 0;
  const filter = { framework: '', agent: '', role: '', kind: '' };
  let connected = false;
  let frame;
  /** A replay brings hundreds of lines at once: one redraw per animation frame. */
  const soon = () => { frame ??= requestAnimationFrame(() => { frame = undefined; draw(); }); };

  const key = (e) => `${e.type} ${e.offerId}`;

  function add(e) {
    if (seen.has(key(e))) return;
    seen.add(key(e));
    if (paused) held.push(e); else lines.unshift(e);
    if (lines.length > KEEP) for (const gone of lines.splice(KEEP)) seen.delete(key(gone));
    soon();
  }

  function setPaused(p) {
    paused = p;
    if (!p) {
      lines = [...held.reverse(), ...lines];
      held = [];
    }
    draw();
  }

  function select(name, label, options) {
    const id = `offer-${name}`;
    const el = h('select', { id, 'data-testid': id, onchange: (e) => { filter[name] = e.target.value; draw(); } },
      h('option', { value: '' }, 'all'), options.map(([value, text]) => h('option', { value }, text)));
    el.value = filter[name];
    return [h('label', { for: id }, label), el];
  }

  function drawControls() {
    if (!state) return;
    const roles = new Set(lines.map((e) => e.role));
    for (const f of state.frameworks.values()) for (const r of f.roles) roles.add(r);
    const frameworks = [...state.frameworks.values()].map((f) => [f.id, f.name || f.id]);
    const agents = [...state.agents.values()].map((a) => [a.id, a.hostname]);
    renderIfChanged(controls, JSON.stringify([frameworks, agents, [...roles], paused, held.length, filter]), () => [
      select('framework', 'Framework', frameworks),
      select('agent', 'Agent', agents),
      select('role', 'Role', [...roles].sort().map((r) => [r, r])),
      select('kind', 'Kind', KINDS.map((k) => [k, k.toLowerCase()])),
      h('button', { type: 'button', 'data-testid': 'offer-pause', 'aria-pressed': String(paused), onclick: () => setPaused(!paused) }, paused ? 'Resume' : 'Pause'),
      paused ? h('span', { class: 'muted', 'data-testid': 'offer-held', role: 'status' }, `paused; ${held.length} new line${held.length === 1 ? '' : 's'} held`) : null,
    ]);
  }

  function draw() {
    redraw += 1;
    drawControls();
    head.textContent = connected ? 'live' : 'connecting…';
    head.className = connected ? 'stream on' : 'stream off';
    renderIfChanged(body, redraw, () => {
      const shown = [];
      for (const e of lines) {
        if (!offerMatches(e, filter)) continue;
        shown.push(e);
        if (shown.length === SHOW) break;
      }
      if (shown.length === 0) return h('p', { class: 'empty', 'data-testid': 'no-offers' }, lines.length === 0 ? 'No offer yet.' : 'No line matches.');
      const fw = (id) => state?.frameworks.get(id)?.name || id;
      const agent = (id) => state?.agents.get(id)?.hostname ?? id;
      return h('table', { class: 'list offers', 'data-testid': 'offer-log' },
        h('thead', {}, h('tr', {}, ['Time', 'Kind', 'Framework', 'Agent', 'Role', 'Resources', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, shown.map((e) => h('tr', { 'data-testid': 'offer-row', 'data-kind': e.type, 'data-offer-id': e.offerId },
          h('td', { class: 'num' }, h('time', { datetime: new Date(e.at).toISOString() }, clock(e.at))),
          h('td', {}, h('span', { class: `badge badge-offer-${e.type.toLowerCase()}` }, e.type.toLowerCase())),
          h('td', { title: e.frameworkId }, fw(e.frameworkId)),
          h('td', { title: e.agentId }, agent(e.agentId)),
          h('td', {}, e.role),
          h('td', {}, h('code', { class: 'small' }, e.resources)),
          h('td', { 'data-testid': 'offer-detail' }, offerDetail(e))))));
    });
  }

  return {
    title: 'Offer log',
    mount(root) {
      head = h('span', { class: 'stream off', 'data-testid': 'offer-stream' }, 'connecting…');
      controls = h('form', { class: 'filters', role: 'search', 'aria-label': 'Offer log filters', onsubmit: (e) => e.preventDefault() });
      body = h('div');
      root.append(
        h('div', { class: 'view-head' }, h('h2', { tabindex: '-1' }, 'Offer log'), head),
        h('p', { class: 'muted small' }, `Newest first; the master's last ${REPLAY} lines, then each as it happens. `,
          'Older lines: ', h('code', {}, 'agora offers --since 1h'), ' or ', h('a', { href: '/api/v1/offers?since=1h' }, '/api/v1/offers'), '.'),
        controls, body);
      source = new EventSource(`/api/v1/offers/events?replay=${REPLAY}`);
      source.addEventListener('open', () => { connected = true; draw(); });
      source.addEventListener('error', () => { connected = false; draw(); });
      source.addEventListener('message', (m) => {
        try { add(JSON.parse(m.data)); } catch { /* a malformed line is skipped */ }
      });
      draw();
    },
    update(s) { state = s; draw(); },
    unmount() {
      source?.close();
      if (frame) cancelAnimationFrame(frame);
    },
  };
}
