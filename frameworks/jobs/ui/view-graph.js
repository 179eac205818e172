// #/graph: the jobs and their dependencies drawn as an SVG, parents left of their children
// (graph.js lays it out), each job coloured by its last result and outlined while it runs;
// a job links to its page. The same edges as a list, for screen readers and for copying.
import { h, renderIfChanged, s } from '/ui/shared/dom.js';
import { viewHead } from '/ui/shared/widgets.js';
import { jobHref, jobState, lastResult, parentsOf } from './model.js';
import { layout } from './graph.js';

export function graphView() {
  const box = h('div', { class: 'graph', 'data-testid': 'graph-box' });
  const edgesList = h('ul', { class: 'plain edges', 'data-testid': 'graph-edges' });
  const focus = new URLSearchParams(location.hash.split('?')[1] ?? '').get('job');

  function draw(state) {
    const nodes = state.jobs.map((j) => ({ id: j.id, parents: parentsOf(j), result: lastResult(j).kind, state: jobState(j) }));
    renderIfChanged(box, JSON.stringify([state.loaded, nodes]), () => {
      if (!state.loaded) return h('p', { class: 'muted' }, 'Loading…');
      if (nodes.length === 0) return h('p', { class: 'empty', 'data-testid': 'no-jobs' }, 'No jobs yet.');
      const g = layout(nodes);
      const info = new Map(nodes.map((n) => [n.id, n]));
      return s('svg', {
        width: g.width, height: g.height, viewBox: `0 0 ${g.width} ${g.height}`, role: 'img', 'data-testid': 'graph',
        'aria-label': `${nodes.length} jobs, ${g.edges.length} dependencies`,
      },
      s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }))),
      g.edges.map((e) => s('path', { d: e.d, class: 'edge', 'marker-end': 'url(#arrow)', 'data-testid': 'graph-edge', 'data-from': e.from, 'data-to': e.to },
        s('title', {}, `${e.from} → ${e.to}`))),
      g.nodes.map((n) => {
        const j = info.get(n.id);
        return s('a', { href: jobHref(n.id), 'data-testid': 'graph-node', 'data-job-id': n.id, 'data-result': j.result, 'data-state': j.state },
          s('title', {}, `${n.id}: last result ${j.result === 'none' ? 'none yet' : j.result}, ${j.state}`),
          s('rect', { x: n.x, y: n.y, width: n.width, height: n.height, rx: 5, class: `node node-${j.result} node-${j.state}${n.id === focus ? ' node-focus' : ''}` }),
          s('text', { x: n.x + n.width / 2, y: n.y + n.height / 2, 'dominant-baseline': 'central', 'text-anchor': 'middle', class: 'label' }, n.id));
      }));
    });
    const ids = new Set(nodes.map((n) => n.id));
    const edges = nodes.flatMap((n) => n.parents.filter((p) => ids.has(p)).map((p) => `${p} → ${n.id}`)).sort();
    renderIfChanged(edgesList, JSON.stringify(edges), () => (edges.length === 0
      ? h('li', { class: 'muted' }, 'No job depends on another.')
      : edges.map((e) => h('li', { 'data-testid': 'graph-edge-text' }, e))));
  }

  return {
    title: 'Dependency graph',
    mount(root) {
      root.append(
        viewHead('Dependency graph', h('a', { href: '/v1/scheduler/graph/dot' }, 'as Graphviz dot')),
        h('p', { class: 'legend muted' },
          h('span', { class: 'key key-success' }), ' last run succeeded ', h('span', { class: 'key key-failure' }), ' failed ',
          h('span', { class: 'key key-none' }), ' never run; a thick outline: running or starting. A job runs once all the jobs with an arrow to it have succeeded.'),
        box,
        h('h3', {}, 'Dependencies'), edgesList);
    },
    update: draw,
  };
}
