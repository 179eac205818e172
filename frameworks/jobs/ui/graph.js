// The dependency graph's layout: layers from the dependencies (a job one to the right of its
// deepest parent), an order within each layer that keeps edges short (a few barycenter
// sweeps), and coordinates for an SVG drawn left to right. Pure, and bounded: the API refuses
// cycles, but a cycle in what it serves still ends (its back edges are left out).

const SWEEPS = 4;
export const GEOMETRY = { charWidth: 7.2, padX: 14, nodeHeight: 30, gapX: 70, gapY: 18, margin: 12 };

/** `nodes`: [{ id, parents: [id] }] → the layer of each id (longest path from a job without parents). */
export function layers(nodes) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layer = new Map();
  const state = new Map();   // id → 'open' while on the path, 'done' after
  for (const root of nodes) {
    if (state.has(root.id)) continue;
    // Iterative depth-first: a 10 000-job chain must not overflow the stack.
    const stack = [{ id: root.id, i: 0 }];
    state.set(root.id, 'open');
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const parents = (byId.get(top.id)?.parents ?? []).filter((p) => byId.has(p));
      if (top.i < parents.length) {
        const p = parents[top.i++];
        if (!state.has(p)) { state.set(p, 'open'); stack.push({ id: p, i: 0 }); }
        continue;
      }
      const done = parents.filter((p) => state.get(p) === 'done');   // an 'open' parent is a cycle's back edge
      layer.set(top.id, done.length === 0 ? 0 : 1 + Math.max(...done.map((p) => layer.get(p))));
      state.set(top.id, 'done');
      stack.pop();
    }
  }
  return layer;
}

/**
 * The whole layout: `{ nodes: [{id, x, y, width, height, layer}], edges: [{from, to, d}],
 * width, height }`, `d` an SVG path from the parent's right side to the child's left side.
 * An edge that spans layers passes through a slot of its own in each layer between (a dummy
 * node, as Sugiyama's method has it), so it goes around the jobs there, not through them.
 */
export function layout(nodes, g = GEOMETRY) {
  const layerOf = layers(nodes);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const edges = nodes.flatMap((n) => (n.parents ?? []).filter((p) => byId.has(p) && layerOf.get(p) < layerOf.get(n.id)).map((p) => ({ from: p, to: n.id })));
  const count = nodes.length === 0 ? 0 : Math.max(...layerOf.values()) + 1;
  const columns = Array.from({ length: count }, () => []);
  for (const n of [...nodes].sort((a, b) => a.id.localeCompare(b.id))) columns[layerOf.get(n.id)].push(n.id);
  // Each edge as a chain of links between neighbouring layers; dummies are named so no job id can be one.
  const links = [];
  const chains = edges.map((e, k) => {
    const chain = [e.from];
    for (let l = layerOf.get(e.from) + 1; l < layerOf.get(e.to); l++) {
      const dummy = `\u0000${k}:${l}`;
      columns[l].push(dummy);
      chain.push(dummy);
    }
    chain.push(e.to);
    for (let i = 1; i < chain.length; i++) links.push({ from: chain[i - 1], to: chain[i] });
    return chain;
  });
  order(columns, links);

  const isDummy = (id) => id.startsWith('\u0000');
  const widths = columns.map((c) => Math.max(60, ...c.filter((id) => !isDummy(id)).map((id) => id.length * g.charWidth + 2 * g.padX)));
  const tallest = Math.max(0, ...columns.map((c) => c.length));
  const height = 2 * g.margin + Math.max(1, tallest) * (g.nodeHeight + g.gapY) - g.gapY;
  const placed = new Map();
  let x = g.margin;
  columns.forEach((c, i) => {
    // Each column centred vertically: a lone child sits level with the middle of its parents.
    const top = g.margin + ((tallest - c.length) * (g.nodeHeight + g.gapY)) / 2;
    c.forEach((id, j) => placed.set(id, { id, layer: i, x, y: top + j * (g.nodeHeight + g.gapY), width: widths[i], height: g.nodeHeight }));
    x += widths[i] + g.gapX;
  });
  const width = nodes.length === 0 ? 2 * g.margin : x - g.gapX + g.margin;
  return {
    nodes: [...placed.values()].filter((n) => !isDummy(n.id)),
    edges: edges.map((e, k) => ({ ...e, d: path(chains[k].map((id) => placed.get(id)), isDummy) })),
    width, height,
  };
}

/** Barycenter sweeps: each job placed at the mean position of its neighbours in the layer before (then after). */
function order(columns, edges) {
  const parents = new Map();
  const children = new Map();
  for (const e of edges) {
    parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
    children.set(e.from, [...(children.get(e.from) ?? []), e.to]);
  }
  const pos = new Map();
  const index = () => columns.forEach((c) => c.forEach((id, i) => pos.set(id, i / Math.max(1, c.length - 1))));
  index();
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    const down = sweep % 2 === 0;
    const range = down ? columns.keys() : [...columns.keys()].reverse();
    for (const i of range) {
      const near = down ? parents : children;
      const key = (id) => {
        const ns = near.get(id) ?? [];
        return ns.length === 0 ? pos.get(id) : ns.reduce((sum, n) => sum + pos.get(n), 0) / ns.length;
      };
      columns[i].sort((a, b) => key(a) - key(b) || a.localeCompare(b));
      columns[i].forEach((id, j) => pos.set(id, j / Math.max(1, columns[i].length - 1)));
    }
  }
}

/**
 * Through the chain's boxes, left to right: a curve from each box's right side to the next
 * one's left side (level at both ends), and straight across a dummy's slot.
 */
function path(boxes, isDummy) {
  const mid = (b) => b.y + b.height / 2;
  const first = boxes[0];
  let d = `M${first.x + first.width},${mid(first)}`;
  for (let i = 1; i < boxes.length; i++) {
    const a = boxes[i - 1];
    const b = boxes[i];
    const x1 = a.x + a.width;
    const x2 = b.x;
    const bend = Math.max(20, (x2 - x1) / 2);
    d += ` C${x1 + bend},${mid(a)} ${x2 - bend},${mid(b)} ${x2},${mid(b)}`;
    if (isDummy(b.id)) d += ` L${b.x + b.width},${mid(b)}`;
  }
  return d;
}
