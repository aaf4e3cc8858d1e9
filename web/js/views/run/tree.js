// The tree view: one row per span, nested by parent, with what the span was and what it cost.
// Rows are virtual (only those in view exist), so a 1,000-span run scrolls like a 10-span one.
import { h, icon } from '../../dom.js';
import * as fmt from '../../format.js';
import * as badges from '../../components/badges.js';
import { createVirtualList } from '../../components/virtual-list.js';
import { detailOf, spanDuration, tokensOf } from './common.js';
import { placement } from './spantree.js';

export const ROW_HEIGHT = 34;
const INDENT = 18;

/**
 * `model`: {tree, rows, collapsed, cursor, selected}; `actions`: {select, toggle, setCursor, key}.
 * Returns `{el, refresh(), reveal(id), focus(), dispose()}`.
 */
export function createTreeView(model, actions) {
  const header = h('div', { class: 'tree-head', role: 'row' },
    h('span', { role: 'columnheader' }, 'Span'),
    h('span', { class: 'num', role: 'columnheader' }, 'Tokens'),
    h('span', { class: 'num', role: 'columnheader' }, 'Duration'),
    h('span', { role: 'columnheader' }, 'Timing'));
  const list = createVirtualList({
    rowHeight: ROW_HEIGHT,
    renderRow: (i) => row(model.rows[i], model, actions),
    className: 'span-tree',
    header,
    label: 'Spans',
  });
  list.el.setAttribute('role', 'tree');
  list.el.setAttribute('tabindex', '0');
  list.el.dataset.testid = 'span-tree';
  list.el.addEventListener('keydown', (event) => actions.key(event));
  list.setCount(model.rows.length);
  return viewHandle(list, model);
}

/** What the tree and the timeline share: re-render, scroll a span into view, focus. */
export function viewHandle(list, model) {
  return {
    el: list.el,
    refresh() {
      list.setCount(model.rows.length);
    },
    reveal(id, align) {
      const index = model.rows.findIndex((n) => n.id === id);
      if (index >= 0) list.scrollToIndex(index, { align });
      list.refresh();
    },
    focus() {
      list.el.focus({ preventScroll: true });
    },
    dispose: list.dispose,
  };
}

function row(node, model, actions) {
  const span = node.span;
  const expanded = node.children.length > 0 && !model.collapsed.has(node.id);
  const place = placement(span, model.tree);
  const tokens = tokensOf(span);
  const failed = span.status === 'error';
  const el = h('div', {
    class: ['tree-row', node.id === model.cursor && 'cursor', node.id === model.selected && 'selected', failed && 'failed'],
    role: 'treeitem',
    'aria-level': node.depth + 1,
    'aria-expanded': node.children.length ? String(expanded) : null,
    'aria-selected': String(node.id === model.selected),
    dataset: { spanId: node.id, kind: span.kind || 'span' },
    onclick: () => actions.select(node.id),
  },
  h('div', { class: 'tree-cell-name' },
    guides(node.depth),
    caret(node, expanded, actions),
    badges.kind(span.kind),
    h('span', { class: 'tree-name', title: span.name }, span.name || '(unnamed)'),
    detailOf(span) ? h('span', { class: 'tree-detail' }, detailOf(span)) : null,
    node.orphan ? h('span', { class: 'tree-orphan', title: 'Its parent span has not arrived' }, 'orphan') : null,
    failed ? h('span', { class: 'tree-error', title: span.status_message || 'Error' }, icon('alert', { size: 14 })) : null),
  h('span', { class: 'num tree-tokens' }, tokens == null ? '' : fmt.compact(tokens)),
  h('span', { class: 'num tree-duration' }, spanDuration(span)),
  h('span', { class: 'tree-bar-track', 'aria-hidden': 'true' },
    h('span', { class: ['tree-bar', `bar-${span.kind || 'span'}`, failed && 'bar-error'], style: { left: pct(place.left), width: `max(2px, ${pct(place.width)})` } })));
  return el;
}

function guides(depth) {
  return depth > 0 ? h('span', { class: 'tree-indent', style: { width: `${depth * INDENT}px` }, 'aria-hidden': 'true' }) : null;
}

function caret(node, expanded, actions) {
  if (!node.children.length) return h('span', { class: 'tree-caret-space' });
  return h('button', {
    type: 'button',
    class: ['tree-caret', expanded && 'open'],
    tabindex: '-1',
    'aria-label': expanded ? 'Collapse' : 'Expand',
    title: `${expanded ? 'Collapse' : 'Expand'} (${node.children.length} child span${node.children.length === 1 ? '' : 's'})`,
    onclick: (event) => {
      event.stopPropagation();
      actions.toggle(node.id);
    },
  }, icon('chevronRight', { size: 14 }));
}

export function pct(fraction) {
  return `${(fraction * 100).toFixed(3)}%`;
}
