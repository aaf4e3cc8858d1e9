// The span panel reads a span's content first: chat messages at the top, as markdown that cannot
// become markup or fetch anything, with a raw (and JSON) view and copy buttons; tool arguments and
// results as code sized to what they hold; retrieved documents as scored cards; a status pill only
// for a failure; and a megabyte message clamped before it is rendered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { API_KEY, BASE_URL, launch, open } from '../lib/harness.mjs';

const ORIGIN = new URL(BASE_URL).origin;
const MEGABYTE = 1024 * 1024;
const ANSWER = [
  '# Refund plan', '',
  'Refunds take **five days** and need `order_id`.', '',
  '1. Check the order', '2. Issue the refund', '',
  '```python', 'refund(order_id="A-17")  # <b>not bold</b>', '```', '',
  '| step | owner |', '|---|---|', '| check | bot |', '',
  'Policy: [refund policy](https://example.com/refunds).',
].join('\n');

let browser;
let run;
before(async () => {
  browser = await launch();
  run = await postRun();
});
after(async () => { await browser?.close(); });

async function openSpan(id) {
  const opened = await open(browser, `/runs/${run.traceId}?span=${id}`);
  const panel = opened.page.getByTestId('span-panel');
  await panel.waitFor();
  return { ...opened, panel };
}

test('messages come first in the panel, rendered as markdown, with raw and JSON views', async () => {
  const { page, panel, done } = await openSpan(run.llm);
  const order = await panel.evaluate((el) => [...el.querySelectorAll('.panel-body > [data-testid]')].map((s) => s.dataset.testid));
  assert.equal(order[0], 'panel-messages', `sections: ${order.join(', ')}`);
  assert.ok(order.indexOf('panel-overview') > 0 && order.indexOf('panel-attributes') > order.indexOf('panel-overview'), order.join(', '));

  const answer = panel.locator('.msg[data-role="assistant"]');
  const md = answer.locator('.md');
  assert.equal((await md.locator('.md-h1').textContent()).trim(), 'Refund plan');
  assert.equal(await md.locator('strong').first().textContent(), 'five days');
  assert.equal(await md.locator('code.md-inline-code').first().textContent(), 'order_id');
  assert.deepEqual(await md.locator('ol > li').allTextContents(), ['Check the order', 'Issue the refund']);
  assert.equal(await md.locator('.md-code pre').textContent(), 'refund(order_id="A-17")  # <b>not bold</b>');
  assert.match(await md.locator('.md-code pre').evaluate((el) => getComputedStyle(el).fontFamily), /mono/i);
  assert.deepEqual(await md.locator('.md-table td').allTextContents(), ['check', 'bot']);
  const link = md.locator('a.md-link');
  assert.equal(await link.getAttribute('href'), 'https://example.com/refunds');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.ok(!(await md.textContent()).includes('**'), 'no markdown syntax left in the rendered view');

  await answer.getByTestId('msg-view-raw').click();
  assert.equal(await answer.getByTestId('msg-view-raw').getAttribute('aria-pressed'), 'true');
  assert.equal(await answer.locator('.md').count(), 0);
  assert.equal(await answer.getByTestId('msg-raw').textContent(), ANSWER);
  // The message also holds a tool call: its JSON is one click away.
  await answer.getByTestId('msg-view-json').click();
  assert.match(await answer.locator('.msg-body .json-tree').textContent(), /tool_call.*lookup_order/s);
  await answer.getByTestId('msg-view-rendered').click();
  assert.equal(await answer.locator('.md .md-h1').count(), 1);
  // A text-only message has no JSON view.
  const user = panel.locator('.msg[data-role="user"]');
  assert.equal(await user.getByTestId('msg-view-raw').count(), 1);
  assert.equal(await user.getByTestId('msg-view-json').count(), 0);
  await done();
});

test('markup and images inside markdown stay inert: nothing runs, nothing is fetched', async () => {
  const requested = [];
  const { page, done } = await open(browser, '/runs');
  page.on('request', (request) => { if (request.url().includes(run.pixel)) requested.push(request.url()); });
  await page.goto(`/runs/${run.traceId}?span=${run.llm}`);
  const panel = page.getByTestId('span-panel');
  await panel.waitFor();
  // Drawn twice: on opening, and again through the raw view.
  const user = panel.locator('.msg[data-role="user"]');
  await user.getByTestId('msg-view-raw').click();
  await user.getByTestId('msg-view-rendered').click();
  const text = await user.locator('.md').textContent();
  assert.ok(text.includes('<script>window.__pwned=1</script>'), 'the script tag is text');
  assert.ok(text.includes('<img src=x onerror=window.__pwned=2>'), 'the img tag is text');
  const image = user.locator('.md-image');
  assert.equal(await image.textContent(), 'Image: tracking pixel');
  assert.equal(await image.getAttribute('href'), `${ORIGIN}/${run.pixel}`);
  assert.equal(await user.locator('a', { hasText: 'click me' }).count(), 0, 'a javascript: link keeps only its label');
  assert.ok(text.includes('click me'));
  await page.waitForTimeout(300);
  const found = await page.evaluate(() => ({
    pwned: window.__pwned,
    imgs: [...document.querySelectorAll('img')].map((i) => i.getAttribute('src')).filter((src) => src !== '/favicon.ico'),
    scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')).filter((src) => src !== '/assets/js/app.js'),
    jsLinks: [...document.querySelectorAll('[href]')].filter((el) => /^\s*javascript:/i.test(el.getAttribute('href'))).length,
    handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
  }));
  assert.deepEqual(found, { pwned: undefined, imgs: [], scripts: [], jsLinks: 0, handlers: 0 });
  assert.deepEqual(requested, [], 'the image was never requested');
  await done();
});

test('copy buttons on each message, on ids and on tool arguments and results', async () => {
  const { page, panel, done } = await openSpan(run.llm);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  const messages = panel.locator('[data-testid="panel-messages"] .msg');
  const count = await messages.count();
  assert.equal(count, 3);
  for (let i = 0; i < count; i += 1) assert.equal(await messages.nth(i).locator('.msg-head').getByTestId('copy').count(), 1, `message ${i}`);
  await panel.locator('.msg[data-role="system"] .msg-head').getByTestId('copy').click();
  assert.equal(await clipboard(), 'You are a **refund** agent.');
  await panel.locator('.msg[data-role="assistant"] .msg-head').getByTestId('copy').click();
  assert.match(await clipboard(), /"type": "tool_call"/, 'a message with more than text is copied as JSON');
  await panel.getByTestId('panel-overview').locator('dd', { hasText: run.llm }).getByTestId('copy').click();
  assert.equal(await clipboard(), run.llm);

  await page.goto(`/runs/${run.traceId}?span=${run.tool}`);
  const tool = page.getByTestId('panel-tool');
  await tool.waitFor();
  await tool.getByRole('button', { name: 'Copy arguments' }).click();
  assert.deepEqual(JSON.parse(await clipboard()), { order_id: 'A-17' });
  await tool.getByRole('button', { name: 'Copy result' }).click();
  assert.equal(await clipboard(), 'refunded 42.00 EUR');
  await tool.getByRole('button', { name: 'Copy tool call ID' }).click();
  assert.equal(await clipboard(), 'call-refund-1');
  await done();
});

test('tool arguments and results are monospace, in boxes as big as their values', async () => {
  const { page, done } = await openSpan(run.tool);
  const panelWidth = await page.getByTestId('span-panel').evaluate((el) => el.getBoundingClientRect().width);
  for (const id of ['panel-tool-args', 'panel-tool-result']) {
    const box = page.getByTestId(id).locator('.payload');
    const size = await box.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return { width: r.width, height: r.height, font: getComputedStyle(el.querySelector('.payload-text, .json-tree')).fontFamily };
    });
    assert.match(size.font, /mono/i, id);
    assert.ok(size.height < 60, `${id} is ${size.height}px tall`);
    assert.ok(size.width < panelWidth / 2, `${id} is ${size.width}px wide in a ${panelWidth}px panel`);
  }
  // A long result is clamped, not a wall.
  await page.goto(`/runs/${run.traceId}?span=${run.longTool}`);
  const result = page.getByTestId('panel-tool-result');
  await result.waitFor();
  assert.ok((await result.textContent()).length < 3_000);
  assert.equal(await result.getByTestId('show-more').count(), 1);
  await done();
});

test('retrieved documents are cards with their scores, in the panel and the transcript', async () => {
  const { page, panel, done } = await openSpan(run.retrieval);
  const section = panel.getByTestId('panel-retrieval');
  const order = await panel.evaluate((el) => [...el.querySelectorAll('.panel-body > [data-testid]')].map((s) => s.dataset.testid));
  assert.equal(order[0], 'panel-retrieval');
  const cards = section.getByTestId('document');
  assert.equal(await cards.count(), 3);
  assert.deepEqual(await section.getByTestId('doc-score').allTextContents(), ['0.92', '0.471', '0.05']);
  assert.equal(await cards.first().locator('.doc-id').textContent(), 'kb-17');
  assert.equal(await cards.first().locator('.doc-source').textContent(), 'refunds.md');
  assert.match(await cards.first().locator('.doc-content').textContent(), /^Refunds take five days/);
  // The long document is clamped until asked for.
  const long = cards.nth(2);
  assert.ok((await long.locator('.doc-content').textContent()).length < 2_000);
  await long.getByTestId('show-more').click();
  assert.ok((await long.locator('.doc-content').textContent()).length > 5_000);
  assert.match(await section.locator('.panel-code').first().textContent(), /refund policy/);

  await page.goto(`/runs/${run.traceId}`);
  await page.getByTestId('tab-transcript').click();
  const step = page.getByTestId('step-retrieval');
  await step.waitFor();
  assert.equal(await step.getByTestId('document').count(), 3);
  assert.deepEqual(await step.getByTestId('doc-score').allTextContents(), ['0.92', '0.471', '0.05']);
  await done();
});

test('a status pill only for a failed span, never "Unset"', async () => {
  for (const [id, expected] of [[run.tool, []], [run.llm, []], [run.failed, ['Error']]]) {
    const { panel, done } = await openSpan(id);
    const sub = panel.locator('.panel-sub');
    assert.deepEqual(await sub.locator('[data-status]').allTextContents(), expected, id);
    assert.ok(!(await panel.textContent()).includes('Unset'));
    await done();
  }
  // A span the instrumentation marked OK says so among its facts.
  const { panel, done } = await openSpan(run.llm);
  assert.equal(await panel.getByTestId('panel-overview').locator('dt', { hasText: 'Status' }).locator('xpath=following-sibling::dd[1]').textContent(), 'OK');
  await done();
});

test('a 1 MB message is clamped before it is rendered, and paints quickly', async () => {
  const { page, done } = await open(browser, `/runs/${run.traceId}`);
  await page.getByTestId('span-tree').waitFor();
  const started = Date.now();
  await page.goto(`/runs/${run.traceId}?span=${run.big}`);
  const message = page.getByTestId('panel-messages').locator('.msg[data-role="user"]');
  await message.locator('.md').waitFor({ timeout: 20_000 });
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5_000, `the panel painted in ${elapsed} ms`);
  const shown = async () => (await message.locator('.msg-body').textContent()).length;
  const before = await shown();
  assert.ok(before > 1_000 && before < 5_000, `the message is clamped (${before} characters in the DOM)`);
  assert.ok(await message.locator('.md strong').count() > 0, 'what is shown is rendered');
  await message.getByTestId('show-more').click();
  const after = await shown();
  assert.ok(after > before * 5 && after < MEGABYTE, `"Show more" shows more (${after} characters)`);
  await message.getByTestId('msg-view-raw').click();
  const raw = (await message.getByTestId('msg-raw').textContent()).length;
  assert.ok(raw > 1_000 && raw < 5_000, `the raw view is clamped too (${raw} characters)`);
  await done();
});

async function postRun() {
  const trace = randomBytes(16).toString('hex');
  const tag = randomBytes(4).toString('hex');
  const id = () => randomBytes(8).toString('hex');
  const ids = { root: id(), llm: id(), tool: id(), longTool: id(), retrieval: id(), failed: id(), big: id() };
  const pixel = `pixel-${tag}.png`;
  const start = 1_700_000_000_000_000_000n + BigInt(Number.parseInt(tag, 16) % 1_000_000) * 1_000_000_000n;
  const at = (ms) => String(start + BigInt(ms) * 1_000_000n);
  const kv = (key, value) => ({ key, value: { stringValue: value } });
  const span = (spanId, name, from, to, attributes, more = {}) => ({
    traceId: trace, spanId, parentSpanId: ids.root, name, kind: 1, startTimeUnixNano: at(from), endTimeUnixNano: at(to), attributes, ...more,
  });
  const input = [
    { role: 'system', parts: [{ type: 'text', content: 'You are a **refund** agent.' }] },
    {
      role: 'user',
      parts: [{
        type: 'text',
        content: `Refund A-17 <script>window.__pwned=1</script> <img src=x onerror=window.__pwned=2>\n\n![tracking pixel](${ORIGIN}/${pixel}) and [click me](javascript:window.__pwned=3)`,
      }],
    },
  ];
  const output = [{
    role: 'assistant',
    parts: [{ type: 'text', content: ANSWER }, { type: 'tool_call', id: 'call-refund-1', name: 'lookup_order', arguments: { order_id: 'A-17' } }],
  }];
  const bigText = '**big** message '.padEnd(MEGABYTE, 'lorem *ipsum* dolor sit amet\n');
  const documents = [
    { id: 'kb-17', content: 'Refunds take five days.', score: 0.92, metadata: { source: 'refunds.md', section: 'timing' } },
    { id: 'kb-3', content: 'Shipping is free over 50 EUR.', score: 0.4712 },
    { id: 'kb-99', content: 'x'.padEnd(20_000, ' long document'), score: 0.05 },
  ];
  const spans = [
    {
      traceId: trace, spanId: ids.root, name: `panel messages ${tag}`, kind: 1, startTimeUnixNano: at(0), endTimeUnixNano: at(2000),
      attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', `refunds ${tag}`)],
    },
    span(ids.llm, 'chat refund', 10, 300, [
      kv('gen_ai.operation.name', 'chat'), kv('gen_ai.request.model', 'gpt-4o'),
      kv('gen_ai.input.messages', JSON.stringify(input)), kv('gen_ai.output.messages', JSON.stringify(output)),
    ], { kind: 3, status: { code: 1 } }),
    span(ids.tool, 'lookup_order', 310, 400, [
      kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', 'lookup_order'), kv('gen_ai.tool.call.id', 'call-refund-1'),
      kv('gen_ai.tool.call.arguments', JSON.stringify({ order_id: 'A-17' })), kv('gen_ai.tool.call.result', 'refunded 42.00 EUR'),
    ]),
    span(ids.longTool, 'read_log', 410, 500, [
      kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', 'read_log'),
      kv('gen_ai.tool.call.arguments', '{}'), kv('gen_ai.tool.call.result', 'log line\n'.repeat(5_000)),
    ]),
    span(ids.retrieval, 'search kb', 510, 600, [
      kv('gen_ai.operation.name', 'retrieval'), kv('gen_ai.retrieval.query.text', 'refund policy'),
      kv('gen_ai.retrieval.documents', JSON.stringify(documents)),
    ]),
    span(ids.failed, 'charge card', 610, 700, [kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', 'charge_card')],
      { status: { code: 2, message: 'card declined' } }),
    span(ids.big, 'chat big', 710, 1900, [
      kv('gen_ai.operation.name', 'chat'), kv('gen_ai.request.model', 'gpt-4o'),
      kv('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: bigText }] }])),
    ], { kind: 3 }),
  ];
  const body = { resourceSpans: [{ resource: { attributes: [kv('service.name', `panel ${tag}`)] }, scopeSpans: [{ scope: { name: 'panel-messages' }, spans }] }] };
  const response = await fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
  return { traceId: trace, pixel, ...ids };
}
