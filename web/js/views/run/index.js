// One run: its header, then the same spans three ways (tree, timeline, transcript) beside a
// panel with the selected span. The URL holds the view and the span (`?view=timeline&span=…`),
// so every state can be shared; selecting changes the URL and `update` applies it.
import { h, link, replace } from '../../dom.js';
import * as api from '../../api.js';
import { href } from '../../router.js';
import { errorState, loading } from '../../components/states.js';
import { renderHeader } from './header.js';
import { ancestorIds, buildTree, parentIds, visibleRows } from './spantree.js';
import { buildSteps } from './fold.js';
import { createTreeView } from './tree.js';
import { createTimelineView } from './timeline.js';
import { createTranscriptView } from './transcript.js';
import { renderSpanPanel } from './span-panel.js';

const VIEWS = [
  { id: 'tree', label: 'Tree', keys: ['1', 't'] },
  { id: 'timeline', label: 'Timeline', keys: ['2', 'l'] },
  { id: 'transcript', label: 'Transcript', keys: ['3', 's'] },
];
const PANEL_WIDTH_KEY = 'lemma.spanPanelWidth';

export function mount(root, ctx) {
  let current = ctx;
  let page = null;
  let disposed = false;

  async function load() {
    replace(root, loading('Loading run…'));
    try {
      const data = await api.get(`/runs/${encodeURIComponent(current.params.runId)}`);
      if (disposed) return;
      page = createPage(root, data, current);
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

function createPage(root, data, ctx) {
  const run = data.run;
  const tree = buildTree(data.spans || []);
  const model = { tree, rows: tree.order, collapsed: new Set(), cursor: null, selected: null };
  let navigate = ctx.navigate;
  let viewId = null;
  let view = null;
  let steps = null;
  ctx.setTitle(run.name || run.agent_name || 'Run');

  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Views of the run' },
    VIEWS.map((v) => h('button', {
      type: 'button', class: 'tab', role: 'tab', 'data-testid': `tab-${v.id}`, dataset: { view: v.id },
      title: `${v.label} (${v.keys[0]})`, onclick: () => go({ view: v.id }),
    }, v.label)));
  const treeTools = h('div', { class: 'run-tools' },
    h('button', { type: 'button', class: 'button small ghost', 'data-testid': 'expand-all', onclick: () => setCollapsed(new Set()) }, 'Expand all'),
    h('button', { type: 'button', class: 'button small ghost', 'data-testid': 'collapse-all', onclick: () => setCollapsed(new Set(parentIds(tree))) }, 'Collapse all'));
  const hint = h('div', { class: 'run-hint muted small' },
    h('kbd', null, '↑'), h('kbd', null, '↓'), ' move ', h('kbd', null, '←'), h('kbd', null, '→'), ' fold ', h('kbd', null, 'Enter'), ' open ', h('kbd', null, 'Esc'), ' close');
  const main = h('div', { class: 'run-main' });
  const panel = h('aside', { class: 'span-panel', 'aria-label': 'Span details', hidden: true });
  const resizer = h('div', { class: 'run-resizer', role: 'separator', 'aria-orientation': 'vertical', 'aria-label': 'Resize span panel', hidden: true });
  const split = h('div', { class: 'run-split' }, main, resizer, panel);
  restoreWidth(split);
  makeResizable(resizer, split);

  replace(root, h('div', { class: 'run-page', 'data-testid': 'run-page' },
    renderHeader(run),
    h('div', { class: 'run-toolbar' }, tabs, treeTools, h('span', { class: 'spacer' }), hint),
    split));

  const actions = {
    select: (id) => go({ span: id }),
    close: () => go({ span: null }),
    toggle: (id) => {
      const next = new Set(model.collapsed);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      setCollapsed(next);
    },
    key: onRowKey,
    openLink: (l) => navigate(href(`/runs/${encodeURIComponent(l.trace_id)}`, { span: l.span_id })),
  };

  function go(change) {
    const query = { view: viewId === 'tree' ? null : viewId, span: model.selected, ...change };
    if (query.view === 'tree') query.view = null;
    navigate(href(window.location.pathname, query), { replace: true });
  }

  function setCollapsed(next) {
    model.collapsed = next;
    model.rows = visibleRows(tree, next);
    // The cursor stays on a visible row: a collapsed parent takes it from its hidden child.
    if (model.cursor && !model.rows.some((n) => n.id === model.cursor)) {
      const ancestor = ancestorIds(tree, model.cursor).find((id) => model.rows.some((n) => n.id === id));
      model.cursor = ancestor || null;
    }
    view?.refresh();
  }

  function onRowKey(event) {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    const rows = model.rows;
    if (!rows.length) return;
    let index = rows.findIndex((n) => n.id === model.cursor);
    const node = index >= 0 ? rows[index] : null;
    switch (event.key) {
      case 'ArrowDown': case 'j': index = Math.min(rows.length - 1, index + 1); break;
      case 'ArrowUp': case 'k': index = Math.max(0, index - 1); break;
      case 'Home': index = 0; break;
      case 'End': index = rows.length - 1; break;
      case 'PageDown': index = Math.min(rows.length - 1, index + 15); break;
      case 'PageUp': index = Math.max(0, index - 15); break;
      case 'ArrowLeft':
        if (node && node.children.length && !model.collapsed.has(node.id)) actions.toggle(node.id);
        else if (node?.parent) index = rows.indexOf(node.parent);
        break;
      case 'ArrowRight':
        if (node && node.children.length && model.collapsed.has(node.id)) actions.toggle(node.id);
        else if (node?.children.length) index += 1;
        break;
      case 'Enter': case ' ':
        if (node) actions.select(node.id);
        break;
      default:
        return;
    }
    event.preventDefault();
    const target = rows[Math.max(0, index)];
    if (target && target.id !== model.cursor) {
      model.cursor = target.id;
      view?.reveal(target.id);
    }
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
    treeTools.hidden = id === 'transcript';
    hint.hidden = id === 'transcript';
    if (id === 'transcript') {
      steps = steps || buildSteps(run, tree);
      view = createTranscriptView(steps, model, actions);
    } else {
      view = (id === 'timeline' ? createTimelineView : createTreeView)(model, actions);
    }
    main.dataset.view = id;
    replace(main, view.el);
    if (model.selected) view.reveal(model.selected, 'center');
  }

  function openAncestors(id) {
    const hidden = ancestorIds(tree, id).filter((a) => model.collapsed.has(a));
    if (hidden.length) setCollapsed(new Set([...model.collapsed].filter((c) => !hidden.includes(c))));
  }

  function showSpan(id, align) {
    if (id === model.selected) return;
    model.selected = id;
    if (id) {
      model.cursor = id;
      openAncestors(id);
      replace(panel, renderSpanPanel(tree.nodes.get(id) || null, id, tree, actions));
      panel.scrollTop = 0;
    } else {
      replace(panel);
    }
    panel.hidden = !id;
    resizer.hidden = !id;
    split.classList.toggle('has-panel', Boolean(id));
    view.setSelected?.(id);
    if (id) view.reveal(id, align);
    else view.refresh();
  }

  function apply(c) {
    navigate = c.navigate;
    const requested = c.query.get('view');
    const first = viewId === null;
    showView(VIEWS.some((v) => v.id === requested) ? requested : 'tree');
    showSpan(c.query.get('span') || null, first ? 'center' : 'nearest');
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
