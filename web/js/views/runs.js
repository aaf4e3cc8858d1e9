// The runs list: query-language search, time range, cursor pages, and new runs streaming in at
// the top while the first page is open. URL: /runs?q=&range=&cursor=&back=
import { h, icon, link, moveFocusAmong, replace } from '../dom.js';
import * as api from '../api.js';
import * as format from '../format.js';
import * as badges from '../components/badges.js';
import { empty, errorState, loading } from '../components/states.js';
import { searchBar } from '../components/search.js';
import { parseRange, rangeLabel, timeRangePicker, withRange } from '../components/timerange.js';
import { listHref, pager, readListState } from '../components/pager.js';
import { diffRuns, runSignature } from './runs-live.js';

const PAGE_SIZE = 50;
const POLL_MS = 5000;
const DEFAULT_RANGE = 'all';
const FIRST_PAGE = { cursor: null, back: [] };

const COLUMNS = [
  ['time', 'Time'], ['agent', 'Agent'], ['status', 'Status'], ['input', 'Input'],
  ['duration', 'Duration', 'num'], ['tokens', 'Tokens', 'num'], ['cost', 'Cost', 'num'],
  ['spans', 'Spans', 'num'], ['signals', 'Signals'], ['thread', 'Thread'], ['user', 'User'],
];

export function mount(root, ctx) {
  let state = readState(ctx.query);
  let shown = null; // the runs in the table, or null while there is no table
  let controller = null;
  let generation = 0;
  let paused = false;
  let polling = false;
  let emptyFor = null; // the URL whose empty state is on screen
  const rows = new Map(); // run id → {signature, tr}: unchanged rows are kept across refreshes

  const search = searchBar({ value: state.q, onSubmit: (q) => go({ ...state, q, page: FIRST_PAGE }) });
  const range = timeRangePicker({
    value: state.range, fallback: DEFAULT_RANGE,
    onChange: (value) => go({ ...state, range: value, page: FIRST_PAGE }),
  });
  const liveButton = h('button', { type: 'button', class: 'live', 'data-testid': 'live', onclick: togglePause });
  const summary = h('span', { class: 'runs-summary muted' });
  const results = h('div', { class: 'runs-results' });
  const footer = h('div', { class: 'runs-footer' });
  const toolbar = h('div', { class: 'runs-toolbar' }, search.el, range.el);
  const tbody = h('tbody', { onkeydown: moveFocus });
  const table = h('div', { class: 'table-wrap runs-table-wrap' },
    h('table', { class: 'table runs-table', 'data-testid': 'runs-table' },
      h('colgroup', null, COLUMNS.map(([key]) => h('col', { class: `col-${key}` }))),
      h('thead', null, h('tr', null, COLUMNS.map(([key, label, cls]) => h('th', { class: [`col-${key}`, cls], scope: 'col' }, label)))),
      tbody));

  replace(root, h('section', { class: 'runs-page' },
    h('div', { class: 'page-header' }, h('h1', null, 'Runs'), summary, h('div', { class: 'spacer' }), liveButton),
    toolbar, results, footer));
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
    try {
      const body = await api.get('/runs', { q, limit: PAGE_SIZE, cursor: state.page.cursor }, { signal: controller.signal });
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
      h('button', { type: 'button', class: 'button', 'data-testid': 'clear-filters', onclick: () => go({ q: '', range: DEFAULT_RANGE, page: FIRST_PAGE }) },
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
      const tr = runRow(run, now);
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
      const body = await api.get('/runs', { q, limit: PAGE_SIZE });
      if (token !== generation || !canPoll()) return;
      liveButton.classList.remove('is-offline');
      await show(body, shown || []);
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
      && !results.querySelector('[data-testid="error"]');
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
    liveButton.title = mode === 'on' ? 'New runs appear as they arrive. Click to pause.'
      : mode === 'paused' ? 'Paused. Click to show new runs as they arrive.'
        : 'Live updates run on the first page';
    replace(liveButton, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), mode === 'paused' ? 'Paused' : 'Live');
  }

  function moveFocus(event) {
    moveFocusAmong(event, tbody, '.row-link');
  }

  return {
    update(next) {
      state = readState(next.query);
      search.setValue(state.q);
      range.setValue(state.range);
      syncLive();
      load();
    },
    dispose() {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
      controller?.abort();
      generation += 1;
      search.close();
      range.close();
    },
  };
}

function readState(query) {
  return readListState(query, DEFAULT_RANGE);
}

function urlOf(state) {
  return listHref('/runs', state, DEFAULT_RANGE);
}

function runRow(run, now) {
  const url = `/runs/${encodeURIComponent(run.run_id)}`;
  const agent = run.agent_name || run.name || 'Unnamed run';
  const input = format.preview(run.input, 200);
  return h('tr', { class: ['run-row', run.status === 'error' && 'is-error'], 'data-run-id': run.run_id },
    h('td', { class: 'col-time' },
      link(url, { class: 'row-link', 'data-testid': 'run-link', 'aria-label': `${agent}, ${format.dateTime(run.start_time_unix_nano)}` },
        h('span', { class: 'run-time', 'data-t': run.start_time_unix_nano, title: format.dateTime(run.start_time_unix_nano) }, format.ago(run.start_time_unix_nano, now)))),
    h('td', { class: 'col-agent' },
      h('div', { class: 'run-agent ellipsis', title: agent }, agent),
      showName(run.name, agent) ? h('div', { class: 'run-name ellipsis', title: run.name }, run.name) : null),
    h('td', { class: 'col-status' },
      badges.status(run.status, run.status_message),
      run.has_root ? null : h('span', { class: 'run-partial', title: 'The root span has not arrived yet: the run may still be going' }, 'in progress')),
    h('td', { class: 'col-input' },
      input ? h('div', { class: 'run-input ellipsis', title: input }, input) : h('span', { class: 'muted' }, '—')),
    h('td', { class: 'col-duration num' }, format.duration(run.duration_ms)),
    h('td', { class: 'col-tokens num', title: run.total_tokens ? `${format.count(run.input_tokens)} in · ${format.count(run.output_tokens)} out` : null },
      run.total_tokens ? format.compact(run.total_tokens) : dash()),
    h('td', { class: 'col-cost num' }, run.cost_usd === null || run.cost_usd === undefined ? dash() : format.cost(run.cost_usd)),
    h('td', { class: 'col-spans num' },
      format.count(run.span_count),
      run.error_count ? h('span', { class: 'run-errors', title: `${format.count(run.error_count)} failed ${run.error_count === 1 ? 'span' : 'spans'}` }, icon('alert', { size: 12 }), format.count(run.error_count)) : null),
    h('td', { class: 'col-signals' }, signals(run.signals || [])),
    h('td', { class: 'col-thread' },
      run.thread_id ? link(`/threads/${encodeURIComponent(run.thread_id)}`, { class: 'cell-link ellipsis', title: `Thread ${run.thread_id}` }, run.thread_id) : dash()),
    h('td', { class: 'col-user' }, run.user_id ? h('div', { class: 'ellipsis', title: run.user_id }, run.user_id) : dash()));
}

/** The run's name under its agent, unless it only repeats it (GenAI's `invoke_agent <agent>`). */
function showName(name, agent) {
  return Boolean(name) && name !== agent && name !== `invoke_agent ${agent}`;
}

/** Loop signals as one compact badge; the details are in its title. */
function signals(list) {
  if (!list.length) return null;
  const loops = list.filter((s) => s.kind === 'loop');
  const others = list.filter((s) => s.kind !== 'loop');
  return [
    loops.length ? h('span', {
      class: 'badge signal-loop', 'data-signal': 'loop',
      title: loops.map((s) => `${s.tool_name || 'a tool'} called ${s.repeats}× in a row with the same arguments`).join('\n'),
    }, 'Loop', loops.length > 1 ? ` ×${loops.length}` : '') : null,
    others.map((s) => badges.signal(s)),
  ];
}

function refreshTime(tr, now) {
  const el = tr.querySelector('.run-time');
  if (el) el.textContent = format.ago(el.dataset.t, now);
}

function dash() {
  return h('span', { class: 'muted' }, '—');
}
