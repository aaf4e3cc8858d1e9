// Threads: the list matches the API, and one thread reads as its runs' conversation, turn by
// turn, oldest first (otel_manual's thread-42: a question answered, then a follow-up that fails).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, open } from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const THREAD_ROWS = '[data-testid="threads-table"] tbody tr[data-thread-id]';

/** The text of a payload's user/assistant message, whatever its shape in the fixture. */
function textOf(payload) {
  if (typeof payload === 'string') return payload;
  const messages = Array.isArray(payload) ? payload : [];
  return messages.flatMap((m) => (m.parts || []).filter((p) => p.type === 'text').map((p) => p.content)).at(-1);
}

test('thread-42 reads as its two runs, oldest first, with inputs, outputs and the error', async () => {
  const { thread, runs } = await api('/threads/thread-42');
  assert.equal(runs.length, 2);
  const { page, done } = await open(browser, '/threads/thread-42');
  const turns = page.getByTestId('turn');
  await turns.first().waitFor();

  assert.equal(await turns.count(), 2);
  assert.deepEqual(await turns.evaluateAll((els) => els.map((el) => el.dataset.runId)), runs.map((r) => r.run_id));
  assert.ok(runs[0].start_time_unix_nano <= runs[1].start_time_unix_nano, 'the API answers oldest first');

  const header = await page.locator('.thread-header').textContent();
  assert.match(header, /thread-42/);
  assert.ok(header.includes(thread.user_id));

  const first = turns.nth(0);
  assert.ok((await first.getByTestId('turn-input').textContent()).includes(textOf(runs[0].input)));
  assert.match(await first.getByTestId('turn-input').textContent(), /Where is my order A-17\?/);
  assert.ok((await first.getByTestId('turn-output').textContent()).includes(textOf(runs[0].output)));
  assert.equal(await first.locator('[data-status]').first().getAttribute('data-status'), 'ok');

  const second = turns.nth(1);
  assert.match(await second.getByTestId('turn-input').textContent(), /And where is order A-17 now\?/);
  assert.doesNotMatch(await second.getByTestId('turn-input').textContent(), /Where is my order/, 'earlier turns are not repeated');
  assert.equal(await second.locator('[data-status]').first().getAttribute('data-status'), 'error');
  assert.ok((await second.getByTestId('turn-error').textContent()).includes(runs[1].status_message));

  // Each turn opens its run.
  await second.getByTestId('turn-run-link').click();
  await page.waitForURL(new RegExp(`/runs/${runs[1].run_id}$`));
  await done();
});

test('the threads list matches the API and opens a thread', async () => {
  const { threads } = await api('/threads?limit=50');
  const { page, done } = await open(browser, '/threads');
  await page.waitForSelector(THREAD_ROWS);
  assert.deepEqual(await page.$$eval(THREAD_ROWS, (trs) => trs.map((tr) => tr.dataset.threadId)), threads.map((t) => t.thread_id));

  const summary = threads.find((t) => t.thread_id === 'thread-42');
  const row = page.locator('tr[data-thread-id="thread-42"]');
  assert.equal((await row.locator('.col-runs').textContent()).trim(), String(summary.run_count));
  assert.equal((await row.locator('.col-errors').textContent()).trim(), String(summary.error_count));
  assert.ok((await row.textContent()).includes(summary.user_id));

  // The whole row is the link: a click anywhere on it opens the thread.
  await row.locator('.col-user').click({ force: true });
  await page.waitForURL(/\/threads\/thread-42$/);
  await page.getByTestId('turn').first().waitFor();
  assert.equal(await page.getByTestId('turn').count(), 2);
  await done();
});

test('a search narrows the threads, and the URL keeps it', async () => {
  const { threads } = await api(`/threads?q=${encodeURIComponent('user:user-7')}`);
  assert.deepEqual(threads.map((t) => t.thread_id), ['thread-42']);
  const { page, done } = await open(browser, '/threads');
  await page.waitForSelector(THREAD_ROWS);
  await page.fill('[data-search-input]', 'user:user-7');
  await page.press('[data-search-input]', 'Enter');
  await page.waitForURL(/q=user%3Auser-7/);
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 1, THREAD_ROWS);
  assert.deepEqual(await page.$$eval(THREAD_ROWS, (trs) => trs.map((tr) => tr.dataset.threadId)), ['thread-42']);

  await page.fill('[data-search-input]', 'user:');
  await page.press('[data-search-input]', 'Enter');
  await page.getByTestId('search-error').waitFor();
  assert.equal(await page.locator(THREAD_ROWS).count(), 1, 'the last results stay');
  await done();
});

test('deep links: a thread id with markup is text, and an unknown thread says so', async () => {
  const hostile = await open(browser, `/threads/${encodeURIComponent('<b>thread</b>')}`);
  await hostile.page.getByTestId('turn').first().waitFor();
  assert.equal(await hostile.page.locator('.thread-id').textContent(), '<b>thread</b>');
  assert.equal(await hostile.page.locator('.thread-page b').count(), 0);
  assert.equal(await hostile.page.evaluate(() => window.__pwned), undefined);
  await hostile.done();

  const missing = await open(browser, '/threads/no-such-thread-here');
  await missing.page.getByTestId('error').waitFor();
  assert.match(await missing.page.getByTestId('error').textContent(), /Not found/);
  await missing.done();
});
