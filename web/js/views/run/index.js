// One run: its header, then the same spans four ways (tree, timeline, transcript, graph) beside
// a panel with the selected span. The URL holds the view and the span (`?view=timeline&span=…`),
// so every state can be shared; selecting changes the URL and `update` applies it.
//
// Every run is read in windows, whatever its size: the page opens on the outline's first page
// (the run's summary and its first rows in tree order), the tree and the timeline fetch further
// rows as they scroll into view, and the panel reads the selected span alone. Only the
// transcript of a run short enough to be answered whole reads it whole (transcript-mount.js).
import { h, link, replace } from '../../dom.js';
import * as api from '../../api.js';
import { href } from '../../router.js';
import { errorState, loading } from '../../components/states.js';
import { renderHeader } from './header.js';
import { createOutline, PAGE } from './outline.js';
import { createRows } from './rows.js';
import { createTreeView } from './tree.js';
import { createTimelineView } from './timeline.js';
import { createTranscript } from './transcript-mount.js';
import { createGraphView } from './graph.js';
import { renderPanelLoading, renderSpanPanel } from './span-panel.js';
import { createMinimap } from './minimap.js';
import { createFind } from './find.js';
import { rowKey } from './keys.js';

const VIEWS = [
  { id: 'tree', label: 'Tree', keys: ['1', 't'] },
  { id: 'timeline', label: 'Timeline', keys: ['2', 'l'] },
  { id: 'transcript', label: 'Transcript', keys: ['3', 's'] },
  { id: 'graph', label: 'Graph', keys: ['4', 'g'] },
];
const PANEL_WIDTH_KEY = 'lemma.spanPanelWidth';

export function mount(root, ctx) {
  let current = ctx;
  let page = null;
  let disposed = false;

  async function load() {
    replace(root, loading('Loading run…'));
    try {
      const first = await api.get(`/runs/${encodeURIComponent(current.params.runId)}/outline`, { offset: 0, limit: PAGE });
      if (disposed) return;
      page = createPage(root, first, current);
    } catch (err) {
      if (disposed) return;
      replace(root, h('div', { class: 'run-failed' },
        errorState(err, err.status === 404 ? null : load),
        h('div', { class: 'run-failed-links' }, link('/runs', { class: 'button' }, 'Back to runs'))));
    }
  }
  load();

  return {
    update(ctx2) {
      current = ctx2;
      page?.apply(ctx2);
    },
    dispose() {
      disposed = true;
      page?.dispose();
    },
  };
}

function createPage(root, first, ctx) {
  const run = first.run;
  const runId = run.run_id;
  const start = Number(run.start_time_unix_nano) || 0;
  const model = {
    rows: null,
    bounds: { start, end: Math.max(start, Number(run.end_time_unix_nano) || start) },
    cursor: null, // a position in the outline
    selected: null, // a span id
    matches: new Set(),
  };
  const outline = createOutline(runId, first, (index) => model.rows.pageArrived(index));
  model.rows = createRows(outline, () => view?.refresh());
  let navigate = ctx.navigate;
  let viewId = null;
  let view = null;
  let selection = 0; // the latest selection, so a slow answer for an older one is dropped
  let align = null; // how the next selection scrolls, when not the default
  ctx.setTitle(run.name || run.agent_name || 'Run');

  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Views of the run' },
    VIEWS.map((v) => h('button', {
      type: 'button', class: 'tab', role: 'tab', 'data-testid': `tab-${v.id}`, dataset: { view: v.id },
      title: `${v.label} (${v.keys[0]})`, onclick: () => go({ view: v.id }),
    }, v.label)));
  const treeTools = h('div', { class: 'run-tools' },
    h('button', { type: 'button', class: 'button small ghost', 'data-testid': 'expand-all', onclick: () => model.rows.expandAll() }, 'Expand all'),
    h('button', { type: 'button', class: 'button small ghost', 'data-testid': 'collapse-all', onclick: collapseAll }, 'Collapse all'));
  const find = createFind(runId, {
    from: () => model.cursor,
    onResults: (ids) => {
      model.matches = ids;
      view?.refresh();
    },
    onMatch: (m) => {
      outline.remember(m.span_id, m.position);
      align = 'center';
      go({ span: m.span_id });
    },
  });
  const hint = h('div', { class: 'run-hint muted small' },
    h('kbd', null, '↑'), h('kbd', null, '↓'), ' move ', h('kbd', null, '←'), h('kbd', null, '→'), ' fold ', h('kbd', null, 'Enter'), ' open ', h('kbd', null, 'Esc'), ' close');
  const minimap = createMinimap(runId, outline.total, jump);
  const viewSlot = h('div', { class: 'run-view' });
  const main = h('div', { class: 'run-main' }, h('div', { class: 'run-body' }, viewSlot, minimap.el));
  const panel = h('aside', { class: 'span-panel', 'aria-label': 'Span details', hidden: true });
  const resizer = h('div', { class: 'run-resizer', role: 'separator', 'aria-orientation': 'vertical', 'aria-label': 'Resize span panel', hidden: true });
  const split = h('div', { class: 'run-split' }, main, resizer, panel);
  restoreWidth(split);
  makeResizable(resizer, split);

  replace(root, h('div', { class: 'run-page', 'data-testid': 'run-page' },
    renderHeader(run, { payloadsOmitted: first.run_payloads_omitted }),
    h('div', { class: 'run-toolbar' }, tabs, treeTools, find.el, h('span', { class: 'spacer' }), hint),
    split));

  const actions = {
    select: (id) => go({ span: id }),
    close: () => go({ span: null }),
    toggle: (position) => {
      model.rows.toggle(position);
      keepCursorShown();
    },
    openFold: (position) => model.rows.openFold(position),
    key: (event) => rowKey(event, model, actions, moveCursor),
    openLink: (l) => navigate(href(`/runs/${encodeURIComponent(l.trace_id)}`, { span: l.span_id })),
  };

  function go(change) {
    const query = { view: viewId === 'tree' ? null : viewId, span: model.selected, ...change };
    if (query.view === 'tree') query.view = null;
    navigate(href(window.location.pathname, query), { replace: true });
  }

  function moveCursor(position, how = 'nearest') {
    model.cursor = position;
    // A cursor on a fold's line leaves it folded; a place it hides opens it.
    const index = model.rows.indexOf(position);
    view?.reveal?.(index >= 0 ? index : model.rows.reveal(position), how);
    updateFrame();
  }

  /** A collapsed row takes the cursor from the rows it hides. */
  function keepCursorShown() {
    let p = model.cursor;
    while (p != null && p > 0 && model.rows.indexOf(p) < 0) p -= 1;
    if (p !== model.cursor) {
      model.cursor = p;
      view?.refresh();
    }
  }

  async function collapseAll() {
    await model.rows.collapseAll();
    keepCursorShown();
  }

  /** The minimap's click: a failed span is selected, any other place scrolled to. */
  async function jump(position, { select }) {
    const row = await outline.row(position);
    if (select && row) {
      align = 'center';
      go({ span: row.span_id });
    } else moveCursor(position, 'center');
  }

  function updateFrame() {
    if (!view?.list) return;
    const { first: a, last: b } = view.list.visibleRange();
    if (b >= a) minimap.setView(model.rows.positionAt(a), model.rows.positionAt(b));
  }

  function showView(id) {
    if (id === viewId) return;
    view?.dispose();
    viewId = id;
    for (const tab of tabs.children) {
      const on = tab.dataset.view === id;
      tab.classList.toggle('active', on);
      tab.setAttribute('aria-selected', String(on));
    }
    // The transcript and the graph show steps and nodes, not the tree's rows.
    const rowless = id === 'transcript' || id === 'graph';
    treeTools.hidden = rowless;
    hint.hidden = rowless;
    minimap.el.hidden = rowless;
    if (id === 'transcript') view = createTranscript(run, outline, model, actions);
    else if (id === 'graph') view = createGraphView(run, model, actions);
    else {
      view = (id === 'timeline' ? createTimelineView : createTreeView)(model, actions);
      view.el.addEventListener('scroll', updateFrame, { passive: true });
    }
    main.dataset.view = id;
    replace(viewSlot, view.el);
    if (model.selected) revealSelected(model.selected, 'center');
    requestAnimationFrame(updateFrame);
  }

  async function revealSelected(id, how) {
    if (viewId === 'transcript' || viewId === 'graph') {
      view.setSelected?.(id);
      view.reveal(id);
      return;
    }
    const position = await outline.positionOf(id).catch(() => null);
    if (model.selected !== id || viewId === 'transcript' || viewId === 'graph') return;
    if (position == null) {
      view.refresh();
      return;
    }
    model.cursor = position;
    view.reveal(model.rows.reveal(position), how);
    updateFrame();
  }

  async function showSpan(id, how) {
    if (id === model.selected) return;
    model.selected = id;
    const token = ++selection;
    panel.hidden = !id;
    resizer.hidden = !id;
    split.classList.toggle('has-panel', Boolean(id));
    if (!id) {
      replace(panel);
      view.setSelected?.(null);
      view.refresh();
      return;
    }
    const known = model.cursor != null ? outline.rowAt(model.cursor) : null;
    replace(panel, renderPanelLoading(known?.span_id === id ? known : null, actions));
    revealSelected(id, how);
    let span = null;
    try {
      span = (await api.get(`/runs/${encodeURIComponent(runId)}/spans/${encodeURIComponent(id)}`)).span;
    } catch (err) {
      if (err.status !== 404 && err.status !== 400) {
        if (token === selection) replace(panel, h('div', { class: 'span-panel-inner' }, errorState(err, () => { model.selected = null; showSpan(id, how); })));
        return;
      }
    }
    if (token !== selection) return;
    const row = model.cursor != null ? outline.rowAt(model.cursor) : null;
    replace(panel, renderSpanPanel(span, id, {
      start: model.bounds.start,
      actions,
      orphan: row?.span_id === id && row.depth === 0,
      parentName: (parentId) => {
        for (let p = (model.cursor ?? 0) - 1; p >= 0; p -= 1) {
          const r = outline.rowAt(p);
          if (!r) return null;
          if (r.span_id === parentId) return r.name;
        }
        return null;
      },
    }));
    panel.scrollTop = 0;
  }

  function apply(c) {
    navigate = c.navigate;
    const requested = c.query.get('view');
    const firstApply = viewId === null;
    showView(VIEWS.some((v) => v.id === requested) ? requested : 'tree');
    showSpan(c.query.get('span') || null, align || (firstApply ? 'center' : 'nearest'));
    align = null;
  }

  function onDocumentKey(event) {
    if (event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
    if (event.key === 'Escape' && model.selected) {
      event.preventDefault();
      actions.close();
      view?.focus();
      return;
    }
    const target = VIEWS.find((v) => v.keys.includes(event.key));
    if (target) {
      event.preventDefault();
      go({ view: target.id });
    }
  }
  document.addEventListener('keydown', onDocumentKey);

  apply(ctx);
  if (viewId !== 'transcript' && !model.selected) view.focus();

  return {
    apply,
    dispose() {
      document.removeEventListener('keydown', onDocumentKey);
      view?.dispose();
      outline.dispose();
      minimap.dispose();
    },
  };
}

function restoreWidth(split) {
  const saved = Number(window.localStorage?.getItem(PANEL_WIDTH_KEY));
  if (saved >= 320) split.style.setProperty('--panel-w', `${saved}px`);
}

/** Dragging the separator resizes the panel; the width is remembered for the next run. */
function makeResizable(handle, split) {
  handle.addEventListener('pointerdown', (event) => {
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    split.classList.add('resizing');
    const right = split.getBoundingClientRect().right;
    const move = (e) => {
      const width = Math.round(Math.min(Math.max(right - e.clientX, 320), split.clientWidth - 360));
      split.style.setProperty('--panel-w', `${width}px`);
    };
    const up = () => {
      split.classList.remove('resizing');
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      const width = parseInt(split.style.getPropertyValue('--panel-w'), 10);
      if (width) window.localStorage?.setItem(PANEL_WIDTH_KEY, String(width));
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
  });
}

function isTyping(el) {
  return el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}
