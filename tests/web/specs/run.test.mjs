// The run view: the same spans as a tree, a timeline and a transcript, the span panel, deep links
// and a 1,000-span run. Expectations come from the API's answer for the same run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { API_KEY, BASE_URL, RUNS, api, launch, open } from '../lib/harness.mjs';

let browser;
let okRun; // otel_manual's answered turn in thread-42
let errorRun; // otel_manual's failed turn
before(async () => {
  browser = await launch();
  const { runs } = await api('/threads/thread-42');
  okRun = runs.find((r) => r.status === 'ok');
  errorRun = runs.find((r) => r.status === 'error');
  assert.ok(okRun && errorRun, 'otel_manual has an answered and a failed run in thread-42');
  assert.ok(RUNS.longRun, 'LEMMA_RUN_LONG is set');
});
after(async () => { await browser?.close(); });

async function spansOf(runId) {
  return (await api(`/runs/${runId}`)).spans;
}

/** Span ids of the rows in the DOM, top to bottom. */
function rowIds(page, selector) {
  return page.$$eval(selector, (rows) => rows
    .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
    .map((r) => r.dataset.spanId));
}

test('the tree shows every span of the run, parents before children', async () => {
  const spans = await spansOf(okRun.run_id);
  const { page, done } = await open(browser, `/runs/${okRun.run_id}`);
  await page.getByTestId('span-tree').waitFor();
  assert.equal(await page.getByTestId('run-title').textContent(), okRun.name);
  assert.equal(await page.getByTestId('tab-tree').getAttribute('aria-selected'), 'true');
  const ids = await rowIds(page, '.tree-row');
  assert.deepEqual([...ids].sort(), spans.map((s) => s.span_id).sort());
  const names = await page.$$eval('.tree-row .tree-name', (els) => els.map((e) => e.textContent));
  assert.deepEqual([...names].sort(), spans.map((s) => s.name).sort());
  const root = spans.find((s) => !s.parent_span_id);
  assert.equal(ids[0], root.span_id);
  // the header links the thread and shows the run's input
  assert.equal(await page.getByTestId('run-thread').getAttribute('href'), '/threads/thread-42');
  assert.match(await page.getByTestId('run-input').textContent(), /Where is my order A-17\?/);
  await done();
});

test('collapsing a span hides its children; expand all brings them back', async () => {
  const spans = await spansOf(RUNS.longRun);
  const root = spans.find((s) => !s.parent_span_id);
  const { page, done } = await open(browser, `/runs/${RUNS.longRun}`);
  const tree = page.getByTestId('span-tree');
  await tree.waitFor();
  const rootRow = page.locator(`.tree-row[data-span-id="${root.span_id}"]`);
  assert.equal(await rootRow.getAttribute('aria-expanded'), 'true');
  assert.ok(await page.locator('.tree-row').count() > 10);
  await rootRow.locator('.tree-caret').click();
  assert.equal(await rootRow.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.locator('.tree-row').count(), 1);
  await page.getByTestId('expand-all').click();
  assert.ok(await page.locator('.tree-row').count() > 10);
  await page.getByTestId('collapse-all').click();
  assert.equal(await page.locator('.tree-row').count(), 1);
  // clicking the caret must not open the panel
  assert.equal(new URL(page.url()).searchParams.get('span'), null);
  await done();
});

test('the keyboard moves through the tree, folds and opens spans', async () => {
  const spans = await spansOf(okRun.run_id);
  const root = spans.find((s) => !s.parent_span_id);
  const { page, done } = await open(browser, `/runs/${okRun.run_id}`);
  await page.getByTestId('span-tree').focus();
  const ids = await rowIds(page, '.tree-row');
  const cursor = () => page.$eval('.tree-row.cursor', (r) => r.dataset.spanId).catch(() => null);
  await page.keyboard.press('ArrowDown');
  assert.equal(await cursor(), ids[0]);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await cursor(), ids[2]);
  await page.keyboard.press('ArrowUp');
  assert.equal(await cursor(), ids[1]);
  await page.keyboard.press('ArrowLeft'); // a leaf: to its parent
  assert.equal(await cursor(), root.span_id);
  await page.keyboard.press('ArrowLeft'); // the root: collapses
  assert.equal(await page.locator('.tree-row').count(), 1);
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('.tree-row').count(), spans.length);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.searchParams.get('span') === ids[1]);
  await page.getByTestId('span-panel').waitFor();
  assert.equal(await page.getByTestId('panel-title').textContent(), spans.find((s) => s.span_id === ids[1]).name);
  assert.equal(await page.locator(`.tree-row[data-span-id="${ids[1]}"]`).getAttribute('aria-selected'), 'true');
  await page.keyboard.press('Escape');
  await page.getByTestId('span-panel').waitFor({ state: 'detached' });
  assert.equal(new URL(page.url()).searchParams.get('span'), null);
  // number keys switch views
  await page.keyboard.press('3');
  await page.getByTestId('transcript').waitFor();
  assert.equal(new URL(page.url()).searchParams.get('view'), 'transcript');
  await page.keyboard.press('1');
  await page.getByTestId('span-tree').waitFor();
  await done();
});

test('the timeline draws one bar per span, placed by start time', async () => {
  const spans = await spansOf(okRun.run_id);
  const { page, done } = await open(browser, `/runs/${okRun.run_id}`);
  await page.getByTestId('tab-timeline').click();
  await page.getByTestId('timeline').waitFor();
  assert.equal(new URL(page.url()).searchParams.get('view'), 'timeline');
  const bars = await page.$$eval('.tl-row', (rows) => rows.map((r) => ({
    id: r.dataset.spanId,
    left: r.querySelector('.tl-bar').getBoundingClientRect().left,
    width: r.querySelector('.tl-bar').getBoundingClientRect().width,
  })));
  assert.equal(bars.length, spans.length);
  assert.deepEqual(bars.map((b) => b.id).sort(), spans.map((s) => s.span_id).sort());
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const root = spans.find((s) => !s.parent_span_id);
  const rootBar = bars.find((b) => b.id === root.span_id);
  for (const bar of bars) {
    assert.ok(bar.left >= rootBar.left - 1 && bar.left + bar.width <= rootBar.left + rootBar.width + 3, 'children lie within the root');
  }
  const sorted = [...bars].sort((a, b) => Number(byId.get(a.id).start_time_unix_nano) - Number(byId.get(b.id).start_time_unix_nano));
  for (let i = 1; i < sorted.length; i += 1) assert.ok(sorted[i].left >= sorted[i - 1].left - 0.5, 'later spans start further right');
  assert.ok(await page.locator('.tl-tick').count() >= 3, 'the axis has ticks');
  // hovering a bar tells its exact times; clicking selects it
  const llm = spans.find((s) => s.kind === 'llm');
  await page.locator(`.tl-row[data-span-id="${llm.span_id}"] .tl-bar`).hover();
  const tip = page.locator('.tl-tooltip');
  await tip.waitFor();
  assert.match(await tip.textContent(), new RegExp(`${escape(llm.name)}.*Duration`));
  await page.locator(`.tl-row[data-span-id="${llm.span_id}"] .tl-bar`).click();
  await page.waitForURL((url) => url.searchParams.get('span') === llm.span_id);
  assert.equal(await page.getByTestId('panel-title').textContent(), llm.name);
  await done();
});

test('the span panel renders chat messages and tool arguments', async () => {
  const spans = await spansOf(okRun.run_id);
  const llm = spans.find((s) => s.kind === 'llm' && s.output_messages?.some((m) => m.role === 'assistant' && m.parts.some((p) => p.type === 'text')));
  const tool = spans.find((s) => s.kind === 'tool');
  const { page, done } = await open(browser, `/runs/${okRun.run_id}?span=${llm.span_id}`);
  const panel = page.getByTestId('span-panel');
  await panel.waitFor();
  const roles = await panel.locator('[data-testid="panel-messages"] .msg').evaluateAll((els) => els.map((e) => e.dataset.role));
  const expected = [...llm.input_messages, ...llm.output_messages].map((m) => m.role);
  assert.deepEqual(roles, expected);
  const text = await panel.getByTestId('panel-messages').textContent();
  assert.match(text, /You are a support agent/);
  assert.match(text, /Order A-17 shipped on 2024-05-02/);
  // the tool call the model made, with its name matched to the tool result
  assert.match(await panel.getByTestId('tool-call').first().textContent(), /lookup_order.*order_id.*"A-17"/s);
  assert.match(await panel.getByTestId('tool-result').first().textContent(), /lookup_order/);

  await page.locator(`.tree-row[data-span-id="${tool.span_id}"]`).click();
  await page.waitForURL((url) => url.searchParams.get('span') === tool.span_id);
  assert.equal(await page.getByTestId('panel-tool-name').textContent(), 'lookup_order');
  assert.match(await page.getByTestId('panel-tool-args').textContent(), /order_id\s*:\s*"A-17"/);
  // attributes are listed and filterable
  const attrs = page.getByTestId('attr-table');
  await page.getByTestId('attr-filter').fill('tool.name');
  const visible = await attrs.locator('tr:not([hidden]) th').allTextContents();
  assert.deepEqual(visible, ['gen_ai.tool.name']);
  await done();
});

test("the failed run's exception is shown with its type, message and stack trace", async () => {
  const spans = await spansOf(errorRun.run_id);
  const failedTool = spans.find((s) => s.kind === 'tool' && s.status === 'error');
  const exception = failedTool.events.find((e) => e.name === 'exception').attributes;
  const { page, done } = await open(browser, `/runs/${errorRun.run_id}?view=transcript`);
  await page.getByTestId('transcript').waitFor();
  assert.equal(await page.getByTestId('run-status-message').textContent(), errorRun.status_message);
  const toolStep = page.locator(`[data-testid="step-tool"][data-span-id="${failedTool.span_id}"]`);
  const block = toolStep.getByTestId('exception');
  assert.match(await block.textContent(), new RegExp(`${escape(exception['exception.type'])}.*${escape(exception['exception.message'])}`));
  await block.locator('summary').click();
  assert.match(await block.locator('pre').textContent(), /Traceback/);
  // and in the panel
  await toolStep.locator('.step-head').click();
  const panel = page.getByTestId('span-panel');
  await panel.waitFor();
  assert.match(await panel.getByTestId('exception').first().textContent(), new RegExp(escape(exception['exception.message'])));
  assert.equal(await panel.locator('.stacktrace pre').first().textContent(), exception['exception.stacktrace']);
  await done();
});

test('the transcript reads as a conversation with actions', async () => {
  const spans = await spansOf(okRun.run_id);
  const tool = spans.find((s) => s.kind === 'tool');
  const { page, done } = await open(browser, `/runs/${okRun.run_id}?view=transcript`);
  const transcript = page.getByTestId('transcript');
  await transcript.waitFor();
  assert.match(await transcript.getByTestId('step-input').textContent(), /Where is my order A-17\?/);
  const toolStep = transcript.locator(`[data-testid="step-tool"][data-span-id="${tool.span_id}"]`);
  assert.match(await toolStep.textContent(), /lookup_order.*order_id.*A-17/s);
  const text = await transcript.textContent();
  assert.match(text, /Order A-17 shipped on 2024-05-02/);
  // the user's question is shown once, although every model call resends it
  assert.equal(text.split('Where is my order A-17?').length - 1, 1);
  await done();
});

test("long_run's transcript folds the repeated tool calls, and a fold opens", async () => {
  const { run } = await api(`/runs/${RUNS.longRun}`);
  const loops = run.signals.filter((s) => s.kind === 'loop');
  assert.ok(loops.length >= 2);
  const { page, done } = await open(browser, `/runs/${RUNS.longRun}?view=transcript`);
  const transcript = page.getByTestId('transcript');
  await transcript.waitFor();
  const folds = transcript.getByTestId('fold');
  await folds.first().waitFor();
  const labels = await folds.allTextContents();
  for (const loop of loops) {
    assert.ok(labels.some((l) => l.includes(`× ${loop.repeats} identical ${loop.tool_name} calls`)), `a fold for ${loop.tool_name} × ${loop.repeats} in ${labels}`);
  }
  const group = transcript.getByTestId('fold-group').filter({ hasText: `× ${loops[0].repeats} identical ${loops[0].tool_name}` });
  const hiddenSteps = group.locator('.fold-rest [data-testid="step-tool"]');
  assert.equal(await hiddenSteps.count(), 0);
  await group.getByTestId('fold').click();
  assert.equal(await group.getByTestId('fold').getAttribute('aria-expanded'), 'true');
  assert.equal(await hiddenSteps.count(), loops[0].repeats - 1);
  assert.ok(await hiddenSteps.first().isVisible());
  for (const step of await hiddenSteps.all()) assert.match(await step.textContent(), new RegExp(loops[0].tool_name));
  await done();
});

test('a deep link to a folded repeat opens its fold and marks the step', async () => {
  const { run, spans } = await api(`/runs/${RUNS.longRun}`);
  const loop = run.signals.find((s) => s.kind === 'loop');
  const repeats = spans
    .filter((s) => s.tool_name === loop.tool_name && JSON.stringify(s.tool_args) === JSON.stringify(loop.tool_args))
    .sort((a, b) => Number(a.start_time_unix_nano) - Number(b.start_time_unix_nano));
  const target = repeats[4];
  const { page, done } = await open(browser, `/runs/${RUNS.longRun}?view=transcript&span=${target.span_id}`);
  const step = page.locator(`[data-testid="step-tool"][data-span-id="${target.span_id}"]`);
  await step.waitFor();
  assert.ok(await step.isVisible());
  assert.match(await step.getAttribute('class'), /\bselected\b/);
  assert.equal(await page.getByTestId('fold').filter({ hasText: loop.tool_name }).first().getAttribute('aria-expanded'), 'true');
  assert.equal(await page.getByTestId('panel-title').textContent(), target.name);
  await done();
});

test('a deep link opens its view with its span selected', async () => {
  const spans = await spansOf(RUNS.longRun);
  const target = spans.filter((s) => s.kind === 'tool').at(-5);
  const { page, done } = await open(browser, `/runs/${RUNS.longRun}?view=timeline&span=${target.span_id}`);
  await page.getByTestId('timeline').waitFor();
  assert.equal(await page.getByTestId('tab-timeline').getAttribute('aria-selected'), 'true');
  const row = page.locator(`.tl-row[data-span-id="${target.span_id}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute('aria-selected'), 'true');
  assert.ok(await row.isVisible(), 'scrolled into view');
  assert.equal(await page.getByTestId('panel-title').textContent(), target.name);
  assert.match(await page.getByTestId('panel-tool-args').textContent(), new RegExp(escape(Object.keys(target.tool_args)[0])));
  await done();
});

test('a run that does not exist says so with the server message', async () => {
  const { page, done } = await open(browser, '/runs/0123456789abcdef0123456789abcdef');
  const error = page.getByTestId('error');
  await error.waitFor();
  const text = await error.textContent();
  assert.match(text, /Not found/);
  const response = await fetch(new URL('/api/v1/runs/0123456789abcdef0123456789abcdef', BASE_URL), { headers: { Authorization: `Bearer ${API_KEY}` } });
  assert.equal(response.status, 404);
  const body = await response.json();
  assert.ok(text.includes(body.error.message));
  await done();
});

test('a 1,000-span run opens fast, renders only visible rows and scrolls to its last span', async () => {
  const { traceId, names } = await postBigRun(1000);
  const spans = await spansOf(traceId);
  assert.equal(spans.length, 1000);
  const { page, done } = await open(browser, `/runs/${traceId}`);
  const tree = page.getByTestId('span-tree');
  await tree.waitFor({ timeout: 5000 });
  const rows = await page.locator('.tree-row').count();
  assert.ok(rows > 10 && rows < 100, `${rows} rows in the DOM`);
  await tree.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  const last = page.locator('.tree-row').filter({ hasText: names.at(-1) });
  await last.waitFor();
  assert.ok(await last.isVisible());
  assert.ok(await page.locator('.tree-row').count() < 100);

  await page.getByTestId('tab-timeline').click();
  const timeline = page.getByTestId('timeline');
  await timeline.waitFor();
  assert.ok(await page.locator('.tl-row').count() < 100);
  await timeline.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.locator('.tl-row').filter({ hasText: names.at(-1) }).waitFor();

  const started = Date.now();
  await page.getByTestId('tab-transcript').click();
  await page.getByTestId('transcript').getByText(names[2], { exact: true }).waitFor();
  assert.ok(Date.now() - started < 3000, 'the transcript opens quickly');
  await done();
});

/** Posts a run of `count` spans over OTLP/JSON: an agent, steps under it, calls under the steps. */
async function postBigRun(count) {
  const traceId = randomBytes(16).toString('hex');
  const tag = randomBytes(4).toString('hex');
  // Somewhere in the 12 days after 2023-11-14: in the past, so "newest first" lists keep their order.
  const base = 1_700_000_000_000_000_000n + BigInt(Number.parseInt(tag, 16) % 1_000_000) * 1_000_000_000n;
  const spans = [];
  const names = [];
  const add = (parent, kind, extra = []) => {
    const i = spans.length;
    const name = `bulk-${tag}-${String(i).padStart(4, '0')}`;
    names.push(name);
    const start = base + BigInt(i) * 10_000_000n;
    spans.push({
      traceId,
      spanId: randomBytes(8).toString('hex'),
      parentSpanId: parent?.spanId,
      name,
      kind: 1,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + (kind === 'agent' ? BigInt(count) * 10_000_000n : 8_000_000n)),
      attributes: [{ key: 'lemma.span.kind', value: { stringValue: kind } }, ...extra],
    });
    return spans[i];
  };
  const root = add(null, 'agent', [{ key: 'lemma.agent.name', value: { stringValue: `bulk-agent-${tag}` } }]);
  while (spans.length < count) {
    const step = add(root, 'chain');
    for (let j = 0; j < 8 && spans.length < count; j += 1) {
      add(step, j % 2 ? 'tool' : 'llm', j % 2 ? [
        { key: 'gen_ai.tool.name', value: { stringValue: `tool_${j}` } },
        { key: 'gen_ai.tool.call.arguments', value: { stringValue: JSON.stringify({ n: spans.length }) } },
      ] : []);
    }
  }
  const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'run-view-spec' } }] }, scopeSpans: [{ spans }] }] };
  const response = await fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200);
  return { traceId, names };
}

function escape(text) {
  return String(text).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('the header shows the run\'s metric events, posted through the API', async () => {
  // A run of its own, so no other spec sees its metrics.
  const { traceId } = await postBigRun(3);
  const post = (body) => fetch(new URL(`/api/v1/runs/${traceId}/metrics`, BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  const answer = await post({ metrics: [
    { name: 'resolved', value: false, comment: 'the user asked again', source: 'user' },
    { name: 'quality', value: 0.25, source: 'evaluator' },
    { name: 'label', value: '<img src=x onerror=window.__pwned=1>' },
  ] });
  assert.equal(answer.status, 201);

  const { page, done } = await open(browser, `/runs/${traceId}`);
  const chips = page.getByTestId('run-metric');
  await chips.first().waitFor();
  assert.deepEqual(await chips.allTextContents(), ['resolvedno', 'quality0.250', 'label<img src=x onerror=window.__pwned=1>']);
  assert.match(await chips.first().getAttribute('title'), /the user asked again/);
  assert.match(await chips.first().getAttribute('class'), /metric-bad/);
  assert.equal(await page.locator('[data-testid="run-metrics"] img').count(), 0);
  await done();
});
