// The spans of a run as a tree (for the transcript of a run read whole), and where a span sits
// on the run's time axis. DOM-free, so it is unit tested in node. Spans are hostile input: parents may be missing, point at themselves or form
// cycles, and a run may be thousands of spans deep, so nothing here recurses.

/**
 * Builds the tree from `parent_span_id`. A span whose parent is missing (not arrived, or never
 * sent) is shown at the top level; children are ordered by start time.
 * Returns `{roots, nodes: Map<span_id, node>, order: node[] (pre-order), start, end}` where a node
 * is `{id, span, parent, children, depth, orphan}` and start/end are unix nanoseconds (numbers).
 */
export function buildTree(spans) {
  const nodes = new Map();
  for (const span of spans || []) {
    if (!span || typeof span.span_id !== 'string' || nodes.has(span.span_id)) continue;
    nodes.set(span.span_id, { id: span.span_id, span, parent: null, children: [], depth: 0, orphan: false });
  }
  const roots = [];
  for (const node of nodes.values()) {
    const parentId = node.span.parent_span_id;
    const parent = parentId ? nodes.get(parentId) : null;
    if (parent && parent !== node) {
      node.parent = parent;
      parent.children.push(node);
    } else {
      node.orphan = Boolean(parentId);
      roots.push(node);
    }
  }
  // Spans caught in a parent cycle are unreachable from any root: break the cycle at its earliest span.
  let order = preOrder(roots);
  if (order.length < nodes.size) {
    const seen = new Set(order);
    const stranded = [...nodes.values()].filter((n) => !seen.has(n)).sort(byStart);
    for (const node of stranded) {
      if (seen.has(node)) continue;
      node.parent?.children.splice(node.parent.children.indexOf(node), 1);
      node.parent = null;
      node.orphan = true;
      roots.push(node);
      for (const n of preOrder([node])) seen.add(n);
    }
    order = preOrder(roots);
  }
  let start = Infinity;
  let end = -Infinity;
  for (const node of order) {
    const s = startOf(node.span);
    const e = endOf(node.span);
    if (s < start) start = s;
    if (e > end) end = e;
  }
  if (!Number.isFinite(start)) start = 0;
  if (!Number.isFinite(end) || end < start) end = start;
  return { roots, nodes, order, start, end };
}

/** Sorts children by start time and sets depths, walking iteratively. Returns the pre-order. */
function preOrder(roots) {
  roots.sort(byStart);
  const out = [];
  const stack = [...roots].reverse();
  for (const root of roots) root.depth = 0;
  const visited = new Set();
  while (stack.length) {
    const node = stack.pop();
    if (visited.has(node)) continue;
    visited.add(node);
    out.push(node);
    node.children.sort(byStart);
    for (let i = node.children.length - 1; i >= 0; i -= 1) {
      const child = node.children[i];
      child.depth = node.depth + 1;
      stack.push(child);
    }
  }
  return out;
}

function byStart(a, b) {
  return startOf(a.span) - startOf(b.span) || endOf(b.span) - endOf(a.span);
}

/** Unix nanoseconds as a number (precise to a few hundred ns, plenty for display). */
export function startOf(span) {
  const t = Number(span?.start_time_unix_nano);
  return Number.isFinite(t) ? t : 0;
}

export function endOf(span) {
  const t = Number(span?.end_time_unix_nano);
  const s = startOf(span);
  return Number.isFinite(t) && t >= s ? t : s;
}

/** Duration of a span in milliseconds. */
export function durationMs(span) {
  return (endOf(span) - startOf(span)) / 1e6;
}

/** Where a span sits in the run, as fractions of the run's length: `{left, width}` in [0, 1]. */
export function placement(span, tree) {
  const total = tree.end - tree.start;
  if (total <= 0) return { left: 0, width: 1 };
  const left = Math.min(1, Math.max(0, (startOf(span) - tree.start) / total));
  const width = Math.min(1 - left, Math.max(0, (endOf(span) - startOf(span)) / total));
  return { left, width };
}

/** Nice round tick positions for a time axis of `totalMs`: `[{ms, fraction}]`, about `target` of them. */
export function ticks(totalMs, target = 6) {
  if (!(totalMs > 0)) return [{ ms: 0, fraction: 0 }];
  const raw = totalMs / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw) || raw;
  const out = [];
  for (let ms = 0; ms <= totalMs + step * 1e-9; ms += step) out.push({ ms, fraction: ms / totalMs });
  return out;
}
