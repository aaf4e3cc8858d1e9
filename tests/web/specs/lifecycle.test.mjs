// Data lifecycle in the dashboard: exporting the runs of a query as JSONL (checked against the
// API span for span, short runs named, cancellable), deleting the runs of a query after a
// counted confirmation, and the project's retention setting. The spec posts its own runs under
// an agent name of its own and only exports or deletes those; the fixtures stay.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { API_KEY, BASE_URL, RUNS, api, launch, open, assertInert, kv, postSpans } from '../lib/harness.mjs';

const hex = (bytes) => randomBytes(bytes).toString('hex');
const AGENT = `lifecycle-test-${hex(4)}`;
const KEEP_AGENT = `lifecycle-keep-${hex(4)}`;
const IMG = '<img src=x onerror=window.__pwned=1>';
// Matches every run of AGENT (none carries the tag) and puts markup into the dialogs' text.
const Q = `agent:${AGENT} -tag:"${IMG}"`;
const HOUR = 3600 * 1000;

let browser;
const runs = {};
before(async () => {
  browser = await launch();
  const now = Date.now();
  runs.a = await postRun({ agent: AGENT, startMs: now - 60000, children: 2, hostile: true });
  runs.b = await postRun({ agent: AGENT, startMs: now - 50000, children: 599 }); // more than one window
  runs.old = await postRun({ agent: AGENT, startMs: now - 72 * HOUR, children: 1 }); // outside "last 24 hours"
  runs.keep = await postRun({ agent: KEEP_AGENT, startMs: now - 40000, children: 1 });
  await waitForRuns(`agent:${AGENT}`, 3, 605);
  await waitForRuns(`agent:${KEEP_AGENT}`, 1, 2);
});
after(async () => {
  await putRetention({ days: null }); // other specs expect the default
  await browser?.close();
});

async function postRun({ agent, startMs, children, hostile = false }) {
  const traceId = hex(16);
  const rootId = hex(8);
  const ns = (ms) => String(BigInt(Math.round(ms)) * 1000000n);
  const spans = [{
    traceId, spanId: rootId, name: `invoke_agent ${agent}`, kind: 1,
    startTimeUnixNano: ns(startMs), endTimeUnixNano: ns(startMs + 5000),
    attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', agent)],
    status: { code: 1 },
  }];
  for (let i = 0; i < children; i += 1) {
    spans.push({
      traceId, spanId: hex(8), parentSpanId: rootId, name: hostile && i === 0 ? IMG : `step ${i}`, kind: 1,
      startTimeUnixNano: ns(startMs + 1 + i), endTimeUnixNano: ns(startMs + 2 + i),
      attributes: [kv('lemma.input', hostile ? `<script>window.__pwned=2</script> ${i}` : `input ${i}`)],
    });
  }
  await postSpans('lifecycle-tests', spans);
  return traceId;
}

async function apiRuns(q) {
  const out = [];
  let cursor = '';
  do {
    const body = await api(`/runs?${new URLSearchParams({ q, limit: 1000, ...(cursor && { cursor }) })}`);
    out.push(...body.runs);
    cursor = body.next_cursor || '';
  } while (cursor);
  return out;
}

async function waitForRuns(q, n, spans) {
  for (let i = 0; i < 100; i += 1) {
    const found = await apiRuns(q);
    if (found.length === n && found.reduce((sum, r) => sum + r.span_count, 0) === spans) return found;
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  throw new Error(`the API never showed ${n} runs (${spans} spans) for ${q}`);
}

/** Every span of the runs matching `q`, as the API returns them: what an export must hold. */
async function apiSpans(q) {
  const spans = [];
  for (const run of await apiRuns(q)) {
    for (let offset = 0; ; offset += 500) {
      const body = await api(`/runs/${run.run_id}/spans?offset=${offset}&limit=500`);
      spans.push(...body.spans);
      if (offset + 500 >= body.total) break;
    }
  }
  return spans;
}

async function putRetention(body) {
  const response = await fetch(new URL('/api/v1/project/retention', BASE_URL), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function runExists(id) {
  const response = await fetch(new URL(`/api/v1/runs/${id}/outline?limit=1`, BASE_URL), { headers: { Authorization: `Bearer ${API_KEY}` } });
  return response.status === 200;
}

async function openRuns(path) {
  const opened = await open(browser, path);
  await opened.page.locator('[data-testid="runs-table"] tbody tr[data-run-id]').first().waitFor();
  return opened;
}

test('export downloads exactly the spans of the runs in the query and time range', async () => {
  const { page, done } = await openRuns(`/runs?${new URLSearchParams({ q: Q, range: '24h' })}`);
  await page.getByTestId('export-runs').click();
  const dialog = page.getByTestId('export-dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getByTestId('export-query').textContent(), `since:24h ${Q}`, 'the query is shown as text, range included');
  await assertInert(page);

  const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByTestId('export-start').click()]);
  assert.match(download.suggestedFilename(), /^lemma-runs-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.jsonl$/);
  const text = await readFile(await download.path(), 'utf8');
  assert.ok(text.endsWith('\n'), 'every line ends with a newline');
  const lines = text.slice(0, -1).split('\n').map((line) => JSON.parse(line));
  const want = await apiSpans(`since:24h ${Q}`);
  assert.equal(want.length, 603, 'the two recent runs: 3 + 600 spans (the old run is outside the range)');
  assert.equal(lines.length, want.length, 'a line per span');
  assert.deepEqual(lines, want, 'the file holds the API\'s spans, run by run, in tree order');
  assert.ok(!lines.some((s) => s.trace_id === runs.old || s.trace_id === runs.keep), 'nothing outside the query or range');
  const status = dialog.getByTestId('export-status');
  assert.match(await status.textContent(), /^Exported 2 runs \(603 spans\) to lemma-runs-.*\.jsonl\.$/);
  assert.equal(await dialog.getByTestId('export-short').count(), 0);
  await assertInert(page);

  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'export-runs', 'the focus is back on the button');
  await done();
});

test('a run exported short is named and the file is not downloaded unasked', async () => {
  const { page, done } = await openRuns(`/runs?${new URLSearchParams({ q: Q })}`);
  // The server answers run A's spans one short, as if a span were still arriving.
  await page.route(`**/api/v1/runs/${runs.a}/spans?*`, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.spans = body.spans.slice(0, -1);
    await route.fulfill({ response, json: body });
  });
  const downloads = [];
  page.on('download', (d) => downloads.push(d));
  await page.getByTestId('export-runs').click();
  const dialog = page.getByTestId('export-dialog');
  await dialog.getByTestId('export-start').click();
  const short = dialog.getByTestId('export-short');
  await short.waitFor();
  assert.deepEqual(await short.locator('li').allTextContents(), [`${runs.a}: 2 of 3 spans`]);
  assert.match(await dialog.getByTestId('export-status').textContent(), /Exported 3 runs \(604 spans\), but 1 run came out short/);
  await page.waitForTimeout(500);
  assert.equal(downloads.length, 0, 'a short file is only downloaded when asked for');
  const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByTestId('export-download').click()]);
  const text = await readFile(await download.path(), 'utf8');
  assert.equal(text.trim().split('\n').length, 604);
  await done();
});

test('an export can be cancelled, and then nothing is downloaded', async () => {
  const { page, done } = await openRuns(`/runs?${new URLSearchParams({ q: Q })}`);
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  let asked = 0;
  await page.route('**/api/v1/runs/*/spans?*', async (route) => {
    asked += 1;
    await held; // the first window hangs until the test lets it go
    await route.continue().catch(() => {});
  });
  const downloads = [];
  page.on('download', (d) => downloads.push(d));
  await page.getByTestId('export-runs').click();
  const dialog = page.getByTestId('export-dialog');
  await dialog.getByTestId('export-start').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="export-cancel"]'));
  await dialog.getByTestId('export-cancel').click();
  const status = dialog.getByTestId('export-status');
  await page.waitForFunction(() => /cancelled/.test(document.querySelector('[data-testid="export-status"]').textContent));
  assert.equal(await status.textContent(), 'Export cancelled: nothing was downloaded.');
  release();
  await page.waitForTimeout(300);
  assert.equal(downloads.length, 0);
  assert.ok(asked >= 1, 'the export had started reading spans');
  await done();
});

test('deleting the runs of a query counts them, asks, and deletes exactly those', async () => {
  const { page, done } = await openRuns(`/runs?${new URLSearchParams({ q: Q })}`);
  const button = page.getByTestId('delete-runs');
  const dialog = page.getByTestId('delete-dialog');
  const question = dialog.getByTestId('delete-question');

  await button.click();
  await question.waitFor();
  assert.equal(await question.textContent(), `Delete 3 runs matching ${Q}? This deletes their spans, metric events and log records and cannot be undone.`);
  assert.equal(await dialog.locator('code').textContent(), Q);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'delete-cancel', 'the safe choice has the focus');
  assert.equal(await dialog.getByTestId('delete-confirm').textContent(), 'Delete 3 runs');
  await assertInert(page);
  await dialog.getByTestId('delete-cancel').click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await apiRuns(`agent:${AGENT}`)).length, 3, 'cancelling deletes nothing');

  await button.click();
  await question.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await apiRuns(`agent:${AGENT}`)).length, 3, 'Escape deletes nothing');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'delete-runs');

  await button.click();
  await dialog.getByTestId('delete-confirm').click();
  await dialog.getByTestId('delete-close').waitFor();
  assert.equal(await dialog.getByTestId('delete-status').textContent(), 'Deleted 3 runs.');
  assert.deepEqual(await apiRuns(`agent:${AGENT}`), [], 'the matching runs are gone');
  for (const id of [runs.a, runs.b, runs.old]) assert.equal(await runExists(id), false, `run ${id} is gone`);
  assert.equal(await runExists(runs.keep), true, 'a run outside the query stays');
  if (RUNS.hostile) assert.equal(await runExists(RUNS.hostile), true, 'the fixtures stay');
  await dialog.getByTestId('delete-close').click();
  await page.getByTestId('empty').waitFor();
  assert.equal(await page.locator('[data-testid="runs-table"] tbody tr[data-run-id]').count(), 0, 'the list was refreshed');
  await assertInert(page);
  await done();
});

test('with no query the dialog says it deletes all runs and wants the number typed', async () => {
  const { page, done } = await openRuns('/runs');
  const total = (await apiRuns('')).length;
  assert.ok(total > 1);
  const dialog = page.getByTestId('delete-dialog');
  await page.getByTestId('delete-runs').click();
  const question = dialog.getByTestId('delete-question');
  await question.waitFor();
  assert.equal(await dialog.locator('.dialog-title').textContent(), 'Delete all runs');
  assert.match(await question.textContent(), new RegExp(`^There is no query: this deletes all ${total.toLocaleString('en-US')} runs of the project\\.`));
  const confirm = dialog.getByTestId('delete-confirm');
  assert.equal(await confirm.isDisabled(), true, 'not until the number is typed');
  await dialog.getByTestId('delete-typed').fill(String(total + 1));
  assert.equal(await confirm.isDisabled(), true, 'a wrong number does not do');
  await dialog.getByTestId('delete-typed').fill(String(total));
  assert.equal(await confirm.isDisabled(), false, 'the right number enables it');
  await dialog.getByTestId('delete-cancel').click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await apiRuns('')).length, total, 'nothing was deleted');
  await done();
});

test('the settings page shows and sets retention, with the server\'s message on a bad value', async () => {
  assert.equal((await putRetention({ days: null })).status, 200);
  const served = await fetch(new URL('/settings', BASE_URL), { headers: { Accept: 'text/html' } });
  assert.equal(served.status, 200, 'the server serves /settings as a dashboard page');
  const { page, done } = await open(browser, '/runs');
  await page.locator('.nav-link', { hasText: 'Settings' }).click();
  await page.getByTestId('settings').waitFor();
  assert.equal(new URL(page.url()).pathname, '/settings');
  assert.equal(await page.locator('.nav-link[aria-current="page"]').textContent(), 'Settings');
  const project = (await api('/project')).project;
  assert.equal(await page.getByTestId('project-name').textContent(), project.name);
  const current = page.getByTestId('retention-current');
  assert.equal(await current.textContent(), 'forever');
  assert.equal(await page.getByTestId('retention-forever').isChecked(), true);
  assert.match(await page.locator('.settings-note').textContent(), /every hour/);

  await page.getByTestId('retention-days').fill('30');
  assert.equal(await page.getByTestId('retention-limited').isChecked(), true, 'typing days chooses them');
  await page.getByTestId('retention-save').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="retention-saved"]').textContent !== '');
  assert.equal((await api('/project')).project.retention_days, 30);
  assert.equal(await current.textContent(), '30 days');
  assert.equal(await page.getByTestId('retention-saved').textContent(), 'Saved: runs are kept 30 days.');

  await page.reload();
  await page.getByTestId('retention-form').waitFor();
  assert.equal(await page.getByTestId('retention-days').inputValue(), '30');
  assert.equal(await page.getByTestId('retention-current').textContent(), '30 days');

  const refused = await putRetention({ days: 0 });
  assert.equal(refused.status, 400);
  await page.getByTestId('retention-days').fill('0');
  await page.getByTestId('retention-save').click();
  const error = page.getByTestId('retention-error');
  await page.waitForFunction(() => document.querySelector('[data-testid="retention-error"]').textContent !== '');
  assert.equal(await error.textContent(), refused.json.error.message, 'the server\'s own message');
  assert.equal((await api('/project')).project.retention_days, 30, 'a refused value changes nothing');

  await page.getByTestId('retention-forever').check();
  await page.getByTestId('retention-save').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="retention-current"]').textContent === 'forever');
  assert.equal((await api('/project')).project.retention_days, null);
  assert.equal(await error.textContent(), '', 'the old error is cleared');
  await assertInert(page);
  await done();
});
