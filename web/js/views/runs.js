// The runs list: query-language search with a filter builder, time range, sortable and
// choosable columns, saved views, cursor pages, and new runs streaming in at the top while the
// first page is open in the default order. URL: /runs?q=&range=&sort=&order=&cursor=&back=
import { h, icon, moveFocusAmong, replace } from '../dom.js';
import * as api from '../api.js';
import * as format from '../format.js';
import { empty, errorState, loading } from '../components/states.js';
import { addTerm, searchBar } from '../components/search.js';
import { parseRange, rangeLabel, timeRangePicker, withRange } from '../components/timerange.js';
import { pageParams, pager, readListState } from '../components/pager.js';
import { href } from '../router.js';
import { diffRuns, runSignature } from './runs-live.js';
import { refreshTime, runRow, tableHead } from './runs-cells.js';
import { columnDefs, loadColumns, normalizeColumns, saveColumns } from './runs-columns.js';
import { columnMenu } from './runs-column-menu.js';
import { filterBuilder, filterChips } from './runs-filter.js';
import { isDefaultSort, nextSort, readSort, sortParams } from './runs-sort.js';
import { buildTerm, withoutField } from './runs-terms.js';
import { savedViewsMenu } from './runs-views.js';
import { attachCompletion } from './runs-complete.js';
import { exportButton } from './runs-export.js';
import { deleteButton } from './runs-delete.js';
import { userOfQuery } from './settings-erase-data.js';

const PAGE_SIZE = 50;
const POLL_MS = 5000;
const DEFAULT_RANGE = 'all';
const FIRST_PAGE = { cursor: null, back: [] };
const VALUES_LIMIT = 20;

export function mount(root, ctx) {
  let state = readState(ctx.query);
  let shown = null; // the runs in the table, or null while there is no table
  let controller = null;
  let generation = 0;
  let paused = false;
  let polling = false;
  let emptyFor = null; // the URL whose empty state is on screen
  const rows = new Map(); // run id → {signature, tr}: unchanged rows are kept across refreshes
  let columnKeys = loadColumns();
  let columns = columnDefs(columnKeys);

  const search = searchBar({ value: state.q, onSubmit: (q) => go({ ...state, q, page: FIRST_PAGE }) });
  const completion = attachCompletion(search, {
    scope: valuesScope,
    fetchValues: (field, prefix, q, signal) => api.get('/values', { field, prefix, q, limit: VALUES_LIMIT }, { signal }),
  });
  const range = timeRangePicker({
    value: state.range, fallback: DEFAULT_RANGE,
    onChange: (value) => go({ ...state, range: value, page: FIRST_PAGE }),
  });
  const filter = filterBuilder({
    scope: valuesScope,
    fetchValues: (field, prefix, q, signal) => api.get('/values', { field, prefix, q, limit: VALUES_LIMIT }, { signal }),
    onAdd: (term) => go({ ...state, q: addTerm(state.q, term), page: FIRST_PAGE }),
  });
  const columnChooser = columnMenu({
    columns: columnKeys,
    fetchValues: (field, prefix, signal) => api.get('/values', { field, prefix, limit: VALUES_LIMIT }, { signal }),
    onChange: setColumns,
  });
  const views = savedViewsMenu({
    current: () => ({ q: state.q, range: state.range, sort: state.sort, columns: columnKeys }),
    onApply: (view) => {
      setColumns(view.columns);
      columnChooser.setColumns(columnKeys);
      go({ q: view.q, range: view.range || DEFAULT_RANGE, sort: view.sort, page: FIRST_PAGE });
    },
  });
  // Export and delete act on what the page lists: its query within its time range.
  const effectiveQuery = () => withRange(state.q, parseRange(state.range, DEFAULT_RANGE)).q;
  const exporter = exportButton({ query: effectiveQuery });
  const deleter = deleteButton({
    query: effectiveQuery,
    user: () => userOfQuery(state.q),
    onDeleted: () => { if (root.isConnected) load(); },
  });
  const liveButton = h('button', { type: 'button', class: 'live', 'data-testid': 'live', onclick: togglePause });
  const summary = h('span', { class: 'runs-summary muted' });
  const results = h('div', { class: 'runs-results' });
  const footer = h('div', { class: 'runs-footer' });
  const chips = h('div', { class: 'runs-chips' });
  const hint = h('div', { class: 'runs-hint', hidden: true });
  const toolbar = h('div', { class: 'runs-toolbar' }, search.el, filter.el, range.el,
    h('div', { class: 'runs-data-actions' }, exporter.el, deleter.el));
  const tbody = h('tbody', { onkeydown: moveFocus, onclick: filterBySignal });
  const tableEl = h('table', { class: 'table runs-table', 'data-testid': 'runs-table' }, tbody);
  const table = h('div', { class: 'table-wrap runs-table-wrap' }, tableEl);
  drawHead();
  syncChips();

  replace(root, h('section', { class: 'runs-page' },
    h('div', { class: 'page-header' }, h('h1', null, 'Runs'), summary, h('div', { class: 'spacer' }),
      views.el, columnChooser.el, liveButton),
    toolbar, chips, hint, results, footer));
  ctx.setTitle('Runs');

  const timer = setInterval(poll, POLL_MS);
  document.addEventListener('visibilitychange', onVisible);
  syncLive();
  load();

  function go(next) {
    const url = urlOf(next);
    if (url === window.location.pathname + window.location.search) load();
    else ctx.navigate(url);
  }

  async function load() {
    controller?.abort();
    controller = new AbortController();
    const token = ++generation;
    const { q, offset } = withRange(state.q, parseRange(state.range, DEFAULT_RANGE));
    results.classList.add('is-loading');
    if (!shown) {
      emptyFor = null;
      replace(results, loading('Loading runs…'));
    }
    hideHint();
    try {
      const body = await api.get('/runs', { q, limit: PAGE_SIZE, cursor: state.page.cursor, ...sortParams(state.sort) }, { signal: controller.signal });
      if (token !== generation) return;
      search.clearError();
      await show(body, null);
    } catch (err) {
      if (err.name === 'AbortError' || token !== generation) return;
      if (err.status === 400) showInvalid(err, offset);
      else {
        forgetTable();
        emptyFor = null;
        replace(results, errorState(err, load));
        replace(footer);
      }
    } finally {
      if (token === generation) results.classList.remove('is-loading');
      syncLive();
    }
  }

  /** Renders a page of runs; `previous` (the runs shown before a poll) marks what is new. */
  async function show(body, previous) {
    results.classList.remove('is-stale');
    const runs = body.runs || [];
    if (runs.length === 0) {
      forgetTable();
      await showEmpty();
    } else {
      emptyFor = null;
      const { added, changed } = diffRuns(previous, runs);
      fillRows(runs, added, changed);
      shown = runs;
      if (table.parentNode !== results) replace(results, table);
    }
    const page = state.page;
    const footerKey = JSON.stringify([urlOf(state), body.next_cursor, runs.length]);
    if (footer.dataset.key !== footerKey || !footer.firstChild) {
      footer.dataset.key = footerKey;
      replace(footer, runs.length || page.cursor
        ? pager({ page, nextCursor: body.next_cursor, shown: runs.length, size: PAGE_SIZE, hrefFor: (p) => urlOf({ ...state, page: p }) })
        : null);
    }
    summary.textContent = runs.length ? describe(runs.length, body.next_cursor) : '';
    root.querySelector('.runs-page')?.classList.toggle('is-first-run', isFirstRun(runs));
  }

  function describe(n, more) {
    if (state.page.cursor) return '';
    return more ? `${format.count(n)}+ runs` : `${format.count(n)} ${n === 1 ? 'run' : 'runs'}`;
  }

  function isFirstRun(runs) {
    return runs.length === 0 && !state.q && parseRange(state.range, DEFAULT_RANGE).kind === 'all' && !state.page.cursor;
  }

  async function showEmpty() {
    const key = urlOf(state);
    if (emptyFor === key) return; // a live refresh that is still empty: keep what is shown
    emptyFor = key;
    if (isFirstRun([])) {
      const { welcomePanel } = await import('./welcome.js');
      replace(results, welcomePanel({ onRun: () => poll() }));
      return;
    }
    const range = parseRange(state.range, DEFAULT_RANGE);
    const inRange = range.kind === 'all' ? null : ['in this time range (', rangeLabel(range), ')'];
    const why = state.q ? ['Nothing matches ', h('code', null, state.q), inRange && [' ', inRange], '.']
      : inRange ? ['No runs started ', inRange, '.'] : 'This page is empty.';
    replace(results, empty(state.page.cursor ? 'No more runs' : 'No runs match',
      h('p', null, why),
      h('button', { type: 'button', class: 'button', 'data-testid': 'clear-filters', onclick: () => go({ q: '', range: DEFAULT_RANGE, sort: state.sort, page: FIRST_PAGE }) },
        icon('x'), 'Clear filters')));
  }

  /** A query the server could not parse: the error goes under the bar, the last results stay. */
  function showInvalid(err, offset) {
    search.setError(err, offset);
    if (shown) {
      results.classList.add('is-stale');
      return;
    }
    emptyFor = null;
    replace(results, empty('Fix the search to see runs', 'The query above could not be read; the mark shows where.'));
    replace(footer);
  }

  function fillRows(runs, added, changed) {
    const now = Date.now();
    const seen = new Set();
    const trs = runs.map((run) => {
      seen.add(run.run_id);
      const signature = runSignature(run);
      const kept = rows.get(run.run_id);
      if (kept && kept.signature === signature) {
        refreshTime(kept.tr, now);
        return kept.tr;
      }
      const tr = runRow(run, columns, now);
      if (added.has(run.run_id)) tr.classList.add('fresh');
      else if (changed.has(run.run_id)) tr.classList.add('changed');
      rows.set(run.run_id, { signature, tr });
      return tr;
    });
    for (const id of rows.keys()) if (!seen.has(id)) rows.delete(id);
    // Keep the focused row focused when it survives a refresh.
    const focused = tbody.contains(document.activeElement) ? document.activeElement : null;
    tbody.replaceChildren(...trs);
    if (focused && tbody.contains(focused)) focused.focus({ preventScroll: true });
  }

  function forgetTable() {
    shown = null;
    rows.clear();
    tbody.replaceChildren();
  }

  async function poll() {
    if (!canPoll() || polling) return;
    polling = true;
    const token = generation;
    try {
      const { q } = withRange(state.q, parseRange(state.range, DEFAULT_RANGE));
      const body = await api.get('/runs', { q, limit: PAGE_SIZE, ...sortParams(state.sort) });
      if (token !== generation || !canPoll()) return;
      liveButton.classList.remove('is-offline');
      // Newest first, new runs go on top. In another order a new or re-sorted run would have to
      // move rows under the reader: the page only offers to refresh, and updates rows in place
      // while the order stays the same.
      if (isDefaultSort(state.sort) || sameOrder(shown, body.runs || [])) await show(body, shown || []);
      else showHint();
    } catch (err) {
      // A failed refresh is not worth an error page: say so on the indicator and try again.
      liveButton.classList.add('is-offline');
      liveButton.title = `Live updates failing: ${err.message}`;
    } finally {
      polling = false;
    }
  }

  function canPoll() {
    return !paused && !document.hidden && !state.page.cursor && !results.classList.contains('is-stale')
      && !results.querySelector('[data-testid="error"]') && hint.hidden;
  }

  function showHint() {
    replace(hint, icon('refresh', { size: 14 }), h('span', null, 'New or changed runs in this order.'),
      h('button', { type: 'button', class: 'button small', 'data-testid': 'runs-refresh', onclick: () => load() }, 'Refresh'));
    hint.hidden = false;
  }

  function hideHint() {
    hint.hidden = true;
    replace(hint);
  }

  /** The query suggestions are counted in: the page's, less the field being filtered on. */
  function valuesScope(field) {
    const own = search.input.getAttribute('aria-invalid') === 'true' ? '' : withoutField(state.q, field);
    return withRange(own, parseRange(state.range, DEFAULT_RANGE)).q;
  }

  function setColumns(keys) {
    columnKeys = normalizeColumns(keys);
    saveColumns(columnKeys);
    columns = columnDefs(columnKeys);
    drawHead();
    views.sync();
    if (shown) {
      rows.clear();
      fillRows(shown, new Set(), new Set());
    }
  }

  function drawHead() {
    // A header clicked keeps the focus when the head is drawn again in the new order.
    const focused = tableEl.contains(document.activeElement) ? document.activeElement.dataset.sort : null;
    for (const el of [...tableEl.children]) if (el !== tbody) el.remove();
    tableEl.prepend(...tableHead(columns, state.sort, (by) => go({ ...state, sort: nextSort(state.sort, by), page: FIRST_PAGE })));
    if (focused) tableEl.querySelector(`.sort-button[data-sort="${focused}"]`)?.focus({ preventScroll: true });
  }

  function syncChips() {
    replace(chips, filterChips(state.q, (q) => go({ ...state, q, page: FIRST_PAGE })));
  }

  function onVisible() {
    if (!document.hidden) poll();
  }

  function togglePause() {
    paused = !paused;
    syncLive();
    if (!paused) poll();
  }

  function syncLive() {
    const firstPage = !state.page.cursor;
    const mode = !firstPage ? 'off' : paused ? 'paused' : 'on';
    liveButton.dataset.mode = mode;
    liveButton.disabled = !firstPage;
    liveButton.setAttribute('aria-pressed', String(mode === 'on'));
    liveButton.title = mode === 'on' && !isDefaultSort(state.sort) ? 'Checks for new runs; in this order the list offers a refresh rather than moving rows. Click to pause.'
      : mode === 'on' ? 'New runs appear as they arrive. Click to pause.'
      : mode === 'paused' ? 'Paused. Click to show new runs as they arrive.'
        : 'Live updates run on the first page';
    replace(liveButton, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), mode === 'paused' ? 'Paused' : 'Live');
  }

  function moveFocus(event) {
    moveFocusAmong(event, tbody, '.row-link');
  }

  /** A signal badge narrows what the page lists (its href alone would drop the query and range). */
  function filterBySignal(event) {
    const a = event.target.closest('a[data-signal-filter]');
    if (!a || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go({ ...state, q: addTerm(state.q, buildTerm({ field: 'signal', value: a.dataset.signalFilter })), page: FIRST_PAGE });
  }

  return {
    update(next) {
      state = readState(next.query);
      search.setValue(state.q);
      range.setValue(state.range);
      drawHead();
      syncChips();
      views.sync();
      syncLive();
      load();
    },
    dispose() {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
      controller?.abort();
      generation += 1;
      search.close();
      completion.close();
      range.close();
      filter.close();
      columnChooser.close();
      views.close();
      exporter.close();
      deleter.close();
    },
  };
}

function readState(query) {
  return { ...readListState(query, DEFAULT_RANGE), sort: readSort(query) };
}

function urlOf({ q, range, sort, page }) {
  return href('/runs', { q, range: range === DEFAULT_RANGE ? '' : range, ...sortParams(sort), ...pageParams(page) });
}

/** Whether two pages hold the same runs in the same order. */
function sameOrder(before, after) {
  const was = before || [];
  return was.length === after.length && was.every((run, i) => run.run_id === after[i].run_id);
}
