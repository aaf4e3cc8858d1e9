// Signals in the dashboard: a run's most severe signal as a badge in the runs list (a click
// lists the runs with it), the run's signals in its header pointing at their spans, marks on
// those spans in the tree and the transcript, a run still arriving refreshed in place until its
// root comes, hostile signal text kept as text, signal counts on the stats page, and the
// project's thresholds with the server's own refusal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { API_KEY, BASE_URL, api, assertInert, kv, launch, open, postSpans, waitForApi } from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  // The thresholds are the project's: leave them as the other specs expect.
  await putSettings({});
  await browser?.close();
});

const ROWS = '[data-testid="runs-table"] tbody tr[data-run-id]';
const hex = (bytes) => randomBytes(bytes).toString('hex');
const ns = (ms) => String(BigInt(Math.round(ms)) * 1000000n);
const HOSTILE = '<img src=x onerror=window.__pwned=5>';

function span({ traceId, spanId = hex(8), parentSpanId, name, startMs, durationMs = 100, attributes = [], error }) {
  return {
    traceId, spanId, parentSpanId, name, kind: 1,
    startTimeUnixNano: ns(startMs), endTimeUnixNano: ns(startMs + durationMs),
    attributes,
    status: error ? { code: 2, message: error } : { code: 1 },
  };
}

function agentRoot({ traceId, spanId, agent, startMs, durationMs = 2000, attributes = [] }) {
  return span({
    traceId, spanId, name: `invoke_agent ${agent}`, startMs, durationMs,
    attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', agent), ...attributes],
  });
}

function toolCall({ traceId, parentSpanId, tool, args, startMs, error }) {
  return span({
    traceId, parentSpanId, name: `execute_tool ${tool}`, startMs, error,
    attributes: [kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', tool), kv('gen_ai.tool.call.arguments', JSON.stringify(args))],
  });
}

/** The runs `q` finds once the signals have been evaluated in the background. */
async function signalled(q, n) {
  return waitForApi(q, n);
}

async function putSettings(body) {
  const response = await fetch(new URL('/api/v1/signals/settings', BASE_URL), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/** A run of `agent` whose tool failed three times in a row, and a run of it that went fine. */
async function streakRuns(agent) {
  const start = Date.now() - 30_000;
  const failing = { traceId: hex(16), rootId: hex(8) };
  const fine = { traceId: hex(16), rootId: hex(8) };
  // Arguments far apart, so the failures are a streak and nothing else (no similar calls).
  const args = [{ order: 'A-100', reason: 'refund' }, { customer: 'zed@example.com' }, { query: 'late parcels in march', page: 7 }];
  const tools = args.map((a, i) => toolCall({ traceId: failing.traceId, parentSpanId: failing.rootId, tool: 'lookup_order', args: a, startMs: start + 100 + i * 200, error: 'order service timed out' }));
  await postSpans('signals-test', [
    agentRoot({ traceId: failing.traceId, spanId: failing.rootId, agent, startMs: start }),
    ...tools,
    agentRoot({ traceId: fine.traceId, spanId: fine.rootId, agent, startMs: start + 5000 }),
    toolCall({ traceId: fine.traceId, parentSpanId: fine.rootId, tool: 'lookup_order', args: args[0], startMs: start + 5100 }),
  ]);
  return { failing: failing.traceId, fine: fine.traceId, firstFailure: tools[0].spanId, tools: tools.map((t) => t.spanId) };
}

test('failed calls in a row show as a badge in the list and in the run, which point at the span', async () => {
  const agent = `sig_streak_${hex(4)}`;
  const runs = await streakRuns(agent);
  await waitForApi(`agent:${agent}`, 2);
  const [run] = await signalled(`agent:${agent} signal:error_streak`, 1);
  assert.equal(run.run_id, runs.failing);
  const streak = run.signals.find((s) => s.kind === 'error_streak');
  assert.equal(streak.severity, 'critical');
  assert.equal(streak.span_id, runs.firstFailure);

  // The list: one badge, the most severe signal's name, how many more, every explanation.
  const { page, done } = await open(browser, `/runs?q=${encodeURIComponent(`agent:${agent}`)}`);
  const badge = page.locator(`tr[data-run-id="${runs.failing}"] [data-testid="signal-badge"]`);
  await badge.waitFor();
  assert.equal(await badge.getAttribute('data-signal'), 'error_streak');
  assert.equal(await badge.getAttribute('data-severity'), 'critical');
  const more = run.signals.length - 1;
  assert.equal((await badge.textContent()).trim(), more ? `error_streak+${more}` : 'error_streak');
  const title = await badge.getAttribute('title');
  assert.ok(title.includes(`critical · error_streak: ${streak.explanation}`), title);
  for (const s of run.signals) assert.ok(title.includes(s.kind), `${s.kind} in ${title}`);
  assert.equal(await page.locator(`tr[data-run-id="${runs.fine}"] [data-testid="signal-badge"]`).count(), 0, 'the fine run has none');

  // A click narrows the list to the runs with that signal, keeping the query.
  await badge.click();
  await page.waitForURL((url) => url.searchParams.get('q') === `agent:${agent} signal:error_streak`);
  await page.waitForFunction(([sel, id]) => {
    const ids = [...document.querySelectorAll(sel)].map((tr) => tr.dataset.runId);
    return ids.length === 1 && ids[0] === id;
  }, [ROWS, runs.failing]);
  assert.deepEqual(await page.locator('[data-testid="filter-chips"] li').evaluateAll((lis) => lis.map((li) => li.dataset.term)), [`agent:${agent}`, 'signal:error_streak']);

  // The run: its signals in the header, most severe first, each with its explanation.
  await page.locator(`tr[data-run-id="${runs.failing}"] [data-testid="run-link"]`).click();
  await page.getByTestId('run-signals').waitFor();
  const items = page.getByTestId('run-signal');
  assert.deepEqual(await items.evaluateAll((els) => els.map((el) => el.dataset.signal)), run.signals.map((s) => s.kind));
  const first = items.first();
  assert.equal(await first.getAttribute('data-severity'), 'critical');
  assert.match(await first.textContent(), /critical/);
  assert.ok((await first.textContent()).includes(streak.explanation));
  assert.match(streak.explanation, /order service timed out/);

  // Marks sit on the spans signals point at, and on no other; their titles name the signals.
  const tree = page.getByTestId('span-tree');
  // The three calls of one tool fold as repeats: shown whole, every row can be checked.
  await page.getByTestId('expand-all').click();
  await tree.locator('.tree-row').nth(3).waitFor();
  const marked = await tree.locator('.tree-row:has([data-testid="signal-mark"])').evaluateAll((rows) => rows.map((r) => r.dataset.spanId));
  assert.deepEqual(marked, [...new Set(run.signals.map((s) => s.span_id).filter(Boolean))]);
  const mark = tree.locator(`.tree-row[data-span-id="${runs.firstFailure}"] [data-testid="signal-mark"]`);
  assert.match(await mark.getAttribute('title'), /error_streak/);
  assert.equal(await mark.getAttribute('data-severity'), 'critical');
  assert.equal(await tree.locator(`.tree-row[data-span-id="${runs.tools[1]}"] [data-testid="signal-mark"]`).count(), 0);

  // The header's signal selects its span: the URL names it, the tree and the panel show it.
  await first.locator('button').click();
  await page.waitForURL((url) => url.searchParams.get('span') === runs.firstFailure);
  await tree.locator(`.tree-row.selected[data-span-id="${runs.firstFailure}"]`).waitFor();
  await page.locator(`[data-testid="span-panel"][data-span-id="${runs.firstFailure}"]`).waitFor();

  // The transcript marks the same step.
  await page.getByTestId('tab-transcript').click();
  const step = page.locator(`[data-testid="transcript"] .step[data-span-id="${runs.firstFailure}"]`);
  await step.waitFor();
  assert.match(await step.locator('[data-testid="signal-mark"]').getAttribute('title'), /error_streak/);
  assert.equal(await page.locator(`[data-testid="transcript"] .step[data-span-id="${runs.tools[2]}"] [data-testid="signal-mark"]`).count(), 0);
  await done();
});

test('a run still arriving shows as in progress and updates in place when its root comes', async () => {
  const agent = `sig_live_${hex(4)}`;
  const traceId = hex(16);
  const rootId = hex(8);
  const start = Date.now() - 10_000;
  const children = [
    toolCall({ traceId, parentSpanId: rootId, tool: 'search_docs', args: { q: 'refund window' }, startMs: start + 100 }),
    toolCall({ traceId, parentSpanId: rootId, tool: 'fetch_page', args: { url: 'https://example.com/refunds' }, startMs: start + 400 }),
  ];
  await postSpans('signals-test', children);
  const [partial] = await waitForApi(`run:${traceId}`, 1);
  assert.equal(partial.has_root, false);

  const outlineReads = [];
  const { page, done } = await open(browser, `/runs/${traceId}`);
  page.on('request', (r) => { if (r.url().includes(`/runs/${traceId}/outline`)) outlineReads.push(Date.now()); });
  const indicator = page.getByTestId('run-in-progress');
  await indicator.waitFor();
  assert.match(await indicator.textContent(), /In progress/);
  await page.evaluate(() => { window.__sameDocument = true; });
  const rows = page.locator('[data-testid="span-tree"] .tree-row');
  await rows.nth(1).waitFor();
  assert.equal(await rows.count(), 2);

  // The reader's choice: a span selected, which must survive the refresh.
  await page.locator(`.tree-row[data-span-id="${children[1].spanId}"]`).click();
  await page.waitForURL((url) => url.searchParams.get('span') === children[1].spanId);
  const panel = page.locator(`[data-testid="span-panel"][data-span-id="${children[1].spanId}"]`);
  await panel.waitFor();
  assert.match(await panel.textContent(), /\(not received\)/, 'its parent has not arrived');

  // The page reads the run again while it waits (no reload needed to see new spans)...
  const before = outlineReads.length;
  await page.waitForTimeout(2500);
  assert.ok(outlineReads.length > before, 'the run is read again while in progress');

  // ...and the root arrives: the page shows it without reloading, and stops waiting.
  await postSpans('signals-test', [agentRoot({ traceId, spanId: rootId, agent, startMs: start, durationMs: 1000 })]);
  await indicator.waitFor({ state: 'detached', timeout: 15000 });
  await page.locator(`.tree-row[data-span-id="${rootId}"]`).waitFor();
  assert.equal(await rows.count(), 3);
  assert.equal(await page.getByTestId('run-title').textContent(), `invoke_agent ${agent}`);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload happened');
  assert.equal(await page.locator(`.tree-row.selected[data-span-id="${children[1].spanId}"]`).count(), 1, 'the selection is kept');
  assert.equal(new URL(page.url()).searchParams.get('span'), children[1].spanId);
  assert.equal(await panel.count(), 1, 'the panel still shows it');
  // ...and knows its parent now.
  await page.waitForFunction((id) => !document.querySelector(`[data-testid="span-panel"][data-span-id="${id}"]`).textContent.includes('(not received)'), children[1].spanId);
  // The children now sit under the root.
  assert.equal(await page.locator(`.tree-row[data-span-id="${children[0].spanId}"]`).getAttribute('aria-level'), '2');

  const after = outlineReads.length;
  await page.waitForTimeout(4500);
  assert.equal(outlineReads.length, after, 'no more reads once the root has arrived');
  await done();
});

test('a signal an app writes onto a span reads as text, however it is written', async () => {
  const agent = `sig_hostile_${hex(4)}`;
  const traceId = hex(16);
  const rootId = hex(8);
  const marked = hex(8);
  const start = Date.now() - 20_000;
  await postSpans('signals-test', [
    agentRoot({ traceId, spanId: rootId, agent, startMs: start }),
    span({
      traceId, spanId: marked, parentSpanId: rootId, name: 'guard check', startMs: start + 100,
      attributes: [
        { key: 'lemma.signal.x', value: { boolValue: true } },
        kv('lemma.signal.x.severity', 'critical'),
        kv('lemma.signal.x.explanation', HOSTILE),
      ],
    }),
  ]);
  const [run] = await signalled(`agent:${agent} signal:x`, 1);
  const sig = run.signals.find((s) => s.kind === 'x');
  assert.equal(sig.explanation, HOSTILE);

  const { page, done } = await open(browser, `/runs?q=${encodeURIComponent(`agent:${agent}`)}`);
  const badge = page.locator(`tr[data-run-id="${traceId}"] [data-testid="signal-badge"]`);
  await badge.waitFor();
  assert.equal(await badge.getAttribute('data-severity'), 'critical');
  assert.ok((await badge.getAttribute('title')).includes(HOSTILE));
  await assertInert(page);

  await page.goto(`/runs/${traceId}`);
  const item = page.locator('[data-testid="run-signal"][data-signal="x"]');
  await item.waitFor();
  assert.equal(await item.locator('.run-signal-text').textContent(), HOSTILE);
  const mark = page.locator(`.tree-row[data-span-id="${marked}"] [data-testid="signal-mark"]`);
  await mark.waitFor();
  assert.ok((await mark.getAttribute('title')).includes(HOSTILE));
  await assertInert(page);
  await done();
});

test('the stats page counts the runs with each signal, and lists them', async () => {
  const agent = `sig_stats_${hex(4)}`;
  await streakRuns(agent);
  await signalled(`agent:${agent} signal:error_streak`, 1);

  const { page, done } = await open(browser, '/welcome');
  const counted = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/stats/signals');
  await page.goto('/stats?range=24h');
  const panel = page.getByTestId('stats-signals');
  const answer = await (await counted).json();
  const totals = new Map();
  for (const c of answer.counts) totals.set(`${c.name}/${c.severity}`, (totals.get(`${c.name}/${c.severity}`) || 0) + c.runs);
  assert.ok(totals.get('error_streak/critical') >= 1, 'the streak is counted');

  await panel.getByTestId('signal-totals').waitFor();
  const shown = await panel.getByTestId('signal-total').evaluateAll((trs) => trs.map((tr) => [
    `${tr.dataset.signal}/${tr.dataset.severity}`, Number(tr.querySelector('[data-testid="signal-total-runs"]').textContent.replace(/,/g, '')),
  ]));
  assert.deepEqual(new Map(shown), totals);
  assert.ok(await panel.locator('[data-testid="chart-signals"] svg').count() >= 1, 'a chart over time');
  assert.ok(await panel.locator('[data-series="error_streak"]').count() >= 1, 'error_streak is one of its series');

  // A name lists its runs, for the same range.
  await panel.locator('[data-testid="signal-total"][data-signal="error_streak"] a').click();
  await page.waitForURL((url) => url.pathname === '/runs' && url.searchParams.get('q') === 'signal:error_streak' && url.searchParams.get('range') === '24h');
  await page.locator(`${ROWS} [data-signal="error_streak"]`).first().waitFor();
  await done();
});

test('the query help, completion and filter builder know the signal fields', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.waitForSelector(ROWS);
  const input = page.locator('[data-search-input]');

  await page.getByTestId('search-help').click();
  await page.locator('.search-example[data-query="signal.severity:warning,critical"]').waitFor();
  assert.equal(await page.locator('.search-field', { hasText: /^signal\.severity$/ }).count(), 1);
  await page.keyboard.press('Escape');

  // Severities and known names complete from fixed lists.
  await input.fill('');
  await input.pressSequentially('signal.severity:cr', { delay: 10 });
  const options = page.locator('[data-testid="query-complete"] li');
  await options.first().waitFor();
  assert.deepEqual(await options.evaluateAll((lis) => lis.map((li) => li.dataset.value)), ['critical']);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  assert.equal(await input.inputValue(), 'signal.severity:critical ');
  await input.pressSequentially('signal:error_s', { delay: 10 });
  await page.locator('[data-testid="query-complete"] li[data-value="error_streak"]').waitFor();
  await page.keyboard.press('Escape');

  // The filter builder adds a signal term; a name no list holds can be typed.
  await input.fill('');
  await page.keyboard.press('Enter');
  await page.getByTestId('add-filter').click();
  await page.click('[data-field="signal"]');
  await page.locator('[data-testid="filter-value-options"] .combo-option[data-value="tool_failing"]').waitFor();
  await page.locator('[data-testid="filter-value-input"]').pressSequentially('tool_f', { delay: 10 });
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.searchParams.get('q') === 'signal:tool_failing');
  await page.getByTestId('add-filter').click();
  await page.click('[data-field="signal.severity"]');
  await page.locator('[data-testid="filter-value-options"] .combo-option[data-value="warning"]').click();
  await page.waitForURL((url) => url.searchParams.get('q') === 'signal:tool_failing signal.severity:warning');
  assert.deepEqual(await page.locator('.filter-chip').evaluateAll((lis) => lis.map((li) => li.dataset.term)), ['signal:tool_failing', 'signal.severity:warning']);
  await page.locator(`${ROWS} [data-testid="signal-badge"]`).first().waitFor();
  await done();
});

test('the thresholds save, and an out-of-range one shows the server’s message', async () => {
  const { page, done } = await open(browser, '/settings');
  const form = page.getByTestId('signal-settings-form');
  await form.waitFor();
  const field = page.getByTestId('signal-setting-error_streak');
  assert.equal(await field.inputValue(), '3');
  assert.equal(await page.getByTestId('signal-enabled').isChecked(), true);

  await field.fill('1');
  await page.getByTestId('signal-settings-save').click();
  const problem = page.getByTestId('signal-settings-error');
  await page.waitForFunction(() => document.querySelector('[data-testid="signal-settings-error"]').textContent !== '');
  assert.equal(await problem.textContent(), 'error_streak must be from 2 to 10000, not 1');
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.equal((await api('/signals/settings')).error_streak, 3, 'nothing was saved');

  // Text that is no number is stopped here, naming the field.
  await page.getByTestId('signal-setting-context_share').fill('most');
  await page.getByTestId('signal-settings-save').click();
  assert.match(await problem.textContent(), /^Context window share: “most” is not a number\.$/);
  await page.getByTestId('signal-setting-context_share').fill('0.75');

  await field.fill('4');
  await page.getByTestId('signal-settings-save').click();
  await page.getByTestId('signal-settings-saved').filter({ hasText: /Saved/ }).waitFor();
  assert.equal(await problem.textContent(), '');
  assert.equal(await field.getAttribute('aria-invalid'), null);
  const saved = await api('/signals/settings');
  assert.equal(saved.error_streak, 4);
  assert.equal(saved.context_share, 0.75);

  // What the server holds is what a fresh page shows.
  await page.reload();
  await page.getByTestId('signal-settings-form').waitFor();
  assert.equal(await page.getByTestId('signal-setting-error_streak').inputValue(), '4');
  assert.equal(await page.getByTestId('signal-setting-context_share').inputValue(), '0.75');
  await done();
  assert.equal((await putSettings({})).status, 200);
});
