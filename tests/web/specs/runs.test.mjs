// The runs list: what it shows matches the API, search narrows it (and says where a query is
// wrong), the URL holds the search, pages follow cursors, and new runs arrive without a reload.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, launch, open, postSpans, waitForApi, kv } from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const ROWS = '[data-testid="runs-table"] tbody tr[data-run-id]';
const hex = (bytes) => randomBytes(bytes).toString('hex');

function rowIds(page) {
  return page.$$eval(ROWS, (trs) => trs.map((tr) => tr.dataset.runId));
}

/** Waits until the table shows exactly `ids` (in order), then asserts it for a clear message. */
async function expectRows(page, ids, timeout = 10000) {
  await page.waitForFunction(
    ([selector, want]) => JSON.stringify([...document.querySelectorAll(selector)].map((tr) => tr.dataset.runId)) === JSON.stringify(want),
    [ROWS, ids], { timeout },
  ).catch(() => {});
  assert.deepEqual(await rowIds(page), ids);
}

async function apiRuns(q = '', extra = '') {
  return api(`/runs?limit=50&q=${encodeURIComponent(q)}${extra}`);
}

async function search(page, q) {
  await page.fill('[data-search-input]', q);
  await page.press('[data-search-input]', 'Enter');
}

function agentSpan({ traceId, spanId = hex(8), parentSpanId, agent, startMs, durationMs = 1200, input, output, error }) {
  const attributes = [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', agent)];
  if (input) attributes.push(kv('lemma.input', input));
  if (output) attributes.push(kv('lemma.output', output));
  return {
    traceId, spanId, parentSpanId, name: `invoke_agent ${agent}`, kind: 1,
    startTimeUnixNano: String(BigInt(startMs) * 1000000n),
    endTimeUnixNano: String(BigInt(startMs + durationMs) * 1000000n),
    attributes,
    status: error ? { code: 2, message: error } : { code: 1 },
  };
}

test('the list shows the runs the API returns, newest first, as links', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.waitForSelector(ROWS);
  const { runs } = await apiRuns();
  assert.ok(runs.length > 0);
  await expectRows(page, runs.map((r) => r.run_id));
  for (const run of runs) {
    const row = page.locator(`tr[data-run-id="${run.run_id}"]`);
    const text = await row.textContent();
    assert.ok(text.includes(run.agent_name || run.name), `row of ${run.run_id} names ${run.agent_name || run.name}`);
    assert.equal(await row.locator('[data-status]').getAttribute('data-status'), run.status);
    assert.equal(await row.locator('a.row-link').getAttribute('href'), `/runs/${run.run_id}`);
  }
  const label = await page.getByTestId('page-label').textContent();
  assert.match(label, new RegExp(`^1–${runs.length} runs`));
  await done();
});

test('a search narrows the list to what the API matches, and the URL restores it', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.waitForSelector(ROWS);
  const all = await apiRuns();

  await search(page, 'status:error');
  await page.waitForURL(/[?&]q=status%3Aerror/);
  const errors = await apiRuns('status:error');
  assert.ok(errors.runs.length > 0 && errors.runs.length < all.runs.length, 'the fixtures hold some error runs and some that are not');
  await expectRows(page, errors.runs.map((r) => r.run_id));
  const statuses = await page.$$eval(`${ROWS} [data-status]`, (els) => els.map((el) => el.dataset.status));
  assert.ok(statuses.every((s) => s === 'error'));

  await search(page, 'agent:coding_agent');
  await page.waitForURL(/q=agent%3Acoding_agent/);
  const coding = await apiRuns('agent:coding_agent');
  assert.ok(coding.runs.length > 0);
  await expectRows(page, coding.runs.map((r) => r.run_id));

  // A shared URL (search and time range) opens on the same results.
  const shared = await open(browser, `/runs?q=${encodeURIComponent('status:error')}&range=2000-06-01T00:00:00Z..`);
  await expectRows(shared.page, errors.runs.map((r) => r.run_id));
  assert.equal(await shared.page.inputValue('[data-search-input]'), 'status:error');
  assert.match(await shared.page.getByTestId('timerange').textContent(), /Since .*2000/);
  await shared.done();

  // Back goes to the previous search.
  await page.goBack();
  await page.waitForURL(/q=status%3Aerror/);
  await expectRows(page, errors.runs.map((r) => r.run_id));
  assert.equal(await page.inputValue('[data-search-input]'), 'status:error');
  await done();
});

test('a query that does not parse is explained under the bar and the results stay', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.waitForSelector(ROWS);
  const before = await rowIds(page);

  await search(page, 'duration>>');
  const error = page.getByTestId('search-error');
  await error.waitFor();
  assert.match(await error.textContent(), /expected a number after 'duration>'/);
  assert.equal(await error.getAttribute('data-position'), '9');
  assert.equal(await error.locator('mark').textContent(), '>');
  assert.equal(await page.getByTestId('search-error-query').textContent(), 'duration>>');
  assert.equal(await page.getAttribute('[data-search-input]', 'aria-invalid'), 'true');
  assert.deepEqual(await rowIds(page), before, 'the last good results are still shown');

  // Opened from a URL, the same query shows the error and no table at all.
  const direct = await open(browser, `/runs?q=${encodeURIComponent('status:error tokens>')}`);
  await direct.page.getByTestId('search-error').waitFor();
  assert.equal(await direct.page.getByTestId('search-error').getAttribute('data-position'), '20');
  assert.equal(await direct.page.locator(ROWS).count(), 0);
  await direct.done();

  // Fixing the query clears the error.
  await search(page, 'status:error');
  await error.waitFor({ state: 'hidden' });
  await expectRows(page, (await apiRuns('status:error')).runs.map((r) => r.run_id));
  await done();
});

test('a range with no runs says so and clears back to everything', async () => {
  const { page, done } = await open(browser, '/runs?range=..2001-01-01T00:00:00Z');
  await page.getByText('No runs match').waitFor();
  await page.getByTestId('clear-filters').click();
  await page.waitForURL(/\/runs$/);
  await expectRows(page, (await apiRuns()).runs.map((r) => r.run_id));

  // Picking a preset puts it in the URL and in the query sent.
  await page.getByTestId('timerange').click();
  await page.click('[data-range="30d"]');
  await page.waitForURL(/range=30d/);
  await page.getByTestId('timerange').filter({ hasText: 'Last 30 days' }).waitFor();
  await done();
});

test('examples in the help menu run a search; / focuses the bar; rows open with the keyboard', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.waitForSelector(ROWS);
  await page.locator('body').press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.hasAttribute('data-search-input')), true);
  await page.locator('.search-menu').waitFor();
  await page.click('.search-example[data-query="status:error"]');
  await page.waitForURL(/q=status%3Aerror/);
  const errors = (await apiRuns('status:error')).runs.map((r) => r.run_id);
  await expectRows(page, errors);

  await page.locator(`${ROWS} a.row-link`).first().focus();
  if (errors.length > 1) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`/runs/${errors[Math.min(1, errors.length - 1)]}$`));
  await done();
});

test('pages follow the cursor forwards and back, and a page is a URL', async () => {
  const agent = `pager_agent_${hex(4)}`;
  const now = Date.now() - 60_000;
  const spans = Array.from({ length: 63 }, (_, i) => agentSpan({ traceId: hex(16), agent, startMs: now - i * 1000, input: `question ${i}` }));
  await postSpans(`pager-${agent}`, spans);
  const all = await waitForApi(`agent:${agent}`, 63);
  const ids = all.map((r) => r.run_id);

  const { page, done } = await open(browser, `/runs?q=agent%3A${agent}`);
  await expectRows(page, ids.slice(0, 50));
  assert.match(await page.getByTestId('page-label').textContent(), /^1–50 runs/);
  assert.equal(await page.getByTestId('page-prev').isDisabled(), true);

  await page.getByTestId('page-next').click();
  await page.waitForURL(/cursor=/);
  await expectRows(page, ids.slice(50));
  assert.match(await page.getByTestId('page-label').textContent(), /^51–63 runs · page 2/);
  assert.equal(await page.getByTestId('page-next').isDisabled(), true);
  assert.equal(await page.getAttribute('[data-testid="live"]', 'data-mode'), 'off', 'live updates pause off the first page');

  // The page survives a reload, and Previous goes back to page 1.
  await page.reload();
  await expectRows(page, ids.slice(50));
  await page.getByTestId('page-prev').click();
  await page.waitForURL((url) => !url.searchParams.has('cursor'));
  await expectRows(page, ids.slice(0, 50));
  assert.equal(new URL(page.url()).searchParams.get('q'), `agent:${agent}`);
  await done();
});

test('new runs appear without a reload and runs in progress update in place', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.waitForSelector(ROWS);
  await page.evaluate(() => { window.__sameDocument = true; });
  assert.equal(await page.getAttribute('[data-testid="live"]', 'data-mode'), 'on');

  // A run whose root has not arrived yet: only a model call. It starts after every stored run
  // (the recorded fixtures keep their own times, which may lie after today's clock), so it is
  // the newest whatever the date.
  const traceId = hex(16);
  const rootId = hex(8);
  const newest = (await apiRuns()).runs.map((r) => Date.parse(r.start_time));
  const start = Math.max(Date.now(), ...newest.map((t) => t + 60_000));
  await postSpans('live-test', [{
    traceId, spanId: hex(8), parentSpanId: rootId, name: 'chat gpt-4o', kind: 3,
    startTimeUnixNano: String(BigInt(start + 100) * 1000000n), endTimeUnixNano: String(BigInt(start + 600) * 1000000n),
    attributes: [kv('gen_ai.operation.name', 'chat'), kv('gen_ai.request.model', 'gpt-4o')],
  }]);
  const row = page.locator(`tr[data-run-id="${traceId}"]`);
  await row.waitFor({ timeout: 30000 });
  assert.equal(await page.locator(ROWS).first().getAttribute('data-run-id'), traceId, 'the new run is on top');
  assert.match(await row.getAttribute('class'), /fresh/);
  assert.match(await row.textContent(), /in progress/);

  // Its root arrives, failed: the same row now shows the agent and the error.
  const agent = `live_agent_${hex(4)}`;
  await postSpans('live-test', [agentSpan({ traceId, spanId: rootId, agent, startMs: start, durationMs: 800, error: 'it broke' })]);
  await page.locator(`tr[data-run-id="${traceId}"] [data-status="error"]`).waitFor({ timeout: 30000 });
  assert.match(await page.locator(`tr[data-run-id="${traceId}"]`).textContent(), new RegExp(agent));
  assert.doesNotMatch(await page.locator(`tr[data-run-id="${traceId}"]`).textContent(), /in progress/);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload happened');

  // Paused, nothing new comes in; resumed, it does.
  await page.getByTestId('live').click();
  assert.equal(await page.getAttribute('[data-testid="live"]', 'data-mode'), 'paused');
  const later = hex(16);
  await postSpans('live-test', [agentSpan({ traceId: later, agent, startMs: start + 10_000 })]);
  await waitForApi(`run:${later}`, 1);
  await page.waitForTimeout(6000);
  assert.equal(await page.locator(`tr[data-run-id="${later}"]`).count(), 0);
  await page.getByTestId('live').click();
  await page.locator(`tr[data-run-id="${later}"]`).waitFor({ timeout: 5000 });
  await done();
});
