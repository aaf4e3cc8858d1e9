// The timeline (waterfall): where the time went. One row per span in tree order, a bar from its
// start to its end on the run's time axis. Rows are virtual like the tree's.
import { h, icon, replace } from '../../dom.js';
import * as fmt from '../../format.js';
import { createVirtualList } from '../../components/virtual-list.js';
import { detailOf, preciseTime, spanDuration } from './common.js';
import { endOf, placement, startOf, ticks } from './spantree.js';
import { pct, viewHandle } from './tree.js';

export const ROW_HEIGHT = 30;
const INDENT = 14;

export function createTimelineView(model, actions) {
  const totalMs = (model.tree.end - model.tree.start) / 1e6;
  const axisTicks = ticks(totalMs, 6);
  const tooltip = h('div', { class: 'tl-tooltip', role: 'tooltip', hidden: true });
  const header = h('div', { class: 'tl-head' },
    h('div', { class: 'tl-label-col' }, 'Span'),
    h('div', { class: 'tl-axis', 'data-testid': 'timeline-axis' },
      axisTicks.map((t) => h('span', { class: ['tl-tick', t.fraction > 0.97 && 'end'], style: { left: pct(t.fraction) } }, t.ms === 0 ? '0' : fmt.duration(t.ms)))));
  const list = createVirtualList({
    rowHeight: ROW_HEIGHT,
    renderRow: (i) => row(model.rows[i], model, actions, axisTicks),
    className: 'timeline',
    header,
    label: 'Timeline',
  });
  list.el.setAttribute('role', 'tree');
  list.el.setAttribute('tabindex', '0');
  list.el.dataset.testid = 'timeline';
  list.el.append(tooltip);
  list.el.addEventListener('keydown', (event) => actions.key(event));
  list.el.addEventListener('mousemove', (event) => hover(event, list.el, tooltip, model));
  list.el.addEventListener('mouseleave', () => { tooltip.hidden = true; });
  list.setCount(model.rows.length);
  return viewHandle(list, model);
}

function row(node, model, actions, axisTicks) {
  const span = node.span;
  const place = placement(span, model.tree);
  const failed = span.status === 'error';
  const expanded = node.children.length > 0 && !model.collapsed.has(node.id);
  return h('div', {
    class: ['tl-row', node.id === model.cursor && 'cursor', node.id === model.selected && 'selected', failed && 'failed'],
    role: 'treeitem',
    'aria-level': node.depth + 1,
    'aria-expanded': node.children.length ? String(expanded) : null,
    'aria-selected': String(node.id === model.selected),
    dataset: { spanId: node.id },
    onclick: () => actions.select(node.id),
  },
  h('div', { class: 'tl-label-col tl-label' },
    node.depth ? h('span', { style: { width: `${node.depth * INDENT}px`, flex: 'none' } }) : null,
    node.children.length
      ? h('button', {
        type: 'button', class: ['tree-caret', expanded && 'open'], tabindex: '-1', 'aria-label': expanded ? 'Collapse' : 'Expand',
        onclick: (event) => { event.stopPropagation(); actions.toggle(node.id); },
      }, icon('chevronRight', { size: 14 }))
      : h('span', { class: 'tree-caret-space' }),
    h('span', { class: ['tl-dot', `bar-${span.kind || 'span'}`], 'aria-hidden': 'true' }),
    h('span', { class: 'tl-name', title: span.name }, span.name || '(unnamed)'),
    detailOf(span) ? h('span', { class: 'tree-detail' }, detailOf(span)) : null),
  h('div', { class: 'tl-track' },
    axisTicks.map((t) => h('span', { class: 'tl-grid', style: { left: pct(t.fraction) } })),
    h('span', {
      class: ['tl-bar', `bar-${span.kind || 'span'}`, failed && 'bar-error'],
      'data-testid': 'timeline-bar',
      style: { left: pct(place.left), width: `max(2px, ${pct(place.width)})` },
    }),
    // The track keeps a margin on its right, so the label always fits after the bar.
    h('span', { class: 'tl-bar-label', style: { left: pct(place.left + place.width) } }, spanDuration(span))));
}

function hover(event, container, tooltip, model) {
  const rowEl = event.target.closest?.('.tl-row');
  const node = rowEl && model.tree.nodes.get(rowEl.dataset.spanId);
  if (!node || !event.target.closest('.tl-track')) {
    tooltip.hidden = true;
    return;
  }
  const span = node.span;
  const offset = (startOf(span) - model.tree.start) / 1e6;
  replace(tooltip,
    h('strong', null, span.name || '(unnamed)'),
    h('dl', { class: 'kv' },
      h('dt', null, 'Starts'), h('dd', { class: 'num' }, `+${fmt.duration(offset)}`),
      h('dt', null, 'Duration'), h('dd', { class: 'num' }, spanDuration(span)),
      h('dt', null, 'Start'), h('dd', { class: 'num' }, preciseTime(startOf(span))),
      h('dt', null, 'End'), h('dd', { class: 'num' }, preciseTime(endOf(span)))),
    span.status === 'error' ? h('div', { class: 'tl-tooltip-error' }, span.status_message || 'Error') : null);
  tooltip.hidden = false;
  const box = container.getBoundingClientRect();
  const x = event.clientX - box.left + container.scrollLeft;
  const y = event.clientY - box.top + container.scrollTop;
  const width = tooltip.offsetWidth;
  tooltip.style.setProperty('left', `${Math.min(x + 14, container.clientWidth - width - 8)}px`);
  tooltip.style.setProperty('top', `${y + 16}px`);
}
