// The threads list: conversations (runs sharing a thread id), most recently active first, with
// the same search and time range as the runs list. URL: /threads?q=&range=&cursor=&back=
import { h, icon, link, moveFocusAmong, replace } from '../dom.js';
import * as api from '../api.js';
import * as format from '../format.js';
import { empty, errorState, loading } from '../components/states.js';
import { searchBar } from '../components/search.js';
import { parseRange, timeRangePicker, withRange } from '../components/timerange.js';
import { listHref, pager, readListState } from '../components/pager.js';

const PAGE_SIZE = 50;
const DEFAULT_RANGE = 'all';
const FIRST_PAGE = { cursor: null, back: [] };

const COLUMNS = [
  ['thread', 'Thread'], ['runs', 'Runs', 'num'], ['errors', 'Errors', 'num'], ['first', 'First activity'],
  ['last', 'Last activity'], ['user', 'User'], ['agents', 'Agents'], ['tokens', 'Tokens', 'num'], ['cost', 'Cost', 'num'],
];

export function mount(root, ctx) {
  let state = readState(ctx.query);
  let controller = null;
  let hasTable = false;

  const search = searchBar({
    value: state.q, label: 'Search threads',
    placeholder: 'Search threads by their runs…  e.g. user:cust_2290 since:7d',
    onSubmit: (q) => go({ ...state, q, page: FIRST_PAGE }),
  });
  const range = timeRangePicker({
    value: state.range, fallback: DEFAULT_RANGE,
    onChange: (value) => go({ ...state, range: value, page: FIRST_PAGE }),
  });
  const results = h('div', { class: 'runs-results' });
  const footer = h('div', { class: 'runs-footer' });
  const tbody = h('tbody', { onkeydown: moveFocus });
  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'table threads-table', 'data-testid': 'threads-table' },
      h('colgroup', null, COLUMNS.map(([key]) => h('col', { class: `col-${key}` }))),
      h('thead', null, h('tr', null, COLUMNS.map(([key, label, cls]) => h('th', { class: [`col-${key}`, cls], scope: 'col' }, label)))),
      tbody));

  replace(root, h('section', { class: 'threads-page' },
    h('div', { class: 'page-header' }, h('h1', null, 'Threads'),
      h('span', { class: 'muted page-subtitle' }, 'Conversations: runs that share a thread id, most recently active first')),
    h('div', { class: 'runs-toolbar' }, search.el, range.el),
    results, footer));
  ctx.setTitle('Threads');
  load();

  function go(next) {
    const url = urlOf(next);
    if (url === window.location.pathname + window.location.search) load();
    else ctx.navigate(url);
  }

  async function load() {
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    const { q, offset } = withRange(state.q, parseRange(state.range, DEFAULT_RANGE));
    results.classList.add('is-loading');
    if (!hasTable) replace(results, loading('Loading threads…'));
    try {
      const body = await api.get('/threads', { q, limit: PAGE_SIZE, cursor: state.page.cursor }, { signal });
      search.clearError();
      show(body);
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 400) {
        search.setError(err, offset);
        if (hasTable) results.classList.add('is-stale');
        else replace(results, empty('Fix the search to see threads', 'The query above could not be read; the mark shows where.'));
      } else {
        hasTable = false;
        replace(results, errorState(err, load));
        replace(footer);
      }
    } finally {
      if (!signal.aborted) results.classList.remove('is-loading');
    }
  }

  function show(body) {
    results.classList.remove('is-stale');
    const threads = body.threads || [];
    const now = Date.now();
    if (threads.length) {
      tbody.replaceChildren(...threads.map((t) => threadRow(t, now)));
      if (!hasTable) replace(results, table);
      hasTable = true;
    } else {
      hasTable = false;
      replace(results, emptyState());
    }
    replace(footer, threads.length || state.page.cursor
      ? pager({ page: state.page, nextCursor: body.next_cursor, shown: threads.length, size: PAGE_SIZE, noun: 'threads', hrefFor: (p) => urlOf({ ...state, page: p }) })
      : null);
  }

  function emptyState() {
    const filtered = state.q || parseRange(state.range, DEFAULT_RANGE).kind !== 'all';
    if (filtered || state.page.cursor) {
      return empty('No threads match',
        h('p', null, 'No conversation has a run matching this search.'),
        h('button', { type: 'button', class: 'button', 'data-testid': 'clear-filters', onclick: () => go({ q: '', range: DEFAULT_RANGE, page: FIRST_PAGE }) }, icon('x'), 'Clear filters'));
    }
    return empty('No threads yet',
      h('p', null, 'A run joins a thread when one of its spans carries a thread id: ',
        h('code', null, 'lemma.thread_id'), ', ', h('code', null, 'gen_ai.conversation.id'), ' or ', h('code', null, 'session.id'),
        ' (the Langfuse, Vercel AI and OpenLLMetry session ids count too).'),
      link('/runs', { class: 'button' }, 'See all runs'));
  }

  function moveFocus(event) {
    moveFocusAmong(event, tbody, '.row-link');
  }

  return {
    update(next) {
      state = readState(next.query);
      search.setValue(state.q);
      range.setValue(state.range);
      load();
    },
    dispose() {
      controller?.abort();
      search.close();
      range.close();
    },
  };
}

function readState(query) {
  return readListState(query, DEFAULT_RANGE);
}

function urlOf(state) {
  return listHref('/threads', state, DEFAULT_RANGE);
}

function threadRow(thread, now) {
  const agents = thread.agent_names || [];
  return h('tr', { class: ['run-row', thread.error_count && 'has-errors'], 'data-thread-id': thread.thread_id },
    h('td', { class: 'col-thread' },
      link(`/threads/${encodeURIComponent(thread.thread_id)}`, { class: 'row-link thread-link', 'data-testid': 'thread-link', title: thread.thread_id },
        h('span', { class: 'ellipsis' }, thread.thread_id))),
    h('td', { class: 'col-runs num' }, format.count(thread.run_count)),
    h('td', { class: ['col-errors num', thread.error_count && 'has-errors'] }, thread.error_count ? format.count(thread.error_count) : h('span', { class: 'muted' }, '0')),
    h('td', { class: 'col-first' }, when(thread.start_time_unix_nano, now)),
    h('td', { class: 'col-last' }, when(thread.last_start_time_unix_nano, now)),
    h('td', { class: 'col-user' }, thread.user_id ? h('div', { class: 'ellipsis', title: thread.user_id }, thread.user_id) : dash()),
    h('td', { class: 'col-agents' }, agents.length ? h('div', { class: 'ellipsis', title: agents.join(', ') }, agents.join(', ')) : dash()),
    h('td', { class: 'col-tokens num', title: format.count(thread.total_tokens) }, thread.total_tokens ? format.compact(thread.total_tokens) : dash()),
    h('td', { class: 'col-cost num' }, thread.cost_usd === null || thread.cost_usd === undefined ? dash() : format.cost(thread.cost_usd)));
}

function when(t, now) {
  return h('span', { class: 'nowrap', title: format.dateTime(t) }, format.ago(t, now));
}

function dash() {
  return h('span', { class: 'muted' }, '—');
}
