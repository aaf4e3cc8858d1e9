// One run: its header, then the same spans four ways (tree, timeline, transcript, graph) beside
// a panel with the selected span. The URL holds the view and the span (`?view=timeline&span=…`),
// so every state can be shared; selecting changes the URL and `update` applies it.
//
// Every run is read in windows, whatever its size: the page opens on the outline's first page
// (the run's summary and its first rows in tree order), the tree and the timeline fetch further
// rows as they scroll into view, and the panel reads the selected span alone. Only the
// transcript of a run short enough to be answered whole reads it whole (transcript-mount.js).
//
// A run whose root span has not arrived is still going: while the page is visible its outline's
// first page is read again every LIVE_MS, and what changed (header, signals, rows) is swapped in
// where the reader is, until the root arrives. Polling, since the API pushes nothing.
import { h, link, replace } from '../../dom.js';
import * as api from '../../api.js';
import { href } from '../../router.js';
import { errorState, loading } from '../../components/states.js';
import { renderHeader, updateHeader } from './header.js';
import { createOutline, PAGE } from './outline.js';
import { createRows } from './rows.js';
import { createTreeView } from './tree.js';
import { createTimelineView } from './timeline.js';
import { createTranscript, forgetTranscript } from './transcript-mount.js';
import { createGraphView, forgetGraph } from './graph.js';
import { renderPanelLoading, renderSpanPanel } from './span-panel.js';
import { createMinimap } from './minimap.js';
import { createFind } from './find.js';
import { rowKey } from './keys.js';
import { signalsBySpan } from '../../components/signals.js';
import { addToDatasetButton } from '../dataset-add.js';

const VIEWS = [
  { id: 'tree', label: 'Tree', keys: ['1', 't'] },
  { id: 'timeline', label: 'Timeline', keys: ['2', 'l'] },
  { id: 'transcript', label: 'Transcript', keys: ['3', 's'] },
  { id: 'graph', label: 'Graph', keys: ['4', 'g'] },
];
const PANEL_WIDTH_KEY = 'lemma.spanPanelWidth';
/** How often a run whose root has not arrived is read again. */
const LIVE_MS = 2000;

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
  let run = first.run;
  const runId = run.run_id;
  const model = {
    rows: null,
    bounds: boundsOf(run),
    cursor: null, // a position in the outline
    selected: null, // a span id
    matches: new Set(),
    marks: signalsBySpan(run.signals), // span id → the signals pointing at it
  };
  let outline = createOutline(runId, first, (index) => model.rows.pageArrived(index));
  model.rows = createRows(outline, () => view?.refresh());
  let navigate = ctx.navigate;
  let viewId = null;
  let view = null;
  let selection = 0; // the latest selection, so a slow answer for an older one is dropped
  let align = null; // how the next selection scrolls, when not the default
  let disposed = false;
  let liveTimer = 0;
  let polling = false;
  let payloadsOmitted = first.run_payloads_omitted;
  let shape = shapeOf(first); // what, changed, means the rows must be read again
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
  let minimap = createMinimap(runId, outline.total, jump);
  const viewSlot = h('div', { class: 'run-view' });
  const main = h('div', { class: 'run-main' }, h('div', { class: 'run-body' }, viewSlot, minimap.el));
  const panel = h('aside', { class: 'span-panel', 'aria-label': 'Span details', hidden: true });
  const resizer = h('div', { class: 'run-resizer', role: 'separator', 'aria-orientation': 'vertical', 'aria-label': 'Resize span panel', hidden: true });
  const split = h('div', { class: 'run-split' }, main, resizer, panel);
  restoreWidth(split);
  makeResizable(resizer, split);

  // The run as it is when pressed (a live run changes); payloads too large for the outline are
  // read from the root span.
  const headerActions = addToDatasetButton({ read: runCase });
  const header = renderHeader(run, { payloadsOmitted, onSignal: showSignal, actions: headerActions });
  replace(root, h('div', { class: 'run-page', 'data-testid': 'run-page' },
    header,
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

  function showView(id, { force = false, place = null } = {}) {
    if (id === viewId && !force) return;
    const focused = view?.el.contains(document.activeElement);
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
    if (place) view.restorePlace?.(place);
    else if (model.selected) revealSelected(model.selected, 'center');
    if (focused) view.focus();
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
    replace(panel, renderSpanPanel(span, id, panelContext(id)));
    panel.scrollTop = 0;
  }

  async function runCase() {
    if (!payloadsOmitted || !run.root_span_id) return { input: run.input, output: run.output, runId };
    const { span } = await api.get(`/runs/${encodeURIComponent(runId)}/spans/${encodeURIComponent(run.root_span_id)}`);
    return { input: span.input ?? run.input, output: span.output ?? run.output, runId };
  }

  function panelContext(id) {
    const row = model.cursor != null ? outline.rowAt(model.cursor) : null;
    return {
      start: model.bounds.start,
      runId,
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
    };
  }

  /** The selected span read again (its parent may have arrived), the panel kept where it was scrolled. */
  async function repaintPanel() {
    const id = model.selected;
    const token = selection;
    if (!id) return;
    try {
      const { span } = await api.get(`/runs/${encodeURIComponent(runId)}/spans/${encodeURIComponent(id)}`);
      if (disposed || token !== selection || !span) return;
      const top = panel.scrollTop;
      replace(panel, renderSpanPanel(span, id, panelContext(id)));
      panel.scrollTop = top;
    } catch {
      // The panel drawn before stays: it still shows the span.
    }
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

  /** A signal in the header: its span, selected and shown (the graph has no row for it). */
  function showSignal(sig) {
    if (!sig.span_id) return;
    align = 'center';
    const change = { span: sig.span_id };
    if (viewId === 'graph') change.view = 'tree';
    if (model.selected === sig.span_id && !change.view) revealSelected(sig.span_id, 'center');
    else go(change);
    split.scrollIntoView({ block: 'nearest' });
  }

  /** Reads the run again while its root has not arrived; stops once it has. */
  function scheduleLive() {
    clearTimeout(liveTimer);
    if (disposed || run.has_root) return;
    liveTimer = setTimeout(poll, LIVE_MS);
  }

  async function poll() {
    // A hidden page waits: becoming visible reads at once (onVisibility).
    if (disposed || polling || run.has_root || document.hidden) return;
    polling = true;
    try {
      const next = await api.get(`/runs/${encodeURIComponent(runId)}/outline`, { offset: 0, limit: PAGE });
      if (disposed) return;
      liveProblem(null);
      refresh(next);
    } catch (err) {
      if (disposed) return;
      // Not worth an error page: the indicator says so, and the next read may work.
      liveProblem(err);
    } finally {
      polling = false;
    }
    scheduleLive();
  }

  function onVisibility() {
    if (!document.hidden && !run.has_root) poll();
  }

  function liveProblem(err) {
    const badge = header.querySelector('[data-testid="run-in-progress"]');
    if (!badge) return;
    badge.classList.toggle('is-offline', Boolean(err));
    badge.title = err ? `Could not read the run again: ${err.message}` : 'The root span has not arrived: the run is still going (or was cut off). This page shows new spans as they arrive.';
  }

  /**
   * A newer answer for the run: the header redraws what changed; new spans or a new shape
   * (the root arrived, orphans found their parent) swap the rows in under the reader, who keeps
   * the span at the top of the view, the cursor, what they collapsed and what they selected.
   */
  function refresh(next) {
    const rooted = run.has_root;
    run = next.run;
    payloadsOmitted = next.run_payloads_omitted;
    updateHeader(header, run, { payloadsOmitted, onSignal: showSignal, actions: headerActions });
    ctx.setTitle(run.name || run.agent_name || 'Run');
    const marks = marksKey(model.marks);
    model.marks = signalsBySpan(run.signals);
    const nextShape = shapeOf(next);
    if (nextShape === shape) {
      // Same rows, other signals: only the marks are drawn again.
      if (marksKey(model.marks) !== marks) {
        if (view?.reload) view.reload(run, outline);
        else view?.refresh();
      }
      return;
    }
    shape = nextShape;
    const place = view?.place?.() || null;
    const cursorSpan = model.cursor != null ? outline.rowAt(model.cursor)?.span_id : null;
    const collapsed = model.rows.collapsedSpans();
    outline.dispose();
    outline = createOutline(runId, next, (index) => model.rows.pageArrived(index));
    model.rows = createRows(outline, () => view?.refresh());
    model.rows.collapseSpans(collapsed);
    model.bounds = boundsOf(run);
    model.cursor = cursorSpan ? outline.cachedPosition(cursorSpan) : null;
    forgetTranscript(runId);
    forgetGraph(runId);
    const map = createMinimap(runId, outline.total, jump);
    minimap.el.replaceWith(map.el);
    map.el.hidden = minimap.el.hidden;
    minimap.dispose();
    minimap = map;
    if (view?.reload) view.reload(run, outline);
    else if (viewId === 'tree' && view?.restorePlace) view.restorePlace(place);
    // The timeline's axis is the run's length, which grew: drawn again, in the same place.
    else showView(viewId, { force: true, place });
    updateFrame();
    // The selected span's parent may be the root that just came: the panel says so.
    if (run.has_root && !rooted) repaintPanel();
  }

  apply(ctx);
  if (viewId !== 'transcript' && !model.selected) view.focus();
  document.addEventListener('visibilitychange', onVisibility);
  scheduleLive();

  return {
    apply,
    dispose() {
      disposed = true;
      clearTimeout(liveTimer);
      document.removeEventListener('visibilitychange', onVisibility);
      document.removeEventListener('keydown', onDocumentKey);
      view?.dispose();
      outline.dispose();
      minimap.dispose();
    },
  };
}

/** The run's time span, for the bars of the tree and the timeline. */
function boundsOf(run) {
  const start = Number(run.start_time_unix_nano) || 0;
  return { start, end: Math.max(start, Number(run.end_time_unix_nano) || start) };
}

function marksKey(marks) {
  return JSON.stringify([...marks].map(([id, list]) => [id, list.map((s) => `${s.kind}/${s.severity}`)]));
}

/** What an outline answer's rows depend on: when it changes, they are read again. */
function shapeOf(answer) {
  const r = answer.run;
  return JSON.stringify([answer.total, r.span_count, r.has_root, r.root_span_id, r.start_time_unix_nano, r.end_time_unix_nano, r.error_count]);
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
