// The run as a graph of its agents, tools and model calls (GET /runs/{id}/graph): one node per
// name with its count, an arrow per caller → callee with the number of calls, back edges (cycles)
// curved round the side. The server builds the graph from the run's outline, so a run of any
// length costs one small answer here. Clicking a node (or Enter on it) selects its first span
// in the panel and shows the node's numbers above the graph.
//
// Names are span content, so hostile: they reach the SVG as text nodes only (dom.js `svg`).
import { h, replace, svg } from '../../dom.js';
import * as api from '../../api.js';
import * as fmt from '../../format.js';
import { kind as kindBadge } from '../../components/badges.js';
import { empty, errorState, loading } from '../../components/states.js';
import { NODE_H, NODE_W, edgePath, layout, neighbour } from './graph-layout.js';

const LABEL_CHARS = 22;
let latest = null; // { runId, promise }: switching views back and forth asks once

function fetchGraph(runId) {
  if (latest?.runId !== runId) {
    latest = { runId, promise: api.get(`/runs/${encodeURIComponent(runId)}/graph`) };
    latest.promise.catch(() => { if (latest?.runId === runId) latest = null; });
  }
  return latest.promise;
}

/** Drops a run's graph read before (it gained spans): the next view reads it again. */
export function forgetGraph(runId) {
  if (latest?.runId === runId) latest = null;
}

export function createGraphView(run, model, actions) {
  const details = h('div', { class: 'graph-details', 'data-testid': 'graph-details', 'aria-live': 'polite' });
  const scroller = h('div', { class: 'graph-scroll', tabindex: '-1' }, loading('Loading graph…'));
  const el = h('div', { class: 'graph-view', 'data-testid': 'graph' }, details, scroller);
  let disposed = false;
  let drawn = null; // { graph, placed, order, els: Map(id → g) }
  let current = null; // the node id chosen, or the roving focus

  const load = () => {
    replace(scroller, loading('Loading graph…'));
    fetchGraph(run.run_id).then((graph) => {
      if (!disposed) draw(graph);
    }).catch((err) => {
      if (!disposed) replace(scroller, errorState(err, load));
    });
  };

  function draw(graph) {
    if (!graph.nodes.length) {
      replace(scroller, empty('No spans to draw', 'This run has no spans yet.'));
      return;
    }
    const { nodes: placed, order, width, height } = layout(graph);
    const edges = graph.edges.map((e) => drawEdge(e, placed, graph));
    const els = new Map();
    const nodes = order.map((id) => {
      const g = drawNode(placed.get(id));
      els.set(id, g);
      return g;
    });
    const canvas = svg('svg', {
      class: 'graph-svg', width, height, viewBox: `0 0 ${width} ${height}`, role: 'group',
      'aria-label': `Graph of the run: ${graph.nodes.length} nodes, ${graph.edges.length} calls between them`,
    },
    svg('defs', null,
      arrow('graph-arrow', 'graph-arrowhead'),
      arrow('graph-arrow-back', 'graph-arrowhead back')),
    svg('g', { class: 'graph-edges' }, edges),
    svg('g', { class: 'graph-nodes' }, nodes));
    replace(scroller, canvas);
    drawn = { graph, placed, order, els };
    const chosen = nodeOfSpan(model.selected);
    rove(chosen ?? order[0]);
    mark(chosen);
    showDetails(graph, chosen != null ? graph.nodes[chosen] : null);
  }

  function drawNode({ x, y, node }) {
    const label = node.label || '(unnamed)';
    const short = label.length > LABEL_CHARS ? `${label.slice(0, LABEL_CHARS - 1)}…` : label;
    const stats = [`×${fmt.count(node.count)}`];
    if (node.errors) stats.push(`${fmt.count(node.errors)} failed`);
    stats.push(fmt.duration(node.duration_ns / 1e6));
    const kindName = node.other ? 'other' : node.kind;
    const g = svg('g', {
      class: ['graph-node', node.errors && 'has-errors', node.other && 'other'],
      transform: `translate(${x} ${y})`, tabindex: '-1', role: 'button', focusable: 'true',
      'data-testid': 'graph-node', 'data-node-id': node.id, 'data-kind': kindName,
      'aria-label': `${kindName} ${label}: ${node.count} span${node.count === 1 ? '' : 's'}${node.errors ? `, ${node.errors} failed` : ''}`,
      onclick: () => choose(node.id),
      onkeydown: (event) => key(event, node.id),
      onfocus: () => { current = node.id; },
    },
    svg('title', null, `${kindName} ${label}`),
    svg('rect', { class: 'graph-box', width: NODE_W, height: NODE_H, rx: 7 }),
    svg('rect', { class: 'graph-kind-bar', width: 5, height: NODE_H, rx: 2 }),
    svg('text', { class: 'graph-label', x: 14, y: 21 }, short),
    svg('text', { class: 'graph-stats', x: 14, y: 40 },
      svg('tspan', { class: 'graph-count', 'data-testid': 'graph-count' }, stats[0]),
      node.errors ? svg('tspan', { class: 'graph-errors', dx: 8 }, stats[1]) : null,
      svg('tspan', { class: 'graph-duration', dx: 8 }, stats[stats.length - 1])));
    return g;
  }

  function drawEdge(e, placed, graph) {
    const a = placed.get(e.from);
    const b = placed.get(e.to);
    const back = e.back || e.from === e.to;
    const { d, label } = edgePath(a, b, back);
    const width = Math.min(6, 1.2 + Math.log10(e.count) * 1.6);
    const name = (id) => graph.nodes[id].label || '(unnamed)';
    // Calls into a wrapped row cross the rows above it: drawn faint, their count in the title.
    return svg('g', {
      class: ['graph-edge', back && 'back', !back && b.wrapped && 'faint'], 'data-testid': 'graph-edge',
      'data-from': e.from, 'data-to': e.to, 'data-back': String(Boolean(e.back)),
    },
    svg('title', null, `${name(e.from)} → ${name(e.to)}: ${e.count} call${e.count === 1 ? '' : 's'}${back ? ' (back: a cycle)' : ''}`),
    svg('path', { d, 'stroke-width': width, 'marker-end': `url(#${back ? 'graph-arrow-back' : 'graph-arrow'})` }),
    svg('text', { class: 'graph-edge-count', x: label.x, y: label.y }, `×${fmt.compact(e.count)}`));
  }

  function arrow(id, cls) {
    // Sized in the drawing's units, not by the edge's width.
    return svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' },
      svg('path', { class: cls, d: 'M 0 0 L 10 5 L 0 10 z' }));
  }

  function showDetails(graph, node) {
    const summary = h('span', { class: 'muted small' },
      `${fmt.count(graph.nodes.length)} nodes · ${fmt.count(graph.edges.length)} edges · ${fmt.count(graph.spans)} spans`,
      graph.capped ? ' · only the most called names are drawn; the rest are in “other” nodes' : null,
      graph.edges.some((e) => e.back) ? h('span', { class: 'graph-legend-back' }, ' · dashed: a call back up (a cycle)') : null);
    if (!node) {
      replace(details, summary, h('span', { class: 'muted small' }, ' · select a node to see its spans'));
      return;
    }
    const facts = [
      ['Spans', fmt.count(node.count)],
      ['Failed', fmt.count(node.errors)],
      ['Total time', fmt.duration(node.duration_ns / 1e6)],
    ];
    if (node.tokens != null) facts.push(['Tokens', fmt.count(node.tokens)]);
    if (node.cost_usd != null) facts.push(['Cost', fmt.cost(node.cost_usd)]);
    if (node.other) facts.push(['Names merged', fmt.count(node.names)]);
    replace(details,
      h('div', { class: 'graph-details-head' },
        node.other ? h('span', { class: 'badge kind' }, 'Other') : kindBadge(node.kind),
        h('strong', { class: 'graph-details-label', 'data-testid': 'graph-details-label' }, node.label || '(unnamed)')),
      h('dl', { class: 'graph-facts' }, facts.map(([k, v]) => [h('dt', null, k), h('dd', { dataset: { fact: k } }, v)])),
      h('div', { class: 'graph-details-actions' },
        h('button', { type: 'button', class: 'button small', 'data-testid': 'graph-first-span', onclick: () => actions.select(node.first_span_id) }, 'First span'),
        node.first_error_span_id
          ? h('button', { type: 'button', class: 'button small', 'data-testid': 'graph-first-error', onclick: () => actions.select(node.first_error_span_id) }, 'First failure')
          : null),
      summary);
  }

  /** Chooses a node: marks it, shows its numbers and selects its first span in the panel. */
  function choose(id) {
    if (!drawn) return;
    const node = drawn.graph.nodes[id];
    rove(id);
    mark(id);
    showDetails(drawn.graph, node);
    actions.select(node.first_span_id);
  }

  function mark(id) {
    for (const [other, g] of drawn.els) g.classList.toggle('selected', other === id);
  }

  /** Only one node is in the tab order: arrows move among them. */
  function rove(id) {
    if (!drawn || id == null) return;
    for (const [other, g] of drawn.els) g.setAttribute('tabindex', other === id ? '0' : '-1');
    current = id;
  }

  function key(event, id) {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      choose(id);
      return;
    }
    if (!['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'].includes(event.key)) return;
    event.preventDefault();
    const next = neighbour(drawn.placed, drawn.order, id, event.key);
    if (next == null) return;
    rove(next);
    const g = drawn.els.get(next);
    g.focus();
    g.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
  }

  /** The node whose first span (or first failure) is `spanId`. */
  function nodeOfSpan(spanId) {
    if (!drawn || !spanId) return null;
    const n = drawn.graph.nodes.find((x) => x.first_span_id === spanId || x.first_error_span_id === spanId);
    return n ? n.id : null;
  }

  // Dragging the background pans, as scrolling does.
  scroller.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || event.target.closest?.('.graph-node')) return;
    const start = { x: event.clientX, y: event.clientY, left: scroller.scrollLeft, top: scroller.scrollTop };
    scroller.setPointerCapture(event.pointerId);
    scroller.classList.add('panning');
    const move = (e) => {
      scroller.scrollLeft = start.left - (e.clientX - start.x);
      scroller.scrollTop = start.top - (e.clientY - start.y);
    };
    const up = () => {
      scroller.classList.remove('panning');
      scroller.removeEventListener('pointermove', move);
      scroller.removeEventListener('pointerup', up);
      scroller.removeEventListener('pointercancel', up);
    };
    scroller.addEventListener('pointermove', move);
    scroller.addEventListener('pointerup', up);
    scroller.addEventListener('pointercancel', up);
  });

  load();
  return {
    el,
    focus() {
      const g = drawn && current != null ? drawn.els.get(current) : null;
      (g || scroller).focus({ preventScroll: true });
    },
    refresh() {},
    /** The run changed (it is still arriving): drawn again once read, the old drawing kept till then. */
    reload() {
      const { scrollLeft, scrollTop } = scroller;
      fetchGraph(run.run_id).then((graph) => {
        if (disposed) return;
        draw(graph);
        scroller.scrollLeft = scrollLeft;
        scroller.scrollTop = scrollTop;
      }).catch(() => {});
    },
    setSelected(id) {
      if (!drawn) return;
      const n = nodeOfSpan(id);
      if (n != null) {
        rove(n);
        showDetails(drawn.graph, drawn.graph.nodes[n]);
      }
      if (n != null || !id) mark(n);
    },
    reveal(id) {
      const n = nodeOfSpan(id);
      drawn?.els.get(n)?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
    },
    dispose() {
      disposed = true;
    },
  };
}
