// The tree view: one row per span, nested by parent, with what the span was and what it cost.
// Rows are virtual (only those in view exist) over the run's outline, which arrives in pages
// (rows.js): a row whose page is on its way shows as a placeholder until it lands.
import { h, icon } from '../../dom.js';
import * as fmt from '../../format.js';
import * as badges from '../../components/badges.js';
import { signalMark } from '../../components/signals.js';
import { createVirtualList } from '../../components/virtual-list.js';
import { detailOf, spanDuration, tokensOf } from './common.js';
import { placement } from './spantree.js';

export const ROW_HEIGHT = 34;
const INDENT = 18;

/**
 * `model`: {rows (rows.js), bounds: {start, end}, cursor (a position), selected (a span id)};
 * `actions`: {select, toggle, openFold, key}. Returns the handle of `viewHandle`.
 */
export function createTreeView(model, actions) {
  const header = h('div', { class: 'tree-head', role: 'row' },
    h('span', { role: 'columnheader' }, 'Span'),
    h('span', { class: 'num', role: 'columnheader' }, 'Tokens'),
    h('span', { class: 'num', role: 'columnheader' }, 'Duration'),
    h('span', { role: 'columnheader' }, 'Timing'));
  return viewHandle(model, {
    rowHeight: ROW_HEIGHT,
    header,
    className: 'span-tree',
    label: 'Spans',
    testid: 'span-tree',
    renderRow: (item) => row(item, model, actions),
    actions,
  });
}

/** What the tree and the timeline share: the list over the rows, keys, scrolling to a span. */
export function viewHandle(model, { rowHeight, header, className, label, testid, renderRow, actions }) {
  let anchor = null; // the position at the top of the view, kept when rows above it change
  const list = createVirtualList({
    rowHeight,
    header,
    className,
    label,
    renderRow: (i) => {
      const item = model.rows.item(i);
      if (item.fold) {
        const el = foldRow(item, actions, rowHeight === ROW_HEIGHT ? INDENT : 14);
        el.classList.toggle('cursor', item.position === model.cursor);
        return el;
      }
      if (!item.row) return h('div', { class: 'row-loading', 'aria-busy': 'true' }, h('span', { class: 'row-skeleton' }));
      return renderRow(item);
    },
    onRender: ({ first, last }) => {
      if (last < first) return;
      model.rows.want(first, last);
      const top = Math.floor(list.el.scrollTop / rowHeight);
      anchor = { position: model.rows.positionAt(Math.min(top, model.rows.count - 1)), offset: list.el.scrollTop - top * rowHeight };
    },
  });
  list.el.setAttribute('role', 'tree');
  list.el.setAttribute('tabindex', '0');
  list.el.dataset.testid = testid;
  list.el.addEventListener('keydown', (event) => actions.key(event));
  list.setCount(model.rows.count);
  return {
    el: list.el,
    list,
    /** Redraws; rows folded or collapsed above the view do not move what is in it. */
    refresh() {
      const kept = anchor;
      list.setCount(model.rows.count);
      const index = kept ? model.rows.indexOf(kept.position) : -1;
      const top = index * rowHeight + kept?.offset;
      if (index >= 0 && Math.abs(list.el.scrollTop - top) >= 1) {
        list.el.scrollTop = top;
        list.refresh();
      }
    },
    /** Where the reader is: the span at the top of the view, and how far it is scrolled past. */
    place() {
      const top = Math.floor(list.el.scrollTop / rowHeight);
      const position = model.rows.count ? model.rows.positionAt(Math.min(top, model.rows.count - 1)) : 0;
      return { spanId: model.rows.outline.rowAt(position)?.span_id ?? null, position, offset: list.el.scrollTop - top * rowHeight, scrollTop: list.el.scrollTop };
    },
    /** Back to a `place()` over rows that changed: the same span at the top when it is known. */
    restorePlace(place) {
      list.setCount(model.rows.count);
      if (!place) return;
      const known = place.spanId ? model.rows.outline.cachedPosition(place.spanId) : null;
      const index = known == null ? -1 : model.rows.indexOf(known);
      list.el.scrollTop = index >= 0 ? index * rowHeight + place.offset : place.scrollTop;
      list.refresh();
    },
    /** Scrolls to a shown index. */
    reveal(index, align) {
      if (index < 0) return;
      list.setCount(model.rows.count);
      list.scrollToIndex(index, { align });
      list.refresh();
    },
    focus() {
      list.el.focus({ preventScroll: true });
    },
    dispose: list.dispose,
  };
}

/** Repeated sub-trees folded into one line; a click shows them. */
function foldRow(item, actions, indent) {
  const { fold, row } = item;
  const depth = row ? row.depth : 0;
  const what = fold.names.join(' → ');
  return h('div', {
    class: 'tree-fold',
    role: 'treeitem',
    'aria-expanded': 'false',
    'data-testid': 'tree-fold',
    dataset: { position: item.position },
    title: 'Show the repeats',
    onclick: () => actions.openFold(item.position),
  },
  depth > 0 ? h('span', { style: { width: `${depth * indent}px`, flex: 'none' }, 'aria-hidden': 'true' }) : null,
  h('span', { class: 'fold-caret', 'aria-hidden': 'true' }, icon('chevronRight', { size: 14 })),
  h('span', { class: 'fold-count' }, `× ${fmt.count(fold.units)} more like the above`),
  h('span', { class: 'fold-args' }, fmt.truncate(what, 80)),
  h('span', { class: 'muted small' }, `${fmt.count(fold.hidden + 1)} spans`));
}

function row(item, model, actions) {
  const span = item.row;
  const id = span.span_id;
  const parent = span.descendants > 0;
  const expanded = parent && !item.collapsed;
  const place = placement(span, model.bounds);
  const tokens = tokensOf(span);
  const failed = span.status === 'error';
  return h('div', {
    class: ['tree-row', item.position === model.cursor && 'cursor', id === model.selected && 'selected', failed && 'failed', model.matches.has(id) && 'match'],
    role: 'treeitem',
    'aria-level': span.depth + 1,
    'aria-expanded': parent ? String(expanded) : null,
    'aria-selected': String(id === model.selected),
    dataset: { spanId: id, kind: span.kind || 'span', position: item.position },
    onclick: () => actions.select(id),
  },
  h('div', { class: 'tree-cell-name' },
    span.depth > 0 ? h('span', { class: 'tree-indent', style: { width: `${span.depth * INDENT}px` }, 'aria-hidden': 'true' }) : null,
    caret(item, expanded, actions),
    badges.kind(span.kind),
    h('span', { class: 'tree-name', title: span.name }, span.name || '(unnamed)'),
    detailOf(span) ? h('span', { class: 'tree-detail' }, detailOf(span)) : null,
    isOrphan(span) ? h('span', { class: 'tree-orphan', title: 'Its parent span has not arrived' }, 'orphan') : null,
    signalMark(model.marks?.get(id)),
    failed ? h('span', { class: 'tree-error', title: 'Error' }, icon('alert', { size: 14 })) : null),
  h('span', { class: 'num tree-tokens' }, tokens == null ? '' : fmt.compact(tokens)),
  h('span', { class: 'num tree-duration' }, spanDuration(span)),
  h('span', { class: 'tree-bar-track', 'aria-hidden': 'true' },
    h('span', { class: ['tree-bar', `bar-${span.kind || 'span'}`, failed && 'bar-error'], style: { left: pct(place.left), width: `max(2px, ${pct(place.width)})` } })));
}

/** A top-level span that names a parent: the parent has not arrived. */
export function isOrphan(span) {
  return span.depth === 0 && Boolean(span.parent_span_id);
}

/** The fold caret of a row with children; `children` is what the row's title counts. */
export function caret(item, expanded, actions) {
  const span = item.row;
  if (!span.descendants) return h('span', { class: 'tree-caret-space' });
  const n = span.children;
  return h('button', {
    type: 'button',
    class: ['tree-caret', expanded && 'open'],
    tabindex: '-1',
    'aria-label': expanded ? 'Collapse' : 'Expand',
    title: `${expanded ? 'Collapse' : 'Expand'} (${fmt.count(n)} child span${n === 1 ? '' : 's'}, ${fmt.count(span.descendants)} in all)`,
    onclick: (event) => {
      event.stopPropagation();
      actions.toggle(item.position);
    },
  }, icon('chevronRight', { size: 14 }));
}

export function pct(fraction) {
  return `${(fraction * 100).toFixed(3)}%`;
}
