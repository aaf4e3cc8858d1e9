// The run's Graph view: its agents, tools and model calls as nodes with counts and failures,
// calls as edges with counts, cycles drawn as back edges, a node's click selecting its first
// span, the keyboard, hostile names kept as text, and long runs drawn from the server's graph
// without the page reading the run whole. Expectations come from GET /runs/{id}/graph.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { API_KEY, BASE_URL, RUNS, api, launch, open, assertInert } from '../lib/harness.mjs';
import { postLongRun } from '../lib/long-run.mjs';

const IMG = '<img src=x onerror=window.__pwned=1>';
const SCRIPT = '<script>window.__pwned=2</script>';
const JS_URL = 'javascript:window.__pwned=3';

let browser;
let cycle; // a posted run: planner → researcher → planner, with hostile names
before(async () => {
  browser = await launch();
  assert.ok(RUNS.longRun, 'LEMMA_RUN_LONG is set');
  assert.ok(RUNS.hostile, 'LEMMA_RUN_HOSTILE is set');
  cycle = await postCycleRun();
});
after(async () => { await browser?.close(); });

/** Opens a run, noting every API path the page asks for. */
async function openRun(runId, query = '') {
  const opened = await open(browser, '/favicon.ico');
  const paths = [];
  opened.page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/')) paths.push(url.pathname);
  });
  await opened.page.goto(`/runs/${runId}${query}`);
  return { ...opened, paths };
}

/** Per drawn node: its id, kind, full label (its title) and the count it shows. */
function drawnNodes(page) {
  return page.$$eval('[data-testid="graph-node"]', (nodes) => nodes.map((g) => ({
    id: Number(g.dataset.nodeId),
    kind: g.dataset.kind,
    title: g.querySelector('title').textContent,
    count: g.querySelector('[data-testid="graph-count"]').textContent,
    errors: g.classList.contains('has-errors'),
  })).sort((a, b) => a.id - b.id));
}

test('the graph tab draws the run as nodes with counts and edges with calls', async () => {
  const graph = await api(`/runs/${RUNS.longRun}/graph`);
  const { page, paths, done } = await openRun(RUNS.longRun);
  await page.getByTestId('span-tree').waitFor();
  await page.keyboard.press('g');
  await page.getByTestId('graph-node').first().waitFor();
  assert.equal(new URL(page.url()).searchParams.get('view'), 'graph');
  assert.equal(await page.getByTestId('tab-graph').getAttribute('aria-selected'), 'true');
  const nodes = await drawnNodes(page);
  assert.deepEqual(nodes, graph.nodes.map((n) => ({
    id: n.id, kind: n.kind, title: `${n.kind} ${n.label}`, count: `×${n.count.toLocaleString('en-US')}`, errors: n.errors > 0,
  })));
  // long_run: one agent, 111 model calls, four tools; the 8 run_tests calls all failed.
  assert.deepEqual(nodes.map((n) => `${n.title} ${n.count}`), [
    'agent coding_agent ×1', 'llm gpt-4.1 ×111', 'tool search_code ×30', 'tool read_file ×42',
    'tool edit_file ×30', 'tool run_tests ×8',
  ]);
  assert.deepEqual(nodes.filter((n) => n.errors).map((n) => n.title), ['tool run_tests']);
  const edges = await page.$$eval('[data-testid="graph-edge"]', (els) => els.map((e) => `${e.dataset.from}→${e.dataset.to} ${e.querySelector('text').textContent}`));
  assert.deepEqual(edges, graph.edges.map((e) => `${e.from}→${e.to} ×${e.count}`));
  // Layers: the agent above its steps.
  const y = (id) => page.locator(`[data-node-id="${id}"]`).evaluate((g) => g.getBoundingClientRect().top);
  assert.ok(await y(0) < await y(1));
  assert.equal(await y(1), await y(5));
  // Drawn from the graph alone: the run is never read whole.
  assert.deepEqual(paths.filter((p) => p.endsWith('/graph')), [`/api/v1/runs/${RUNS.longRun}/graph`]);
  assert.ok(!paths.includes(`/api/v1/runs/${RUNS.longRun}`), paths.join(' '));
  await done();
});

test('clicking a node selects its first span and shows its numbers; the keyboard does too', async () => {
  const graph = await api(`/runs/${RUNS.longRun}/graph`);
  const runTests = graph.nodes.find((n) => n.label === 'run_tests');
  const { page, done } = await openRun(RUNS.longRun, '?view=graph');
  const node = page.locator(`[data-testid="graph-node"][data-node-id="${runTests.id}"]`);
  await node.click();
  await page.waitForURL((url) => url.searchParams.get('span') === runTests.first_span_id);
  assert.equal(new URL(page.url()).searchParams.get('view'), 'graph');
  await page.getByTestId('span-panel').waitFor();
  assert.match(await page.getByTestId('panel-title').textContent(), /run_tests/);
  assert.ok((await node.getAttribute('class')).includes('selected'));
  const details = page.getByTestId('graph-details');
  assert.equal(await page.getByTestId('graph-details-label').textContent(), 'run_tests');
  assert.equal(await details.locator('dd[data-fact="Spans"]').textContent(), '8');
  assert.equal(await details.locator('dd[data-fact="Failed"]').textContent(), '8');
  await page.getByTestId('graph-first-error').waitFor();

  // One node is in the tab order; arrows move among the nodes, Enter selects.
  assert.equal(await page.locator('[data-testid="graph-node"][tabindex="0"]').count(), 1);
  await node.focus();
  await page.keyboard.press('ArrowLeft');
  const focused = await page.evaluate(() => Number(document.activeElement.dataset.nodeId));
  assert.notEqual(focused, runTests.id);
  await page.keyboard.press('Enter');
  const chosen = graph.nodes[focused];
  await page.waitForURL((url) => url.searchParams.get('span') === chosen.first_span_id);
  assert.equal(await page.getByTestId('graph-details-label').textContent(), chosen.label);
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.nodeId), '0');
  // A deep link to a node's span opens the graph with that node chosen.
  await page.goto(`/runs/${RUNS.longRun}?view=graph&span=${runTests.first_span_id}`);
  await page.locator(`[data-node-id="${runTests.id}"].selected`).waitFor();
  await done();
});

test('a sub-agent calling back is drawn as a cycle, and hostile names stay text', async () => {
  const graph = await api(`/runs/${cycle.traceId}/graph`);
  const { page, done } = await openRun(cycle.traceId, '?view=graph');
  await page.getByTestId('graph-node').first().waitFor();
  const titles = (await drawnNodes(page)).map((n) => `${n.title} ${n.count}`);
  assert.deepEqual(titles, [`agent ${IMG} ×2`, `agent ${SCRIPT} ×1`, `llm ${JS_URL} ×2`, `tool ${JS_URL} tool ×2`]);
  const back = await page.$$eval('[data-testid="graph-edge"][data-back="true"]', (els) => els.map((e) => [Number(e.dataset.from), Number(e.dataset.to)]));
  assert.deepEqual(back, graph.edges.filter((e) => e.back).map((e) => [e.from, e.to]));
  assert.deepEqual(back, [[1, 0]], 'researcher → planner closes the cycle');
  assert.ok(await page.locator('[data-testid="graph-edge"].back path').count() === 1);
  await page.locator('[data-testid="graph-node"][data-node-id="3"]').click();
  await page.waitForURL((url) => url.searchParams.get('span') === cycle.failedTool);
  assert.equal(await page.getByTestId('graph-details-label').textContent(), `${JS_URL} tool`);
  await assertInert(page);

  // The dashboard's own hostile run.
  const hostile = await openRun(RUNS.hostile, '?view=graph');
  await hostile.page.getByTestId('graph-node').first().waitFor();
  const labels = (await drawnNodes(hostile.page)).map((n) => n.title);
  assert.ok(labels.some((l) => l.includes('<img src=x onerror=')), labels.join(' | '));
  await hostile.page.getByTestId('graph-node').first().click();
  await hostile.page.getByTestId('span-panel').waitFor();
  await assertInert(hostile.page);
  await hostile.done();
  await done();
});

test('a 10k-span run draws a capped graph without reading the run whole', async () => {
  const long = await postLongRun(BASE_URL, API_KEY, 10_000);
  const graph = await api(`/runs/${long.traceId}/graph`);
  assert.equal(graph.spans, long.total);
  assert.ok(graph.capped, 'its turns have more names than a graph holds');
  const { page, paths, done } = await openRun(long.traceId, '?view=graph');
  await page.getByTestId('graph-node').first().waitFor();
  const nodes = await drawnNodes(page);
  assert.equal(nodes.length, graph.nodes.length);
  assert.ok(nodes.length <= 300, `${nodes.length} nodes`);
  assert.ok(nodes.some((n) => n.kind === 'other'), 'the rest are in an other node');
  assert.match(await page.getByTestId('graph-details').textContent(), /most called names/);
  const search = graph.nodes.find((n) => n.label === 'search');
  assert.ok(nodes.some((n) => n.title === 'tool search' && n.count === `×${search.count.toLocaleString('en-US')}`));
  // The graph is larger than the view: it scrolls.
  const scroll = await page.locator('.graph-scroll').evaluate((el) => ({ height: el.scrollHeight, client: el.clientHeight }));
  assert.ok(scroll.height > scroll.client, JSON.stringify(scroll));
  assert.ok(!paths.includes(`/api/v1/runs/${long.traceId}`), paths.join(' '));
  // Only the outline's first page, which the run page opens on (completed when cut by bytes):
  // never a walk through the run's 20 pages.
  assert.ok(paths.filter((p) => p.endsWith('/outline')).length <= 2, paths.join(' '));
  await done();
});

/**
 * planner → researcher → planner → chat, tool (failed); researcher → chat, tool. The agents,
 * model and tool are named with markup.
 */
async function postCycleRun() {
  const traceId = randomBytes(16).toString('hex');
  const ids = Array.from({ length: 7 }, () => randomBytes(8).toString('hex'));
  const start = 1_700_500_000_000_000_000n + BigInt(Number.parseInt(traceId.slice(0, 6), 16)) * 1_000_000n;
  const at = (ms) => String(start + BigInt(ms) * 1_000_000n);
  const kv = (key, value) => ({ key, value: { stringValue: value } });
  const agent = (i, parent, name, from, to) => ({
    traceId, spanId: ids[i], parentSpanId: parent, name: `invoke_agent ${name}`, kind: 1,
    startTimeUnixNano: at(from), endTimeUnixNano: at(to),
    attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', name)],
  });
  const chat = (i, parent, from) => ({
    traceId, spanId: ids[i], parentSpanId: parent, name: 'chat', kind: 3, startTimeUnixNano: at(from), endTimeUnixNano: at(from + 5),
    attributes: [kv('gen_ai.operation.name', 'chat'), kv('gen_ai.request.model', JS_URL)],
  });
  const tool = (i, parent, from, failed) => ({
    traceId, spanId: ids[i], parentSpanId: parent, name: 'execute_tool', kind: 1, startTimeUnixNano: at(from), endTimeUnixNano: at(from + 5),
    attributes: [kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', `${JS_URL} tool`)],
    ...(failed ? { status: { code: 2, message: IMG } } : {}),
  });
  const spans = [
    agent(0, undefined, IMG, 0, 100),
    agent(1, ids[0], SCRIPT, 10, 90),
    agent(2, ids[1], IMG, 20, 50),
    chat(3, ids[2], 21),
    tool(4, ids[2], 30, true),
    chat(5, ids[1], 60),
    tool(6, ids[1], 70, false),
  ];
  const response = await fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', 'graph-spec')] }, scopeSpans: [{ spans }] }] }),
  });
  assert.equal(response.status, 200);
  return { traceId, failedTool: ids[4] };
}
