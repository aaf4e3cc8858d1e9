// Span content is hostile: markup and script URLs in names, agents, inputs, outputs, attributes,
// messages and tool arguments must reach the page as text and run nothing, on every page that
// shows them (runs list, the run's three views and span panel, its thread).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { API_KEY, BASE_URL, launch, open, assertInert } from '../lib/harness.mjs';

const IMG = '<img src=x onerror=window.__pwned=1>';
const SCRIPT = '<script>window.__pwned=2</script>';
const JS_URL = 'javascript:window.__pwned=3';

let browser;
let traceId;
let threadId;
let ids;
before(async () => {
  browser = await launch();
  ({ traceId, threadId, ids } = await postHostileRun());
});
after(async () => { await browser?.close(); });

/** Waits (up to 10 s) for every string to be shown as text in `scope`: views fill in as their
 * data arrives (the transcript reads its run when its tab opens). */
async function assertShown(page, scope, strings) {
  const deadline = Date.now() + 10_000;
  let text = '';
  for (;;) {
    text = await page.locator(scope).innerText();
    if (strings.every((s) => text.includes(s)) || Date.now() > deadline) break;
    await page.waitForTimeout(100);
  }
  for (const s of strings) assert.ok(text.includes(s), `${JSON.stringify(s)} is shown as text`);
}

test('the runs list shows hostile content as text', async () => {
  const { page, done } = await open(browser, `/runs?q=${encodeURIComponent(`thread:"${threadId}"`)}`);
  await page.getByText(`${IMG} ${ids.tag}`).first().waitFor();
  await assertShown(page, '#view', [`${IMG} ${ids.tag}`]);
  await assertInert(page);
  await done();
});

test('the run shows hostile content as text in every view and in the span panel', async () => {
  const { page, done } = await open(browser, `/runs/${traceId}`);
  await page.getByTestId('span-tree').waitFor();
  await assertShown(page, '[data-testid="run-header"]', [`${IMG} ${ids.tag}`, SCRIPT, JS_URL]);
  await assertShown(page, '[data-testid="span-tree"]', [`${IMG} ${ids.tag}`, `${SCRIPT} chat`, `${JS_URL} tool`]);
  await assertInert(page);

  await page.getByTestId('tab-timeline').click();
  await page.getByTestId('timeline').waitFor();
  await assertShown(page, '[data-testid="timeline"]', [`${SCRIPT} chat`, `${JS_URL} tool`]);
  await page.locator(`.tl-row[data-span-id="${ids.llm}"] .tl-bar`).hover();
  await assertShown(page, '.tl-tooltip', [`${SCRIPT} chat`]);
  await assertInert(page);

  await page.getByTestId('tab-transcript').click();
  await page.getByTestId('transcript').waitFor();
  await assertShown(page, '[data-testid="transcript"]', [SCRIPT, IMG, JS_URL]);
  await assertInert(page);

  for (const id of [ids.root, ids.llm, ids.tool]) {
    await page.goto(`/runs/${traceId}?span=${id}`);
    const panel = page.getByTestId('span-panel');
    await panel.waitFor();
    // open every section, raw input/output included
    const closed = panel.locator('details.panel-section:not([open]) > summary');
    while (await closed.count()) await closed.first().click();
    await assertInert(page);
  }
  await assertShown(page, '[data-testid="span-panel"]', [IMG, JS_URL, `${JS_URL} tool`]);
  await page.goto(`/runs/${traceId}?span=${ids.llm}`);
  await page.getByTestId('span-panel').waitFor();
  await assertShown(page, '[data-testid="panel-messages"]', [SCRIPT, IMG, JS_URL]);
  await assertShown(page, '[data-testid="panel-attributes"]', [`${IMG}-key`, `${JS_URL}`]);
  await assertInert(page);
  await done();
});

test("the run's thread shows hostile content as text", async () => {
  const { page, done } = await open(browser, `/threads/${encodeURIComponent(threadId)}`);
  await page.getByText(SCRIPT).first().waitFor();
  await assertShown(page, '#view', [SCRIPT]);
  await assertInert(page);
  await done();
});

async function postHostileRun() {
  const trace = randomBytes(16).toString('hex');
  const tag = randomBytes(4).toString('hex');
  const thread = `${SCRIPT} thread ${tag}`;
  const root = randomBytes(8).toString('hex');
  const llm = randomBytes(8).toString('hex');
  const tool = randomBytes(8).toString('hex');
  // Somewhere in the 12 days after 2023-11-14: in the past, so "newest first" lists keep their order.
  const start = 1_700_000_000_000_000_000n + BigInt(Number.parseInt(tag, 16) % 1_000_000) * 1_000_000_000n;
  const at = (ms) => String(start + BigInt(ms) * 1_000_000n);
  const kv = (key, value) => ({ key, value: { stringValue: value } });
  const messagesIn = [{ role: 'user', parts: [{ type: 'text', content: SCRIPT }] }];
  const messagesOut = [{
    role: 'assistant',
    parts: [
      { type: 'text', content: IMG },
      { type: 'tool_call', id: `call-${tag}`, name: IMG, arguments: { [IMG]: JS_URL, html: SCRIPT } },
      { type: 'media', modality: 'image', mime_type: 'image/png', uri: JS_URL },
    ],
  }];
  const spans = [
    {
      traceId: trace, spanId: root, name: `${IMG} ${tag}`, kind: 1, startTimeUnixNano: at(0), endTimeUnixNano: at(900),
      attributes: [
        kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', `${IMG} ${tag}`),
        kv('lemma.input', SCRIPT), kv('lemma.output', JS_URL), kv('lemma.thread_id', thread),
        kv('lemma.user_id', JS_URL), kv('lemma.tags', JSON.stringify([IMG, SCRIPT])),
      ],
    },
    {
      traceId: trace, spanId: llm, parentSpanId: root, name: `${SCRIPT} chat`, kind: 3, startTimeUnixNano: at(10), endTimeUnixNano: at(400),
      attributes: [
        kv('gen_ai.operation.name', 'chat'), kv('gen_ai.request.model', IMG),
        kv('gen_ai.input.messages', JSON.stringify(messagesIn)), kv('gen_ai.output.messages', JSON.stringify(messagesOut)),
        kv(`${IMG}-key`, JS_URL), kv(SCRIPT, IMG),
      ],
    },
    {
      traceId: trace, spanId: tool, parentSpanId: root, name: `${JS_URL} tool`, kind: 1, startTimeUnixNano: at(450), endTimeUnixNano: at(800),
      status: { code: 2, message: IMG },
      attributes: [
        kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', `${JS_URL} tool`),
        kv('gen_ai.tool.call.arguments', JSON.stringify({ url: JS_URL, [SCRIPT]: IMG })), kv('gen_ai.tool.call.result', SCRIPT),
      ],
      events: [{ name: 'exception', timeUnixNano: at(700), attributes: [kv('exception.type', IMG), kv('exception.message', SCRIPT), kv('exception.stacktrace', `${JS_URL}\n  at <script>`)] }],
    },
  ];
  const body = { resourceSpans: [{ resource: { attributes: [kv('service.name', `hostile ${IMG}`)] }, scopeSpans: [{ scope: { name: SCRIPT }, spans }] }] };
  const response = await fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200);
  return { traceId: trace, threadId: thread, ids: { root, llm, tool, tag } };
}
