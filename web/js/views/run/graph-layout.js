// Where the graph view draws each node and edge: a layered layout, pure (no DOM). Layers come
// from the server (a node's `depth`: the longest chain of calls to it without following `back`
// edges), so every other edge points down; a layer wider than ROW_SIZE wraps onto more rows.
// Within a layer nodes are ordered by where their callers are (the mean of their x), so calls
// cross less, then the most called first, so a wrapped layer's first row holds its main steps;
// back edges, which close cycles, are routed around the right of the nodes.

export const NODE_W = 188;
export const NODE_H = 52;
const GAP_X = 36;
const GAP_Y = 64;
const ROW_GAP = 22;
export const PAD = 24;
/** Room on the right for back edges' curves. */
const BACK_ROOM = 96;
const ROW_SIZE = 8;

/**
 * `{nodes: Map(id → {x, y, wrapped, node}), width, height, order: [ids by layer then x]}` for a
 * graph answer of GET /runs/{id}/graph; `wrapped` is true past a layer's first row.
 */
export function layout(graph) {
  const callers = new Map();
  for (const e of graph.edges) {
    if (e.back || e.from === e.to) continue;
    if (!callers.has(e.to)) callers.set(e.to, []);
    callers.get(e.to).push(e.from);
  }
  const layers = [];
  for (const n of graph.nodes) {
    const d = Number(n.depth) || 0;
    (layers[d] ||= []).push(n);
  }
  const widest = Math.min(ROW_SIZE, Math.max(1, ...layers.filter(Boolean).map((l) => l.length)));
  const placed = new Map();
  const order = [];
  let y = PAD;
  for (const layer of layers) {
    if (!layer) continue;
    const meanX = (n) => {
      const xs = (callers.get(n.id) || []).map((id) => placed.get(id)?.x).filter((x) => x != null);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Infinity;
    };
    const keyed = layer.map((n) => ({ n, key: meanX(n) }));
    keyed.sort((a, b) => (a.key - b.key) || (b.n.count - a.n.count) || (a.n.id - b.n.id));
    for (let start = 0; start < keyed.length; start += ROW_SIZE) {
      const row = keyed.slice(start, start + ROW_SIZE);
      const offset = ((widest - row.length) * (NODE_W + GAP_X)) / 2;
      row.forEach(({ n }, i) => {
        placed.set(n.id, { x: PAD + offset + i * (NODE_W + GAP_X), y, wrapped: start > 0, node: n });
        order.push(n.id);
      });
      y += NODE_H + (start + ROW_SIZE < keyed.length ? ROW_GAP : GAP_Y);
    }
  }
  return {
    nodes: placed,
    order,
    width: PAD * 2 + widest * (NODE_W + GAP_X) - GAP_X + BACK_ROOM,
    height: Math.max(y - GAP_Y + PAD, PAD * 2 + NODE_H),
  };
}

/** The SVG path of an edge between placed nodes `a` and `b`, and where its count goes. */
export function edgePath(a, b, back) {
  if (a === b) {
    // A call to itself: a loop on the right side.
    const x = a.x + NODE_W;
    const top = a.y + 12;
    const bottom = a.y + NODE_H - 12;
    return {
      d: `M ${x} ${top} C ${x + 46} ${top - 18}, ${x + 46} ${bottom + 18}, ${x} ${bottom}`,
      label: { x: x + 40, y: a.y + NODE_H / 2 + 4 },
    };
  }
  if (back) {
    // Back up to a caller: out of the right side and round into the caller's right side.
    const sx = a.x + NODE_W;
    const sy = a.y + NODE_H / 2;
    const tx = b.x + NODE_W;
    const ty = b.y + NODE_H / 2;
    const bulge = 40 + Math.min(60, Math.abs(sy - ty) / 4);
    const right = Math.max(sx, tx) + bulge;
    return {
      d: `M ${sx} ${sy} C ${right} ${sy}, ${right} ${ty}, ${tx} ${ty}`,
      label: { x: right - bulge / 4, y: (sy + ty) / 2 },
    };
  }
  const sx = a.x + NODE_W / 2;
  const sy = a.y + NODE_H;
  const tx = b.x + NODE_W / 2;
  const ty = b.y;
  const bend = Math.max(24, (ty - sy) / 2);
  return {
    d: `M ${sx} ${sy} C ${sx} ${sy + bend}, ${tx} ${ty - bend}, ${tx} ${ty}`,
    label: { x: (sx + tx) / 2, y: (sy + ty) / 2 },
  };
}

/**
 * Which node arrow keys move to from `id`: along its row (left, right), or to the nearest node
 * of the row above or below.
 */
export function neighbour(placed, order, id, key) {
  const at = placed.get(id);
  if (!at) return order[0] ?? null;
  const rows = new Map();
  for (const other of order) {
    const p = placed.get(other);
    if (!rows.has(p.y)) rows.set(p.y, []);
    rows.get(p.y).push(other);
  }
  const ys = [...rows.keys()].sort((a, b) => a - b);
  const row = rows.get(at.y);
  const i = row.indexOf(id);
  if (key === 'ArrowLeft') return row[Math.max(0, i - 1)];
  if (key === 'ArrowRight') return row[Math.min(row.length - 1, i + 1)];
  if (key === 'Home') return order[0];
  if (key === 'End') return order[order.length - 1];
  const r = ys.indexOf(at.y) + (key === 'ArrowDown' ? 1 : key === 'ArrowUp' ? -1 : 0);
  if (r < 0 || r >= ys.length || r === ys.indexOf(at.y)) return id;
  const nearest = rows.get(ys[r]).reduce((best, other) => (
    Math.abs(placed.get(other).x - at.x) < Math.abs(placed.get(best).x - at.x) ? other : best));
  return nearest;
}
