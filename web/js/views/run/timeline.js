// The timeline (waterfall): where the time went. One row per span in tree order, a bar from its
// start to its end on the run's time axis. Rows are virtual over the outline like the tree's.
import { h, replace } from '../../dom.js';
import * as fmt from '../../format.js';
import { signalMark } from '../../components/signals.js';
import { detailOf, preciseTime, spanDuration } from './common.js';
import { endOf, placement, startOf, ticks } from './spantree.js';
import { caret, pct, viewHandle } from './tree.js';

export const ROW_HEIGHT = 30;
const INDENT = 14;

export function createTimelineView(model, actions) {
  const totalMs = (model.bounds.end - model.bounds.start) / 1e6;
  const axisTicks = ticks(totalMs, 6);
  const tooltip = h('div', { class: 'tl-tooltip', role: 'tooltip', hidden: true });
  const header = h('div', { class: 'tl-head' },
    h('div', { class: 'tl-label-col' }, 'Span'),
    h('div', { class: 'tl-axis', 'data-testid': 'timeline-axis' },
      axisTicks.map((t) => h('span', { class: ['tl-tick', t.fraction > 0.97 && 'end'], style: { left: pct(t.fraction) } }, t.ms === 0 ? '0' : fmt.duration(t.ms)))));
  const view = viewHandle(model, {
    rowHeight: ROW_HEIGHT,
    header,
    className: 'timeline',
    label: 'Timeline',
    testid: 'timeline',
    renderRow: (item) => row(item, model, actions, axisTicks),
    actions,
  });
  view.el.append(tooltip);
  view.el.addEventListener('mousemove', (event) => hover(event, view.el, tooltip, model));
  view.el.addEventListener('mouseleave', () => { tooltip.hidden = true; });
  return view;
}

function row(item, model, actions, axisTicks) {
  const span = item.row;
  const id = span.span_id;
  const place = placement(span, model.bounds);
  const failed = span.status === 'error';
  const expanded = span.descendants > 0 && !item.collapsed;
  return h('div', {
    class: ['tl-row', item.position === model.cursor && 'cursor', id === model.selected && 'selected', failed && 'failed', model.matches.has(id) && 'match'],
    role: 'treeitem',
    'aria-level': span.depth + 1,
    'aria-expanded': span.descendants ? String(expanded) : null,
    'aria-selected': String(id === model.selected),
    dataset: { spanId: id, position: item.position },
    onclick: () => actions.select(id),
  },
  h('div', { class: 'tl-label-col tl-label' },
    span.depth ? h('span', { style: { width: `${span.depth * INDENT}px`, flex: 'none' } }) : null,
    caret(item, expanded, actions),
    h('span', { class: ['tl-dot', `bar-${span.kind || 'span'}`], 'aria-hidden': 'true' }),
    h('span', { class: 'tl-name', title: span.name }, span.name || '(unnamed)'),
    detailOf(span) ? h('span', { class: 'tree-detail' }, detailOf(span)) : null,
    signalMark(model.marks?.get(id))),
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
  const span = rowEl && model.rows.outline.rowAt(Number(rowEl.dataset.position));
  if (!span || !event.target.closest('.tl-track')) {
    tooltip.hidden = true;
    return;
  }
  const offset = (startOf(span) - model.bounds.start) / 1e6;
  replace(tooltip,
    h('strong', null, span.name || '(unnamed)'),
    h('dl', { class: 'kv' },
      h('dt', null, 'Starts'), h('dd', { class: 'num' }, `+${fmt.duration(offset)}`),
      h('dt', null, 'Duration'), h('dd', { class: 'num' }, spanDuration(span)),
      h('dt', null, 'Start'), h('dd', { class: 'num' }, preciseTime(startOf(span))),
      h('dt', null, 'End'), h('dd', { class: 'num' }, preciseTime(endOf(span)))),
    span.status === 'error' ? h('div', { class: 'tl-tooltip-error' }, 'Error') : null);
  tooltip.hidden = false;
  const box = container.getBoundingClientRect();
  const x = event.clientX - box.left + container.scrollLeft;
  const y = event.clientY - box.top + container.scrollTop;
  const width = tooltip.offsetWidth;
  tooltip.style.setProperty('left', `${Math.min(x + 14, container.clientWidth - width - 8)}px`);
  tooltip.style.setProperty('top', `${y + 16}px`);
}
