// The runs list's pure parts: the one cost format, the column model, the order in the URL and
// saved views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cost } from '../../../web/js/format.js';
import { columnDefs, defaultColumns, loadColumns, normalizeColumns, saveColumns, toggleColumn } from '../../../web/js/views/runs-columns.js';
import { ariaSort, isDefaultSort, nextSort, readSort, sortParams } from '../../../web/js/views/runs-sort.js';
import { currentView, deleteView, loadViews, renameView, saveView, storeViews } from '../../../web/js/views/runs-saved.js';
import { numberProblem } from '../../../web/js/views/runs-filter.js';

function memoryStorage(initial = {}) {
  const data = new Map(Object.entries(initial));
  return { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)), data };
}

test('costs: four significant digits under $1, two decimals from $1, never exponents', () => {
  assert.equal(cost(0.0000387), '$0.0000387');
  assert.equal(cost(0.01234567), '$0.01235');
  assert.equal(cost(0.01), '$0.01');
  assert.equal(cost(0.5), '$0.50');
  assert.equal(cost(0.7824), '$0.7824');
  assert.equal(cost(0.99999), '$1.00');
  assert.equal(cost(1.5), '$1.50');
  assert.equal(cost(1234.5), '$1,234.50');
  assert.equal(cost(0.0000000123), '$0.0000000123');
  assert.equal(cost(0), '$0.00');
  assert.equal(cost(null), '—');
  assert.equal(cost(undefined), '—');
});

test('columns: defaults, order, the fixed time column and metadata keys', () => {
  const defaults = defaultColumns();
  assert.equal(defaults[0], 'time');
  assert.ok(!defaults.includes('output') && !defaults.includes('env'), 'optional columns start hidden');
  assert.deepEqual(normalizeColumns(['meta.tier', 'cost', 'agent', 'bogus', 'cost', 7]), ['time', 'agent', 'cost', 'meta.tier']);
  assert.deepEqual(normalizeColumns('nonsense'), defaults);
  assert.deepEqual(toggleColumn(defaults, 'time', false), defaults, 'the link column cannot be hidden');
  const withMeta = toggleColumn(toggleColumn(defaults, 'meta.b', true), 'meta.a', true);
  assert.deepEqual(withMeta.slice(-2), ['meta.b', 'meta.a'], 'metadata columns in the order added');
  assert.deepEqual(columnDefs(['meta.tier']).at(-1), { key: 'meta.tier', label: 'tier', metaKey: 'tier' });
  assert.equal(columnDefs(defaults).find((c) => c.key === 'cost').sort, 'cost');
});

test('columns are remembered per project and survive junk in storage', () => {
  const storage = memoryStorage({ 'lemma.runs.columns.broken': '{not json' });
  assert.deepEqual(loadColumns('broken', storage), defaultColumns());
  assert.ok(saveColumns(['output', 'meta.tier'], 'one', storage));
  assert.deepEqual(loadColumns('one', storage), ['time', 'output', 'meta.tier']);
  assert.deepEqual(loadColumns('two', storage), defaultColumns());
});

test('sort: read from the URL, default left out, header clicks flip', () => {
  const q = (s) => new URLSearchParams(s);
  assert.deepEqual(readSort(q('')), { by: 'start_time', order: 'desc' });
  assert.deepEqual(readSort(q('sort=cost&order=asc')), { by: 'cost', order: 'asc' });
  assert.deepEqual(readSort(q('sort=drop&order=sideways')), { by: 'start_time', order: 'desc' });
  assert.deepEqual(sortParams({ by: 'start_time', order: 'desc' }), { sort: '', order: '' });
  assert.deepEqual(sortParams({ by: 'cost', order: 'desc' }), { sort: 'cost', order: 'desc' });
  assert.deepEqual(nextSort({ by: 'start_time', order: 'desc' }, 'cost'), { by: 'cost', order: 'desc' });
  assert.deepEqual(nextSort({ by: 'cost', order: 'desc' }, 'cost'), { by: 'cost', order: 'asc' });
  assert.equal(isDefaultSort(nextSort({ by: 'cost', order: 'asc' }, 'start_time')), true);
  assert.equal(ariaSort({ by: 'cost', order: 'asc' }, 'cost'), 'ascending');
  assert.equal(ariaSort({ by: 'cost', order: 'asc' }, 'tokens'), null);
});

test('saved views: save, replace by name, rename, delete, recognise, store', () => {
  const state = { q: 'status:error', range: 'all', sort: { by: 'cost', order: 'asc' }, columns: ['time', 'cost'] };
  let { views, error } = saveView([], { ...state, name: '  Errors ' });
  assert.equal(error, null);
  assert.equal(views[0].name, 'Errors');
  assert.equal(saveView(views, { ...state, name: '   ' }).error, 'Give the view a name.');
  ({ views } = saveView(views, { ...state, q: 'status:ok', name: 'Errors' }));
  assert.equal(views.length, 1, 'the same name replaces');
  assert.equal(views[0].q, 'status:ok');
  ({ views } = saveView(views, { ...state, name: 'Other' }));
  assert.match(renameView(views, 'Other', 'Errors').error, /exists already/);
  ({ views } = renameView(views, 'Other', 'Cheap'));
  assert.deepEqual(views.map((v) => v.name), ['Errors', 'Cheap']);
  assert.equal(currentView(views, state)?.name, 'Cheap');
  assert.equal(currentView(views, { ...state, columns: ['time'] }), null, 'columns count');
  const storage = memoryStorage();
  storeViews(deleteView(views, 'Errors'), 'p', storage);
  assert.deepEqual(loadViews('p', storage).map((v) => v.name), ['Cheap']);
  assert.deepEqual(loadViews('q', memoryStorage({ 'lemma.runs.views.q': '{"views":[{"name":""},{"name":"ok","sort":{"by":"x"}}]}' })).map((v) => [v.name, v.sort.by]), [['ok', 'start_time']]);
});

test('number filters take what the query language takes', () => {
  assert.equal(numberProblem('duration', '5s'), null);
  assert.equal(numberProblem('duration', '1.5m'), null);
  assert.match(numberProblem('duration', '5 sec'), /500ms/);
  assert.equal(numberProblem('cost', '$0.01'), null);
  assert.ok(numberProblem('cost', '-1'));
  assert.equal(numberProblem('tokens', '1.5k'), null);
  assert.equal(numberProblem('errors', '0'), null);
  assert.equal(numberProblem('errors', ''), 'Type a number.');
});
