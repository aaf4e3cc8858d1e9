// What span content cannot do to the page: a megabyte value does not freeze the span panel (every
// value is clamped until asked for), and bidi controls cannot make a name read as another
// (they are shown as markers, and text is isolated). Also the pages around the views: an
// unknown address shows the dashboard's "not found" view, and the API's document is linked. And a
// model call the LLM proxy recorded says so, with its time to first chunk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { API_KEY, BASE_URL, launch, open } from '../lib/harness.mjs';

const SPOOF = 'safe\u202Egnp.exe\u202C';
const SPOOF_SHOWN = 'safe⟨U+202E⟩gnp.exe⟨U+202C⟩';
const MEGABYTE = 1024 * 1024;

let browser;
let run;
before(async () => {
  browser = await launch();
  run = await postRun();
});
after(async () => { await browser?.close(); });

test('a span with a 1 MB attribute opens in the panel quickly, clamped, and shows more on demand', async () => {
  const { page, done } = await open(browser, `/runs/${run.traceId}`);
  await page.getByTestId('span-tree').waitFor();
  const started = Date.now();
  await page.goto(`/runs/${run.traceId}?span=${run.big}`);
  const panel = page.getByTestId('span-panel');
  await panel.waitFor({ timeout: 20_000 });
  const row = panel.locator('[data-testid="attr-table"] tr', { hasText: 'big.value' });
  await row.waitFor();
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5_000, `the panel painted in ${elapsed} ms`);

  const shown = async () => (await row.locator('td').textContent()).length;
  const before = await shown();
  assert.ok(before > 1_000 && before < 5_000, `the value is clamped (${before} characters in the DOM)`);
  // Every other place a value can be: resource, event and link attributes, metadata.
  const closed = panel.locator('details.panel-section:not([open]) > summary');
  while (await closed.count()) await closed.first().click();
  const total = await panel.evaluate((el) => el.textContent.length);
  assert.ok(total < 60_000, `the whole panel holds ${total} characters, not megabytes`);

  await row.getByTestId('show-more').click();
  const after = await shown();
  assert.ok(after > before * 5 && after < MEGABYTE, `"Show more" shows more (${after} characters)`);
  await done();
});

test('bidi controls in a name and a value are shown, not obeyed', async () => {
  const { page, done } = await open(browser, `/runs/${run.traceId}?span=${run.spoof}`);
  const panel = page.getByTestId('span-panel');
  await panel.waitFor();
  const title = page.getByTestId('panel-title');
  assert.equal((await title.textContent()).trim(), SPOOF_SHOWN);
  const value = panel.locator('[data-testid="attr-table"] tr', { hasText: 'file.name' }).locator('td');
  assert.equal((await value.textContent()).trim(), SPOOF_SHOWN);
  await page.getByTestId('span-tree').getByText(SPOOF_SHOWN).first().waitFor();
  const page_ = await page.evaluate(() => ({
    controls: /[\u202A-\u202E\u2066-\u2069]/.test(document.body.textContent),
    reads: document.body.innerText.includes('safeexe.png'),
    isolated: getComputedStyle(document.querySelector('[data-testid="panel-title"]')).unicodeBidi,
  }));
  assert.deepEqual(page_, { controls: false, reads: false, isolated: 'isolate' });
  await done();
});

test('an unknown address shows the "not found" view in the frame', async () => {
  for (const path of ['/nope', '/runs/x/y/z']) {
    const { page, done } = await open(browser, path);
    await page.getByRole('heading', { name: 'Nothing here' }).waitFor();
    assert.ok(await page.getByRole('link', { name: 'Go to runs' }).isVisible(), path);
    await done();
  }
});

test('the OpenAPI document is linked from the frame', async () => {
  const { page, done } = await open(browser, '/runs');
  const link = page.getByTestId('openapi-link');
  await link.waitFor();
  const href = await link.getAttribute('href');
  assert.equal(href, '/api/v1/openapi.json');
  const response = await fetch(new URL(href, BASE_URL));
  assert.equal(response.status, 200);
  assert.ok((await response.json()).openapi, 'it is an OpenAPI document');
  await done();
});

async function postRun() {
  const trace = randomBytes(16).toString('hex');
  const tag = randomBytes(4).toString('hex');
  const root = randomBytes(8).toString('hex');
  const big = randomBytes(8).toString('hex');
  const spoof = randomBytes(8).toString('hex');
  const start = 1_700_000_000_000_000_000n + BigInt(Number.parseInt(tag, 16) % 1_000_000) * 1_000_000_000n;
  const at = (ms) => String(start + BigInt(ms) * 1_000_000n);
  const kv = (key, value) => ({ key, value: { stringValue: value } });
  const huge = (label) => `${label} `.padEnd(MEGABYTE, 'lorem ipsum dolor sit amet ');
  const spans = [
    {
      traceId: trace, spanId: root, name: `big values ${tag}`, kind: 1, startTimeUnixNano: at(0), endTimeUnixNano: at(900),
      attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', `big ${tag}`)],
    },
    {
      traceId: trace, spanId: big, parentSpanId: root, name: 'megabyte attribute', kind: 1, startTimeUnixNano: at(10), endTimeUnixNano: at(400),
      attributes: [
        kv('big.value', huge('attribute')),
        kv('lemma.metadata.big', huge('metadata')),
        kv('small.value', 'fits'),
      ],
      events: [{ name: 'big event', timeUnixNano: at(20), attributes: [kv('big.event', huge('event'))] }],
      links: [{ traceId: trace, spanId: root, attributes: [kv('big.link', huge('link'))] }],
    },
    {
      traceId: trace, spanId: spoof, parentSpanId: root, name: SPOOF, kind: 1, startTimeUnixNano: at(450), endTimeUnixNano: at(800),
      attributes: [kv('file.name', SPOOF)],
    },
  ];
  const body = {
    resourceSpans: [{
      resource: { attributes: [kv('service.name', `big ${tag}`), kv('big.resource', huge('resource'))] },
      scopeSpans: [{ scope: { name: 'panel-content' }, spans }],
    }],
  };
  const response = await fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
  return { traceId: trace, big, spoof };
}

test("a model call recorded by the LLM proxy says so, with its time to first chunk", async () => {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const now = BigInt(Date.now()) * 1000000n;
  const attr = (key, value) => ({ key, value });
  const response = await fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [attr('service.name', { stringValue: 'lemma-proxy' })] },
      scopeSpans: [{ scope: { name: 'lemma.proxy' }, spans: [{
        traceId, spanId, name: 'chat gpt-4o-mini', kind: 3,
        startTimeUnixNano: String(now - 2000000000n), endTimeUnixNano: String(now),
        attributes: [
          attr('gen_ai.operation.name', { stringValue: 'chat' }),
          attr('gen_ai.request.model', { stringValue: 'gpt-4o-mini' }),
          attr('gen_ai.response.time_to_first_chunk', { doubleValue: 0.43 }),
          attr('gen_ai.usage.input_tokens', { intValue: '50' }),
        ] }] }] }] }),
  });
  assert.equal(response.status, 200);
  const { page, done } = await open(browser, `/runs/${traceId}?span=${spanId}`);
  const panel = page.getByTestId('span-panel');
  await panel.waitFor({ timeout: 20_000 });
  const row = (label) => panel.locator('dl.panel-kv dt', { hasText: label }).locator('xpath=following-sibling::dd[1]');
  assert.equal(await row('First chunk').textContent(), 'after 430 ms');
  assert.equal(await row('Recorded by').textContent(), "Lemma's LLM proxy");
  await done();
});
