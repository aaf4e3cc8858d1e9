// Charts drawn as SVG by the dashboard itself: a time series (lines and areas over time buckets,
// with axes, gridlines and a tooltip that follows the pointer or the arrow keys) and a bar chart
// for breakdowns. Colours are CSS values (`var(--accent)`), so both themes apply; the numbers
// behind the drawing come from scale.js.
import { h, link, replace, svg } from '../dom.js';
import {
  areaPath, isLocalMidnight, isolatedPoints, isSparse, linePath, linearScale, maxOf, nearestIndex, niceTicks,
  timeTicks,
} from './scale.js';

const MARGIN = { top: 10, right: 14, bottom: 24, left: 8 };
const CHAR_WIDTH = 6.6; // of the 11px axis font, to leave room for the widest y label
const DATE_TICK = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const HOUR_TICK = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const DAY_MINUTE = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const DAY_SECOND = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit' });
const SECOND_TICK = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' });
const DAY_MS = 86_400_000;

let chartIds = 0;

/**
 * A time series chart.
 * - `times`: bucket starts (unix ms), ascending; `bucketMs`: their width.
 * - `series`: `[{key, label, color, values, area}]`, one value per bucket; null is a gap.
 * - `format(value)` for the tooltip, `axisFormat(value)` for the y axis, `integer` for counts,
 *   `ticks(max, count)` to choose the y ticks another way than niceTicks (durations, say).
 * Sparse data (`isSparse`) is drawn as bars, one group per bucket, rather than lines.
 * Redraws itself whenever its width changes. Returns the element.
 */
export function timeSeriesChart({ title, description, times, bucketMs, series, format = String, axisFormat = format, integer = false, ticks, height = 190 }) {
  const id = `chart-${(chartIds += 1)}`;
  const tooltip = h('div', { class: 'chart-tooltip', role: 'status', 'aria-live': 'polite', hidden: true });
  const plot = h('div', { class: 'chart-plot', style: { height: `${height}px` } });
  const bars = isSparse(series, times.length);
  const el = h('figure', { class: 'chart', 'data-chart': 'time', 'data-style': bars ? 'bars' : 'lines' },
    legend(series, bars),
    plot,
    tooltip);
  let width = 0;
  let geometry = null;
  let active = -1;

  function draw() {
    if (!times.length) return;
    geometry = layout({ width, height, times, bucketMs, series, integer, ticks, axisFormat, bars });
    replace(plot, render(geometry, { id, title, description: description || summary(series, times, format) }));
    if (active >= 0) show(active);
  }

  function show(index) {
    if (!geometry || index < 0 || index >= times.length) return hide();
    active = index;
    const x = geometry.xs[index];
    const layer = plot.querySelector('.chart-hover');
    replace(layer,
      svg('line', { class: 'chart-crosshair', x1: x, x2: x, y1: geometry.top, y2: geometry.bottom }),
      series.map((s) => {
        const v = s.values[index];
        if (v === null || v === undefined) return null;
        return svg('circle', { class: 'chart-dot', cx: x, cy: geometry.y(v), r: 3.5, style: { '--series': s.color }, 'data-series': s.key });
      }));
    replace(tooltip,
      h('div', { class: 'chart-tooltip-title' }, bucketTitle(times[index], bucketMs)),
      series.map((s) => h('div', { class: 'chart-tooltip-row' },
        h('span', { class: 'swatch', style: { '--series': s.color } }),
        h('span', { class: 'chart-tooltip-label' }, s.label),
        h('span', { class: 'chart-tooltip-value' }, s.values[index] === null || s.values[index] === undefined ? '—' : format(s.values[index], s.key)))));
    tooltip.hidden = false;
    place(tooltip, x, geometry, width);
  }

  function hide() {
    active = -1;
    tooltip.hidden = true;
    const layer = plot.querySelector('.chart-hover');
    if (layer) replace(layer);
  }

  plot.addEventListener('pointermove', (event) => {
    if (!geometry) return;
    const box = plot.getBoundingClientRect();
    show(nearestIndex(geometry.xs, event.clientX - box.left));
  });
  plot.addEventListener('pointerleave', () => {
    if (document.activeElement !== plot.querySelector('svg')) hide();
  });
  plot.addEventListener('keydown', (event) => {
    const last = times.length - 1;
    const moves = { ArrowLeft: active - 1, ArrowRight: active + 1, Home: 0, End: last };
    if (event.key === 'Escape') return hide();
    if (!(event.key in moves)) return;
    event.preventDefault();
    show(Math.min(last, Math.max(0, active < 0 ? last : moves[event.key])));
  });
  plot.addEventListener('focusin', () => show(active >= 0 ? active : lastWithData(series, times.length)));
  plot.addEventListener('focusout', hide);

  onWidth(plot, (w) => {
    width = w;
    draw();
  });
  return el;
}

/** Where everything goes for a given width: the axes, their labels and the pixel scales. */
function layout({ width, height, times, bucketMs, series, integer, ticks, axisFormat, bars }) {
  const ymax = maxOf(series.flatMap((s) => s.values));
  const count = height < 160 ? 3 : 4;
  const yticks = ticks && ymax > 0 ? ticks(ymax, count) : niceTicks(0, ymax, count, { integer });
  const labels = yticks.ticks.map((t) => axisFormat(t));
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const left = MARGIN.left + Math.ceil(Math.max(...labels.map((l) => l.length)) * CHAR_WIDTH) + 6;
  const right = width - MARGIN.right;
  const from = times[0];
  const to = times[times.length - 1] + bucketMs;
  const x = linearScale([from, to], [left, right]);
  const y = linearScale([yticks.min, yticks.max], [bottom, top]);
  // Bars of one bucket share most of its width, side by side, at least a pixel each.
  const bucketWidth = x(from + bucketMs) - x(from);
  const barWidth = Math.max(1, Math.min(28, (bucketWidth * 0.8) / series.length));
  return {
    width, height, top, bottom, left, right, series, yticks, labels, x, y, bars, barWidth,
    // A bucket's point sits in its middle: it stands for everything that started within it.
    xs: times.map((t) => x(t + bucketMs / 2)),
    xticks: timeTicks(from, to, Math.max(2, Math.floor((right - left) / 90))),
  };
}

function render(g, { id, title, description }) {
  const { left, right, x, y, xticks } = g;
  return svg('svg', {
    class: 'chart-svg', width: g.width, height: g.height, viewBox: `0 0 ${g.width} ${g.height}`,
    role: 'img', 'aria-labelledby': `${id}-title ${id}-desc`, tabindex: 0, focusable: 'true',
  },
  svg('title', { id: `${id}-title` }, title),
  svg('desc', { id: `${id}-desc` }, description),
  svg('g', { class: 'chart-grid', 'aria-hidden': 'true' },
    g.yticks.ticks.map((t, i) => [
      svg('line', { x1: left, x2: right, y1: y(t), y2: y(t), class: i === 0 ? 'chart-baseline' : null }),
      svg('text', { class: 'chart-axis-label', x: left - 8, y: y(t), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, g.labels[i]),
    ]),
    xticks.ticks.map((t) => [
      svg('line', { class: 'chart-tick', x1: x(t), x2: x(t), y1: g.bottom, y2: g.bottom + 4 }),
      svg('text', { class: 'chart-axis-label', x: x(t), y: g.height - 6, 'text-anchor': 'middle' }, timeTickLabel(t, xticks.interval)),
    ])),
  g.series.map((s, index) => {
    if (g.bars) return barSeries(g, s, index);
    const points = s.values.map((v, i) => ({ x: g.xs[i], y: v === null || v === undefined ? null : y(v) }));
    return svg('g', { class: 'chart-series', style: { '--series': s.color }, 'data-series': s.key },
      s.area ? svg('path', { class: 'chart-area', d: areaPath(points, g.bottom) }) : null,
      svg('path', { class: 'chart-line', d: linePath(points), 'data-series': s.key }),
      isolatedPoints(points).map((p) => svg('circle', { class: 'chart-point', cx: p.x, cy: p.y, r: 3 })));
  }),
  svg('g', { class: 'chart-hover', 'aria-hidden': 'true' }));
}

/** One series as bars: a rect per bucket with a value, beside the other series' bars. */
function barSeries(g, s, index) {
  const offset = (index - g.series.length / 2) * g.barWidth;
  return svg('g', { class: 'chart-series', style: { '--series': s.color }, 'data-series': s.key },
    s.values.map((v, i) => {
      if (!v) return null;
      const top = g.y(v);
      return svg('rect', {
        class: 'chart-bar', 'data-series': s.key, 'data-index': i,
        x: g.xs[i] + offset, y: top, width: Math.max(1, g.barWidth - 1), height: Math.max(1, g.bottom - top),
      });
    }));
}

function timeTickLabel(t, interval) {
  if (interval >= DAY_MS || isLocalMidnight(t)) return DATE_TICK.format(new Date(t));
  return (interval < 60_000 ? SECOND_TICK : HOUR_TICK).format(new Date(t));
}

/** "Nov 21, 5:25 – 5:30 AM": the bucket under the pointer, as precise as its width needs. */
function bucketTitle(startMs, bucketMs) {
  const start = new Date(startMs);
  const end = new Date(startMs + bucketMs);
  if (bucketMs >= DAY_MS) return `${DATE_TICK.format(start)} – ${DATE_TICK.format(end)}`;
  if (bucketMs % 60_000) return DAY_SECOND.formatRange(start, end);
  return DAY_MINUTE.formatRange(start, end);
}

/** Keeps the tooltip beside the hovered bucket, on whichever side has room. */
function place(tooltip, x, g, width) {
  const w = tooltip.offsetWidth;
  const gap = 14;
  const left = x + gap + w <= width ? x + gap : Math.max(0, x - gap - w);
  tooltip.style.setProperty('left', `${Math.round(left)}px`);
  tooltip.style.setProperty('top', `${g.top + 28}px`);
}

function legend(series, bars) {
  return h('figcaption', { class: 'chart-legend' },
    series.map((s) => h('span', { class: 'chart-legend-item' },
      h('span', { class: ['swatch', s.area || bars ? 'swatch-area' : 'swatch-line'], style: { '--series': s.color } }),
      s.label)));
}

function summary(series, times, format) {
  return series.map((s) => {
    const max = maxOf(s.values);
    return `${s.label}: peak ${format(max, s.key)} over ${times.length} intervals`;
  }).join('. ');
}

function lastWithData(series, n) {
  for (let i = n - 1; i >= 0; i -= 1) {
    if (series.some((s) => s.values[i])) return i;
  }
  return n - 1;
}

/**
 * Horizontal bars for a breakdown, one row per item, as a table (so the numbers stay readable
 * and accessible); each bar may be split into segments (e.g. successful and failed runs).
 * - `items`: `[{label, sublabel, link, title, segments: [values in series order], cells: [extra column texts]}]`;
 *   `link` makes the label a link (to the runs behind the row, say).
 * - `series`: `[{key, label, color}]` naming the segments.
 * - `columns`: headings `[{label, num}]` for the label column, the bar, and the extra cells.
 * - `format(value, key)` for bar values.
 */
export function barChart({ title, items, series, columns, format = String, testid }) {
  const max = Math.max(0, ...items.map((item) => sum(item.segments)));
  const tooltip = h('div', { class: 'chart-tooltip', role: 'status', hidden: true });
  const rows = items.map((item) => barRow(item, { max, series, format, tooltip }));
  return h('figure', { class: 'chart bar-chart', 'data-chart': 'bar', 'data-testid': testid },
    series.length > 1 ? legend(series.map((s) => ({ ...s, area: true }))) : null,
    h('div', { class: 'bar-chart-scroll' },
      h('table', { class: 'table bar-table', 'aria-label': title },
        h('thead', null, h('tr', null, columns.map((c) => h('th', { class: c.num ? 'num' : null, scope: 'col' }, c.label)))),
        h('tbody', null, rows))),
    tooltip);
}

function barRow(item, { max, series, format, tooltip }) {
  const total = sum(item.segments);
  let offset = 0;
  const bars = svg('svg', { class: 'bar-track', width: '100%', height: 10, 'aria-hidden': 'true', preserveAspectRatio: 'none' },
    svg('rect', { class: 'bar-bg', x: 0, y: 0, width: '100%', height: 10, rx: 2 }),
    item.segments.map((value, i) => {
      if (!value || !max) return null;
      const x = (offset / max) * 100;
      offset += value;
      // A sliver stays visible next to a bar a thousand times its size.
      const width = Math.max((value / max) * 100, 0.75);
      return svg('rect', {
        class: 'bar', x: `${x}%`, y: 0, width: `${width}%`, height: 10,
        style: { '--series': series[i].color }, 'data-series': series[i].key,
      });
    }));
  const cell = h('td', { class: 'bar-cell' },
    h('div', { class: 'bar-line' }, bars, h('span', { class: 'bar-value num' }, format(total, 'total'))));
  const row = h('tr', { class: 'bar-row', 'data-label': item.label },
    h('th', { scope: 'row', class: 'bar-label', title: item.title || item.label },
      item.link ? link(item.link, { class: 'bar-label-text' }, item.label) : h('span', { class: 'bar-label-text' }, item.label),
      item.sublabel ? h('span', { class: 'bar-sublabel' }, item.sublabel) : null),
    cell,
    (item.cells || []).map((c) => h('td', { class: 'num' }, c)));
  cell.addEventListener('pointerenter', () => {
    replace(tooltip,
      h('div', { class: 'chart-tooltip-title' }, item.label),
      series.map((s, i) => h('div', { class: 'chart-tooltip-row' },
        h('span', { class: 'swatch', style: { '--series': s.color } }),
        h('span', { class: 'chart-tooltip-label' }, s.label),
        h('span', { class: 'chart-tooltip-value' }, format(item.segments[i] || 0, s.key)))));
    tooltip.hidden = false;
    const figure = row.closest('.chart');
    const box = figure.getBoundingClientRect();
    const at = cell.getBoundingClientRect();
    tooltip.style.setProperty('left', `${Math.round(at.left - box.left)}px`);
    tooltip.style.setProperty('top', `${Math.round(at.bottom - box.top + 4)}px`);
  });
  cell.addEventListener('pointerleave', () => { tooltip.hidden = true; });
  return row;
}

function sum(values) {
  return values.reduce((a, v) => a + (v || 0), 0);
}

/**
 * Calls `fn(width)` once the element is laid out and whenever its width changes; lets go of
 * the element once it has been taken out of the page.
 */
function onWidth(el, fn) {
  let last = -1;
  let shown = false;
  const observer = new ResizeObserver((entries) => {
    if (!el.isConnected) {
      if (shown) observer.disconnect();
      return;
    }
    shown = true;
    const w = Math.floor(entries[entries.length - 1].contentRect.width);
    if (w <= 0 || w === last) return;
    last = w;
    // Drawing in the next frame keeps the observer from seeing its own layout change.
    requestAnimationFrame(() => { if (w === last) fn(w); });
  });
  observer.observe(el);
}
