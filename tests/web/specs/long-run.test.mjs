// A 10,000-span run on the run page: it opens on the outline's first rows without the whole-run
// route, scrolls to its far end drawing only the rows in view, finds spans inside the run,
// reads a span's payload on selection, jumps from the overview strip, folds repeated sub-trees
// and reads its transcript in windows. The run is posted over OTLP/JSON (lib/long-run.mjs).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, BASE_URL, api, launch, open } from '../lib/harness.mjs';
import { postLongRun } from '../lib/long-run.mjs';

let browser;
let run;
before(async () => {
  browser = await launch();
  run = await postLongRun(BASE_URL, API_KEY, 10_000);
  const first = await api(`/runs/${run.traceId}/outline?limit=1`);
  assert.equal(first.total, run.total);
});
after(async () => { await browser?.close(); });

/** Opens the run, noting every API path the page asks for. */
async function openRun(query = '') {
  // A page of the server that is not the app, so the listener sees the app's first request.
  const opened = await open(browser, '/favicon.ico');
  const paths = [];
  opened.page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/')) paths.push(url.pathname);
  });
  const started = Date.now();
  await opened.page.goto(`/runs/${run.traceId}${query}`);
  return { ...opened, paths, started };
}

const wholeRun = () => `/api/v1/runs/${run.traceId}`;

test('a 10k-span run opens on its first rows, without reading the run whole', async () => {
  const { page, paths, started, done } = await openRun();
  await page.locator('.tree-row').first().waitFor();
  const elapsed = Date.now() - started;
  console.log(`  first rows of a ${run.total}-span run after ${elapsed} ms`);
  assert.ok(elapsed < 5000, `first rows after ${elapsed} ms`);
  assert.equal(await page.locator('.tree-row').first().getAttribute('aria-level'), '1');
  const rows = await page.locator('.tree-row').count();
  assert.ok(rows > 10 && rows < 100, `${rows} rows in the DOM`);
  assert.ok((await page.getByTestId('run-header').textContent()).replace(/[^0-9]/g, '').includes(String(run.total)));
  assert.ok(!paths.includes(wholeRun()), `the whole run was not asked for: ${paths.join(' ')}`);
  await done();
});

test('scrolling far down fetches and draws those rows, keeping the DOM small', async () => {
  const { page, paths, done } = await openRun();
  const tree = page.getByTestId('span-tree');
  await page.locator('.tree-row').first().waitFor();
  await tree.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.locator(`.tree-row[data-position="${run.total - 1}"]`).waitFor();
  const positions = await page.$$eval('.tree-row', (rows) => rows.map((r) => Number(r.dataset.position)));
  assert.ok(Math.max(...positions) === run.total - 1, `the last row is drawn (${Math.max(...positions)})`);
  assert.ok(positions.length < 100, `${positions.length} rows in the DOM`);
  // Back to the middle: rows on their way show as placeholders, then as rows.
  await tree.evaluate((el) => { el.scrollTop = el.scrollHeight / 2; });
  await page.waitForFunction((middle) => document.querySelectorAll('.span-tree .row-loading').length === 0
    && [...document.querySelectorAll('.span-tree .tree-row')].some((r) => Math.abs(Number(r.dataset.position) - middle) < 60), run.total / 2);
  const outlinePages = paths.filter((p) => p.endsWith('/outline')).length;
  assert.ok(outlinePages >= 3 && outlinePages < 12, `${outlinePages} windows fetched`);
  assert.ok(!paths.includes(wholeRun()));
  await done();
});

test('finding in the run jumps to a match and steps through the matches', async () => {
  const { page, paths, done } = await openRun();
  await page.locator('.tree-row').first().waitFor();
  const input = page.getByTestId('run-find-input');
  await input.fill(`name:${run.needle.name}`);
  await input.press('Enter');
  await page.waitForURL((url) => url.searchParams.get('span') === run.needle.spanId);
  const row = page.locator(`.tree-row[data-span-id="${run.needle.spanId}"]`);
  await row.waitFor();
  assert.ok(await row.isVisible(), 'scrolled to the match');
  assert.equal(await row.getAttribute('aria-selected'), 'true');
  assert.equal(await page.getByTestId('panel-title').textContent(), run.needle.name);
  assert.equal(await page.getByTestId('run-find-count').textContent(), '1 / 1');

  await input.fill('status:error');
  await input.press('Enter');
  await page.waitForURL((url) => run.errors.includes(url.searchParams.get('span')));
  const firstMatch = new URL(page.url()).searchParams.get('span');
  await page.getByTestId('run-find-next').click();
  await page.waitForURL((url) => url.searchParams.get('span') !== firstMatch);
  const second = new URL(page.url()).searchParams.get('span');
  assert.deepEqual([firstMatch, second].sort(), [...run.errors].sort());
  await page.locator(`.tree-row[data-span-id="${second}"]`).waitFor();
  assert.match(await page.getByTestId('run-find-count').textContent(), /^\d \/ 2$/);
  assert.ok(!paths.includes(wholeRun()));
  await done();
});

test("selecting a span reads it alone and shows its payload", async () => {
  const { page, paths, done } = await openRun();
  const tool = page.locator('.tree-row[data-kind="tool"]').first();
  await tool.waitFor();
  const id = await tool.getAttribute('data-span-id');
  await tool.click();
  await page.waitForURL((url) => url.searchParams.get('span') === id);
  assert.match(await page.getByTestId('panel-tool-args').textContent(), /question 0\.0/);
  assert.match(await page.getByTestId('span-panel').textContent(), /result 0\.0/);
  assert.ok(paths.includes(`/api/v1/runs/${run.traceId}/spans/${id}`));
  assert.ok(!paths.includes(wholeRun()));
  await done();
});

test('the overview strip marks the failures and jumps to them', async () => {
  const { page, done } = await openRun();
  const marks = page.getByTestId('minimap-error');
  await marks.first().waitFor();
  assert.equal(await marks.count(), 2);
  assert.ok(await page.getByTestId('minimap-loop').count() >= 1, 'the loop is marked');
  await marks.last().click();
  await page.waitForURL((url) => url.searchParams.get('span') === run.errors[1]);
  const row = page.locator(`.tree-row[data-span-id="${run.errors[1]}"]`);
  await row.waitFor();
  assert.ok(await row.isVisible());
  assert.match(await page.getByTestId('span-panel').textContent(), /failed in turn/);
  await done();
});

test('repeated sub-trees are folded, and a fold opens', async () => {
  const { page, done } = await openRun();
  await page.locator('.tree-row').first().waitFor();
  const input = page.getByTestId('run-find-input');
  await input.fill('tool:fetch_page');
  await input.press('Enter');
  const fold = page.getByTestId('tree-fold').filter({ hasText: 'fetch_page' });
  await fold.waitFor();
  assert.match(await fold.textContent(), /× 5 more like the above/);
  // The search selected the first call (shown); the others are inside the fold until it opens.
  const calls = page.locator('.tree-row .tree-name').filter({ hasText: 'tool fetch_page' });
  assert.equal(await calls.count(), 1);
  await fold.click();
  assert.equal(await calls.count(), 6);
  await done();
});

test('the transcript of a long run is read in windows', async () => {
  const { page, paths, done } = await openRun('?view=transcript');
  const transcript = page.getByTestId('transcript');
  await transcript.waitFor();
  const step = transcript.locator('[data-testid="step-tool"]').first();
  await step.waitFor();
  assert.match(await step.textContent(), /search.*question 0\.0/s);
  const steps = await transcript.locator('.step').count();
  assert.ok(steps > 10 && steps <= 200, `${steps} steps in the page`);
  // A span chosen elsewhere starts the window at its step.
  await page.goto(`/runs/${run.traceId}?view=transcript&span=${run.needle.spanId}`);
  const needle = page.locator(`[data-testid="step-tool"][data-span-id="${run.needle.spanId}"]`);
  await needle.waitFor();
  assert.ok(await needle.isVisible());
  assert.ok(!paths.includes(wholeRun()));
  await done();
});
