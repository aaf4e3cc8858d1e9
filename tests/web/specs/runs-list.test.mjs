// The runs list, second round: columns sort on the server and the order is a URL that pages
// keep; columns can be chosen (metadata too) and are remembered; a filter builder suggests
// values from the store; views are saved in the browser; costs read one way everywhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RUNS, api, launch, open, postSpans, assertInert } from '../lib/harness.mjs';
import * as format from '../../../web/js/format.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const ROWS = '[data-testid="runs-table"] tbody tr[data-run-id]';
const hex = (bytes) => randomBytes(bytes).toString('hex');
const kv = (key, value) => ({ key, value: typeof value === 'number' ? { doubleValue: value } : { stringValue: String(value) } });
// The hostile fixture run (dashboard.rs): its trace id is these 16 bytes.
const HOSTILE_RUN = RUNS.hostile || Buffer.from('hostile-run-0001').toString('hex');
const HOSTILE_AGENT = '<img src=x onerror="window.__pwned=1">';
const IMG = '<img src=x onerror=window.__pwned=4>';
const RLO = '\u202E';

function rowIds(page) {
  return page.$$eval(ROWS, (trs) => trs.map((tr) => tr.dataset.runId));
}

async function expectRows(page, ids, timeout = 10000) {
  await page.waitForFunction(
    ([selector, want]) => JSON.stringify([...document.querySelectorAll(selector)].map((tr) => tr.dataset.runId)) === JSON.stringify(want),
    [ROWS, ids], { timeout },
  ).catch(() => {});
  assert.deepEqual(await rowIds(page), ids);
}

async function apiRuns(params) {
  return (await api(`/runs?${new URLSearchParams({ limit: 1000, ...params })}`)).runs;
}

/** A one-span run of `agent`; `attributes` adds lemma.* attributes (cost, metadata, tags…). */
function runSpan({ agent, startMs, durationMs = 1000, attributes = [], traceId = hex(16) }) {
  return {
    traceId, spanId: hex(8), name: `invoke_agent ${agent}`, kind: 1,
    startTimeUnixNano: String(BigInt(startMs) * 1000000n),
    endTimeUnixNano: String(BigInt(startMs + durationMs) * 1000000n),
    attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', agent), ...attributes],
    status: { code: 1 },
  };
}

async function waitForApi(q, n) {
  for (let i = 0; i < 100; i += 1) {
    const runs = await apiRuns({ q });
    if (runs.length === n) return runs;
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  throw new Error(`the API never showed ${n} runs for ${q}`);
}

async function cellTexts(page, column) {
  return page.$$eval(`${ROWS} td[data-column="${column}"]`, (tds) => tds.map((td) => td.textContent.trim()));
}

test('a column header sorts on the server, flips, shows the order and keeps it in the URL', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.waitForSelector(ROWS);
  const costHeader = page.locator('th[data-column="cost"]');
  assert.equal(await costHeader.getAttribute('aria-sort'), null);
  assert.equal(await page.locator('th[data-column="time"]').getAttribute('aria-sort'), 'descending', 'newest first by default');

  await costHeader.locator('button').click();
  await page.waitForURL(/[?&]sort=cost&order=desc/);
  const desc = await apiRuns({ sort: 'cost', order: 'desc' });
  await expectRows(page, desc.map((r) => r.run_id).slice(0, 50));
  assert.equal(await costHeader.getAttribute('aria-sort'), 'descending');
  assert.equal(await costHeader.locator('.sort-arrow').textContent(), '▼');
  assert.equal(await page.locator('th[data-column="time"]').getAttribute('aria-sort'), null, 'one header is sorted at a time');
  const priced = desc.map((r) => r.cost_usd).filter((c) => c !== null);
  assert.ok(priced.length > 2 && new Set(priced).size > 1, 'the fixtures have several costs');
  assert.deepEqual(priced, [...priced].sort((a, b) => b - a), 'most expensive first');
  assert.deepEqual(await cellTexts(page, 'cost'), desc.slice(0, 50).map((r) => (r.cost_usd === null ? '—' : format.cost(r.cost_usd))));

  // Again: cheapest first. The URL says so, and a reload (or a shared link) opens on it.
  await costHeader.locator('button').click();
  await page.waitForURL(/[?&]sort=cost&order=asc/);
  const asc = await apiRuns({ sort: 'cost', order: 'asc' });
  await expectRows(page, asc.map((r) => r.run_id).slice(0, 50));
  assert.notDeepEqual(asc.map((r) => r.run_id), desc.map((r) => r.run_id));
  assert.equal(await costHeader.getAttribute('aria-sort'), 'ascending');
  assert.equal(await costHeader.locator('.sort-arrow').textContent(), '▲');
  const ascPriced = asc.map((r) => r.cost_usd).filter((c) => c !== null);
  assert.deepEqual(ascPriced, [...ascPriced].sort((a, b) => a - b));
  await page.reload();
  await expectRows(page, asc.map((r) => r.run_id).slice(0, 50));
  assert.equal(await page.locator('th[data-column="cost"]').getAttribute('aria-sort'), 'ascending');

  // Another column starts at its largest; Started goes back to the plain URL.
  await page.locator('th[data-column="duration"] button').click();
  await page.waitForURL(/sort=duration&order=desc/);
  await expectRows(page, (await apiRuns({ sort: 'duration', order: 'desc' })).map((r) => r.run_id).slice(0, 50));
  await page.locator('th[data-column="time"] button').click();
  await page.waitForURL((url) => url.pathname === '/runs' && !url.search);
  await expectRows(page, (await apiRuns({ limit: 50 })).map((r) => r.run_id).slice(0, 50));
  await page.locator('th[data-column="time"] button').click();
  await page.waitForURL(/sort=start_time&order=asc/);
  await expectRows(page, (await apiRuns({ sort: 'start_time', order: 'asc' })).map((r) => r.run_id).slice(0, 50));
  assert.equal(await page.locator('th[data-column="time"]').getAttribute('aria-sort'), 'ascending');
  await done();
});

test('pages of a sorted list continue its order, with no run twice', async () => {
  const agent = `sorted_pager_${hex(4)}`;
  const now = Date.now() - 120_000;
  // Costs with ties (i % 20), so pages must break ties the way the server does.
  const spans = Array.from({ length: 63 }, (_, i) => runSpan({ agent, startMs: now - i * 1000, attributes: [kv('lemma.cost_usd', ((i * 7) % 20) / 1000 + 0.001)] }));
  await postSpans(`pager-${agent}`, spans);
  await waitForApi(`agent:${agent}`, 63);
  const all = await apiRuns({ q: `agent:${agent}`, sort: 'cost', order: 'asc' });

  const { page, done } = await open(browser, `/runs?q=agent%3A${agent}&sort=cost&order=asc`);
  await expectRows(page, all.slice(0, 50).map((r) => r.run_id));
  const first = await rowIds(page);
  const firstCosts = await cellTexts(page, 'cost');
  await page.getByTestId('page-next').click();
  await page.waitForURL(/cursor=/);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('sort'), 'cost');
  assert.equal(url.searchParams.get('order'), 'asc');
  await expectRows(page, all.slice(50).map((r) => r.run_id));
  const second = await rowIds(page);
  assert.equal(new Set([...first, ...second]).size, 63, 'every run once');
  const costs = [...first, ...second].map((id) => all.find((r) => r.run_id === id).cost_usd);
  assert.deepEqual(costs, [...costs].sort((a, b) => a - b), 'cheapest first across both pages');
  assert.equal(firstCosts[0], format.cost(0.001));
  assert.equal(await page.locator('th[data-column="cost"]').getAttribute('aria-sort'), 'ascending');

  // Changing the order starts over on the first page (a cursor only continues its own order).
  await page.locator('th[data-column="cost"] button').click();
  await page.waitForURL((u) => u.searchParams.get('order') === 'desc' && !u.searchParams.has('cursor'));
  const desc = await apiRuns({ q: `agent:${agent}`, sort: 'cost', order: 'desc' });
  await expectRows(page, desc.slice(0, 50).map((r) => r.run_id));
  await done();
});

test('in another order, a new run is offered as a refresh rather than put out of order', async () => {
  const agent = `late_${hex(4)}`;
  const q = `agent:${agent}`;
  const newest = (await apiRuns({ limit: 1 }))[0];
  const start = Math.max(Date.now(), Date.parse(newest.start_time) + 60_000);
  await postSpans('late', [runSpan({ agent, startMs: start, attributes: [kv('lemma.cost_usd', 0.5)] }),
    runSpan({ agent, startMs: start + 1000, attributes: [kv('lemma.cost_usd', 0.2)] })]);
  await waitForApi(q, 2);
  const { page, done } = await open(browser, `/runs?q=${encodeURIComponent(q)}&sort=cost&order=desc`);
  const before = (await apiRuns({ q, sort: 'cost', order: 'desc' })).map((r) => r.run_id);
  await expectRows(page, before);
  assert.equal(await page.getAttribute('[data-testid="live"]', 'data-mode'), 'on');

  // The newest run of all, and the most expensive: newest-first would put it on top, cost
  // order too, but the page does not move rows under the reader.
  const late = hex(16);
  await postSpans('late', [runSpan({ agent, startMs: start + 2000, traceId: late, attributes: [kv('lemma.cost_usd', 0.9)] })]);
  await waitForApi(q, 3);
  await page.getByTestId('runs-refresh').waitFor({ timeout: 15000 });
  assert.deepEqual(await rowIds(page), before, 'the rows stayed as they were');
  await page.getByTestId('runs-refresh').click();
  await expectRows(page, (await apiRuns({ q, sort: 'cost', order: 'desc' })).map((r) => r.run_id));
  assert.equal((await rowIds(page))[0], late);
  await page.getByTestId('runs-refresh').waitFor({ state: 'detached' });
  await done();
});

test('the column chooser adds a metadata column and optional ones, remembered after a reload', async () => {
  // Most tokens first: the fixtures (which have tokens and metadata) before runs other tests post.
  const { page, done } = await open(browser, '/runs?sort=tokens&order=desc');
  await page.waitForSelector(ROWS);
  assert.equal(await page.locator('th[data-column="meta.tier"]').count(), 0);
  assert.equal(await page.locator('th[data-column="output"]').count(), 0);

  await page.getByTestId('columns-button').click();
  await page.fill('[data-testid="column-meta-input"]', 'ti');
  const option = page.locator('[data-testid="column-meta-options"] [data-value="tier"]');
  await option.waitFor();
  const tiers = (await api('/values?field=meta&prefix=ti')).values;
  assert.equal(await option.locator('.combo-count').getAttribute('data-count'), String(tiers.find((v) => v.value === 'tier').runs));
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.locator('th[data-column="meta.tier"]').waitFor();
  await page.check('input[data-column="output"]');
  await page.locator('th[data-column="output"]').waitFor();
  await page.keyboard.press('Escape');

  const check = async () => {
    const runs = await apiRuns({ limit: 50, sort: 'tokens', order: 'desc' });
    await expectRows(page, runs.map((r) => r.run_id));
    assert.deepEqual(await cellTexts(page, 'meta.tier'), runs.map((r) => r.metadata?.tier ?? '—'));
    assert.ok((await cellTexts(page, 'meta.tier')).includes('gold'));
    const outputs = await cellTexts(page, 'output');
    assert.deepEqual(outputs, runs.map((r) => (r.output ? format.preview(r.output, 200) : '—')));
    assert.equal(await page.locator('th[data-column="meta.tier"]').textContent(), 'tier');
  };
  await check();
  await page.reload();
  await page.waitForSelector(ROWS);
  await check();

  // Hiding a column removes it, and that is remembered too.
  await page.getByTestId('columns-button').click();
  await page.uncheck('input[data-column="meta.tier"]');
  await page.uncheck('input[data-column="user"]');
  await page.reload();
  await page.waitForSelector(ROWS);
  assert.equal(await page.locator('th[data-column="meta.tier"]').count(), 0);
  assert.equal(await page.locator('th[data-column="user"]').count(), 0);
  assert.equal(await page.locator('th[data-column="output"]').count(), 1);
  await done();
});

test('the filter builder suggests values with counts and filters by the one chosen', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.waitForSelector(ROWS);
  const requests = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/v1/values') requests.push(new URL(r.url()).searchParams); });

  await page.getByTestId('add-filter').click();
  await page.locator('[data-field="agent"]').focus();
  await page.keyboard.press('Enter');
  const options = page.locator('[data-testid="filter-value-options"] .combo-option');
  await options.first().waitFor();
  const agents = (await api('/values?field=agent')).values;
  assert.ok(agents.length > 2, 'the fixtures hold several agents');
  assert.deepEqual(
    await options.evaluateAll((els) => els.map((el) => [el.dataset.value, Number(el.querySelector('.combo-count').dataset.count)])),
    agents.map((v) => [v.value, v.runs]),
    'every agent of the store, most common first, with its count',
  );

  // Typing narrows them, with one request for the whole word, not one per key.
  const before = requests.length;
  await page.locator('[data-testid="filter-value-input"]').pressSequentially('support', { delay: 20 });
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="filter-value-options"] .combo-option')].every((el) => el.dataset.value.toLowerCase().startsWith('support')));
  const support = agents.filter((v) => v.value.toLowerCase().startsWith('support'));
  assert.equal(await options.count(), support.length);
  assert.ok(requests.length - before <= 2, `${requests.length - before} requests while typing`);
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.locator('[data-testid="filter-value-input"]').getAttribute('aria-activedescendant'), await options.first().getAttribute('id'));
  await page.keyboard.press('Enter');

  const term = `agent:${support[0].value}`;
  await page.waitForURL((url) => url.searchParams.get('q') === term);
  await expectRows(page, (await apiRuns({ q: term })).map((r) => r.run_id));
  assert.equal(await page.inputValue('[data-search-input]'), term, 'the query box holds the term');
  assert.equal(await page.locator('.filter-chip').getAttribute('data-term'), term);

  // A second filter counts values within the first's results; a number filter takes an operator.
  await page.getByTestId('add-filter').click();
  await page.click('[data-field="user"]');
  await page.locator('[data-testid="filter-value-options"] .combo-option').first().waitFor();
  const scoped = requests[requests.length - 1];
  assert.equal(scoped.get('field'), 'user');
  assert.equal(scoped.get('q'), term);
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('.filter-menu-panel').isHidden(), true);
  await page.getByTestId('add-filter').click();
  await page.click('[data-field="duration"]');
  await page.selectOption('[data-testid="filter-op"]', '<');
  await page.fill('[data-testid="filter-number"]', 'soon');
  await page.keyboard.press('Enter');
  assert.match(await page.locator('.filter-menu-panel [role="alert"]').textContent(), /Expected 500ms/);
  await page.fill('[data-testid="filter-number"]', '90ms');
  await page.keyboard.press('Enter');
  const both = `${term} duration<90ms`;
  await page.waitForURL((url) => url.searchParams.get('q') === both);
  const fast = await apiRuns({ q: both });
  assert.ok(fast.length > 0);
  await expectRows(page, fast.map((r) => r.run_id));

  // Removing a chip takes its term out of the query.
  await page.locator(`.filter-chip[data-term="${term}"] button`).click();
  await page.waitForURL((url) => url.searchParams.get('q') === 'duration<90ms');
  await expectRows(page, (await apiRuns({ q: 'duration<90ms' })).map((r) => r.run_id));
  await done();
});

test('the query box completes a field value as it is typed', async () => {
  // Suggestions are counted in the page's query (here failed runs), less the field typed.
  const { page, done } = await open(browser, '/runs?q=status%3Aerror');
  await page.waitForSelector(ROWS);
  await page.locator('[data-search-input]').press('End');
  await page.locator('[data-search-input]').pressSequentially(' agent:sup', { delay: 20 });
  const list = page.getByTestId('query-complete');
  await list.locator('.combo-option').first().waitFor();
  const expected = (await api(`/values?field=agent&prefix=sup&q=${encodeURIComponent('status:error')}`)).values;
  assert.deepEqual(await list.locator('.combo-option').evaluateAll((els) => els.map((el) => el.dataset.value)), expected.map((v) => v.value));
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  assert.equal(await list.isHidden(), true);
  assert.equal(await page.inputValue('[data-search-input]'), `status:error agent:${expected[0].value} `);
  assert.equal(new URL(page.url()).searchParams.get('q'), 'status:error', 'choosing a value does not run the search yet');
  await page.keyboard.press('Enter');
  const q = `status:error agent:${expected[0].value}`;
  await page.waitForURL((url) => url.searchParams.get('q') === q);
  await expectRows(page, (await apiRuns({ q })).map((r) => r.run_id));

  // Escape closes the list and leaves the text alone.
  await page.locator('[data-search-input]').pressSequentially(' model:', { delay: 20 });
  await list.locator('.combo-option').first().waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await list.isHidden(), true);
  assert.equal(await page.inputValue('[data-search-input]'), `${q} model:`);
  await done();
});

test('a value with spaces and quotes is quoted, and filters to its run', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.waitForSelector(ROWS);
  await page.getByTestId('add-filter').click();
  await page.click('[data-field="agent"]');
  const hostile = page.locator('[data-testid="filter-value-options"] .combo-option').filter({ hasText: HOSTILE_AGENT });
  await hostile.waitFor();
  assert.equal(await hostile.locator('.combo-value').textContent(), HOSTILE_AGENT, 'shown as text');
  await assertInert(page);
  await hostile.click();
  const term = 'agent:"<img src=x onerror=\\"window.__pwned=1\\">"';
  await page.waitForURL((url) => url.searchParams.get('q') === term);
  await expectRows(page, [HOSTILE_RUN]);
  assert.equal(await page.locator('.filter-chip-text').textContent(), term);
  await assertInert(page);
  await done();
});

test('hostile values stay text in the new columns and in suggestions', async () => {
  const agent = `hostile_cols_${hex(4)}`;
  const key = `note_${hex(3)}`;
  const traceId = hex(16);
  await postSpans('hostile-cols', [runSpan({
    agent, traceId, startMs: Date.now() - 30_000,
    attributes: [
      kv(`lemma.metadata.${key}`, `${IMG} ${RLO}gnp.exe`), kv('lemma.tags', `${IMG}`), kv('lemma.environment', `${RLO}prod`),
      kv('lemma.output', `${IMG} ${'long output '.repeat(400)}`), kv('lemma.user_id', IMG),
    ],
  })]);
  await waitForApi(`agent:${agent}`, 1);
  const { page, done } = await open(browser, `/runs?q=agent%3A${agent}`);
  await expectRows(page, [traceId]);
  await page.getByTestId('columns-button').click();
  for (const column of ['output', 'tags', 'env', 'models']) await page.check(`input[data-column="${column}"]`);
  await page.fill('[data-testid="column-meta-input"]', key);
  await page.locator(`[data-testid="column-meta-options"] [data-value="${key}"]`).click();
  await page.keyboard.press('Escape');

  assert.deepEqual(await cellTexts(page, `meta.${key}`), [`${IMG} ⟨U+202E⟩gnp.exe`], 'the bidi control shows as a marker');
  assert.deepEqual(await cellTexts(page, 'tags'), [IMG]);
  assert.deepEqual(await cellTexts(page, 'env'), ['⟨U+202E⟩prod']);
  assert.deepEqual(await cellTexts(page, 'user'), [IMG]);
  const output = (await cellTexts(page, 'output'))[0];
  assert.ok(output.startsWith(IMG) && output.length <= 200, 'the output is clamped');
  assert.equal(await page.locator(`td[data-column="output"] .ellipsis`).evaluate((el) => getComputedStyle(el).whiteSpace), 'nowrap');

  // Suggestions of the metadata value are text as well.
  await page.getByTestId('add-filter').click();
  await page.click('[data-field="meta"]');
  await page.fill('[data-testid="filter-key-input"]', key);
  await page.locator(`[data-testid="filter-key-options"] [data-value="${key}"]`).click();
  const value = page.locator('[data-testid="filter-value-options"] .combo-value');
  await value.first().waitFor();
  assert.equal(await value.first().textContent(), `${IMG} ⟨U+202E⟩gnp.exe`);
  await assertInert(page);
  await value.first().click();
  await page.waitForURL((url) => (url.searchParams.get('q') || '').includes(`meta.${key}:"`));
  await expectRows(page, [traceId]);
  await assertInert(page);
  await done();
});

test('saved views save, reapply, rename and delete', async () => {
  const { page, done } = await open(browser, '/runs?q=status%3Aerror&sort=cost&order=asc');
  await page.waitForSelector(ROWS);
  await page.getByTestId('columns-button').click();
  await page.check('input[data-column="models"]');
  await page.keyboard.press('Escape');

  await page.getByTestId('views-button').click();
  assert.match(await page.locator('.views-menu-panel').textContent(), /No saved views yet[\s\S]*in this browser/);
  await page.fill('[data-testid="view-name"]', 'Errors, cheapest first');
  await page.getByTestId('save-view').click();
  await page.locator('[data-view="Errors, cheapest first"]').waitFor();
  assert.equal(await page.locator('[data-testid="views-button"] .views-label').textContent(), 'Errors, cheapest first');
  await page.keyboard.press('Escape');

  // Elsewhere: another query, order and columns; the button no longer names the view.
  await page.getByTestId('columns-button').click();
  await page.uncheck('input[data-column="models"]');
  await page.keyboard.press('Escape');
  await page.locator('th[data-column="time"] button').click();
  await page.fill('[data-search-input]', '');
  await page.press('[data-search-input]', 'Enter');
  await page.waitForURL((url) => !url.search);
  assert.equal(await page.locator('[data-testid="views-button"] .views-label').textContent(), 'Views');

  // Applying brings back the query, the order and the columns, after a reload too.
  await page.reload();
  await page.getByTestId('views-button').click();
  await page.click('[data-view-name="Errors, cheapest first"]');
  await page.waitForURL((url) => url.searchParams.get('q') === 'status:error' && url.searchParams.get('sort') === 'cost' && url.searchParams.get('order') === 'asc');
  await expectRows(page, (await apiRuns({ q: 'status:error', sort: 'cost', order: 'asc' })).map((r) => r.run_id));
  await page.locator('th[data-column="models"]').waitFor();
  assert.equal(await page.locator('[data-testid="views-button"] .views-label').textContent(), 'Errors, cheapest first');

  // Rename (Enter saves), then delete.
  await page.getByTestId('views-button').click();
  await page.click('[data-view="Errors, cheapest first"] [data-action="rename"]');
  await page.fill('[data-testid="view-rename-input"]', 'Cheap errors');
  await page.keyboard.press('Enter');
  await page.locator('[data-view="Cheap errors"]').waitFor();
  assert.equal(await page.locator('[data-view="Errors, cheapest first"]').count(), 0);
  assert.equal(await page.locator('[data-testid="views-button"] .views-label').textContent(), 'Cheap errors');
  await page.click('[data-view="Cheap errors"] [data-action="delete"]');
  await page.locator('[data-view="Cheap errors"]').waitFor({ state: 'detached' });
  await page.reload();
  await page.getByTestId('views-button').click();
  assert.match(await page.locator('.views-menu-panel').textContent(), /No saved views yet/);
  await done();
});

/** Under $1 at most four significant digits and at least two decimals; from $1 two decimals. */
function readsAsCost(text) {
  const small = /^\$0\.(\d+)$/.exec(text);
  if (small) return small[1].length >= 2 && small[1].replace(/^0+/, '').length <= 4;
  return /^\$[1-9]\d{0,2}(,\d{3})*\.\d{2}$/.test(text);
}

test('costs read one way: the list and the run header agree', async () => {
  const { page, done } = await open(browser, '/runs?sort=cost&order=desc');
  await page.waitForSelector(ROWS);
  const runs = await apiRuns({ sort: 'cost', order: 'desc', limit: 50 });
  const texts = await cellTexts(page, 'cost');
  assert.deepEqual(texts, runs.map((r) => (r.cost_usd === null ? '—' : format.cost(r.cost_usd))));
  assert.ok(texts.filter((t) => t !== '—').length > 2);
  for (const text of texts.filter((t) => t !== '—')) assert.ok(readsAsCost(text), `${text} follows the rule`);
  const priciest = runs[0];
  await page.locator(`tr[data-run-id="${priciest.run_id}"] a.row-link`).click();
  await page.getByTestId('run-header').waitFor();
  assert.ok((await page.getByTestId('run-header').textContent()).includes(format.cost(priciest.cost_usd)));
  await done();
});
