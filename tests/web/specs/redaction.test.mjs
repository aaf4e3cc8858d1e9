// Redaction on the settings page: previewing rules on the newest spans (which stores nothing),
// saving them and seeing a run sent afterwards arrive without its secrets (in the API and on the
// run page), the server's own message for a rule it refuses (and nothing saved), the counts of
// the last 30 days, and preview examples that carry markup staying text. The spec sends its own
// runs under agent names of its own, and turns redaction off again at the end, since the other
// specs send data to the same project.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { API_KEY, BASE_URL, api, assertInert, kv, launch, open, postSpans, waitForApi } from '../lib/harness.mjs';

const hex = (bytes) => randomBytes(bytes).toString('hex');
const TAG = hex(4);
const IMG = '<img src=x onerror=window.__pwned=1>';
const EMAIL = `ada.${TAG}@example.com`;
const CARD = '4111 1111 1111 1111';
const COOKIE = `cookie-${TAG}`;
const MARKER = `marker-${TAG}`;
const OFF = { detectors: [], patterns: [], drop_keys: [] };

let browser;
const runs = {};
before(async () => {
  browser = await launch();
  assert.equal((await putRules({})).status, 200, 'redaction starts off');
  runs.a = await postRun(`redaction-a-${TAG}`, {
    'customer.email': `reach me at ${EMAIL} please`,
    'payment.card': CARD,
    'internal.session_cookie': COOKIE,
  });
  runs.hostile = await postRun(`redaction-h-${TAG}`, { note: `${IMG} ${MARKER}` }, { childName: IMG });
  await waitForApi(`agent:redaction-a-${TAG}`, 1);
  await waitForApi(`agent:redaction-h-${TAG}`, 1);
});
after(async () => {
  await putRules({}); // the other specs expect their data stored as sent
  await browser?.close();
});

async function call(method, path, body) {
  const response = await fetch(new URL(`/api/v1${path}`, BASE_URL), {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

const putRules = (rules) => call('PUT', '/project/redaction', rules);

/** A run of `agent`: a root span with `input`, and a child span with `attributes`. */
async function postRun(agent, attributes, { input = 'hello', childName = 'lookup customer' } = {}) {
  const traceId = hex(16);
  const rootId = hex(8);
  const childId = hex(8);
  const ns = (ms) => String(BigInt(Math.round(ms)) * 1000000n);
  const start = Date.now() - 1000;
  await postSpans('redaction-tests', [
    {
      traceId, spanId: rootId, name: `invoke_agent ${agent}`, kind: 1,
      startTimeUnixNano: ns(start), endTimeUnixNano: ns(start + 500),
      attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', agent), kv('lemma.input', input)],
      status: { code: 1 },
    },
    {
      traceId, spanId: childId, parentSpanId: rootId, name: childName, kind: 1,
      startTimeUnixNano: ns(start + 10), endTimeUnixNano: ns(start + 100),
      attributes: Object.entries(attributes).map(([k, v]) => kv(k, v)),
    },
  ]);
  return { traceId, rootId, childId };
}

async function openSettings() {
  const opened = await open(browser, '/settings');
  await opened.page.getByTestId('redaction-form').waitFor();
  return opened;
}

/** The preview's examples as the page shows them. */
function examples(page) {
  return page.$$eval('[data-testid="redaction-example"]', (rows) => rows.map((row) => {
    const cell = (id) => row.querySelector(`[data-testid="${id}"]`);
    return {
      href: cell('redaction-example-run').getAttribute('href'),
      span: cell('redaction-example-run').textContent,
      field: cell('redaction-example-field').textContent,
      before: cell('redaction-example-before').textContent,
      after: cell('redaction-example-after').textContent,
    };
  }));
}

async function preview(page) {
  await page.getByTestId('redaction-preview-run').click();
  await page.waitForFunction(() => /would|nothing/.test(document.querySelector('[data-testid="redaction-preview-summary"]').textContent)
    || document.querySelector('[data-testid="redaction-error"]').textContent !== '');
}

async function addKey(page, key) {
  await page.getByTestId('redaction-key-add').click();
  const input = page.getByTestId('redaction-key-input').last();
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'redaction-key-input', 'a new row takes the focus');
  await input.fill(key);
}

async function addPattern(page, name, regex) {
  await page.getByTestId('redaction-pattern-add').click();
  await page.getByTestId('redaction-pattern-name').last().fill(name);
  await page.getByTestId('redaction-pattern-regex').last().fill(regex);
}

test('a preview shows what the rules would change in the newest spans, and stores nothing', async () => {
  const { page, done } = await openSettings();
  const answer = await api('/project/redaction');
  assert.deepEqual(answer.rules, OFF);
  // A checkbox per built-in detector, labelled with its description.
  for (const d of answer.detectors) {
    const box = page.getByTestId(`redaction-detector-${d.name}`);
    assert.equal(await box.isChecked(), false);
    assert.equal(await page.getByLabel(d.description).getAttribute('data-testid'), `redaction-detector-${d.name}`);
  }
  assert.deepEqual(answer.detectors.map((d) => d.name).sort(), ['card', 'email', 'phone', 'secret']);
  assert.match(await page.getByTestId('redaction-form').textContent(), /data already stored is not changed/);

  await page.getByTestId('redaction-detector-email').check();
  await page.getByTestId('redaction-detector-card').check();
  await addKey(page, 'internal.session_*');
  await preview(page);
  const summary = await page.getByTestId('redaction-preview-summary').textContent();
  const wanted = await call('POST', '/project/redaction/preview', { detectors: ['email', 'card'], drop_keys: ['internal.session_*'] });
  assert.equal(wanted.status, 200);
  assert.equal(summary, `These rules would change ${wanted.json.spans_changed} of the ${wanted.json.spans_checked} newest spans.`);
  assert.ok(wanted.json.spans_changed >= 1);

  const shown = await examples(page);
  const href = `/runs/${runs.a.traceId}?span=${runs.a.childId}`;
  const of = (field) => shown.find((e) => e.href === href && e.field === field);
  assert.deepEqual(of('attributes.customer.email'), {
    href, span: 'lookup customer', field: 'attributes.customer.email',
    before: `reach me at ${EMAIL} please`, after: 'reach me at [REDACTED:email] please',
  });
  assert.equal(of('attributes.payment.card').before, CARD);
  assert.equal(of('attributes.payment.card').after, '[REDACTED:card]');
  assert.equal(of('attributes.internal.session_cookie').before, COOKIE);
  assert.equal(of('attributes.internal.session_cookie').after, 'dropped', 'a dropped key has no value after');
  const counts = await page.$$eval('[data-testid="redaction-preview-count"]', (items) => items.map((i) => [i.dataset.rule, i.textContent]));
  for (const { rule, count } of wanted.json.counts) {
    assert.ok(counts.some(([r, text]) => r === rule && text.endsWith(` ${count}`)), `the count of ${rule}: ${JSON.stringify(counts)}`);
  }
  assert.ok(counts.some(([r, text]) => r === 'drop_keys' && text.startsWith('dropped keys ')));

  // The example links to the span in its run.
  await page.locator(`[data-testid="redaction-example-run"][href="${href}"]`).first().click();
  await page.getByTestId('span-panel').waitFor();
  assert.equal(new URL(page.url()).pathname, `/runs/${runs.a.traceId}`);
  assert.deepEqual((await api('/project/redaction')).rules, OFF, 'a preview saves nothing');
  const stored = JSON.stringify(await api(`/runs/${runs.a.traceId}`));
  assert.ok(stored.includes(EMAIL) && stored.includes(COOKIE), 'nor changes stored data');
  await assertInert(page);
  await done();
});

test('saved rules redact a run sent afterwards, in the API and on the run page', async () => {
  const { page, done } = await openSettings();
  for (const name of ['secret', 'email', 'card']) await page.getByTestId(`redaction-detector-${name}`).check();
  await addKey(page, 'internal.session_*');
  await page.getByTestId('redaction-save').click();
  const saved = page.getByTestId('redaction-saved');
  await page.waitForFunction(() => document.querySelector('[data-testid="redaction-saved"]').textContent !== '');
  const { rules } = await api('/project/redaction');
  assert.deepEqual([...rules.detectors].sort(), ['card', 'email', 'secret']);
  assert.deepEqual(rules.patterns, []);
  assert.deepEqual(rules.drop_keys, ['internal.session_*']);
  assert.equal(await saved.textContent(), `Saved: ${rules.detectors.join(', ')}, 1 dropped key. They apply to data that arrives from now on.`);
  assert.equal(await page.getByTestId('redaction-error').textContent(), '');

  await page.reload();
  await page.getByTestId('redaction-form').waitFor();
  for (const name of ['secret', 'email', 'card']) assert.equal(await page.getByTestId(`redaction-detector-${name}`).isChecked(), true);
  assert.equal(await page.getByTestId('redaction-detector-phone').isChecked(), false);
  assert.deepEqual(await page.getByTestId('redaction-key-input').evaluateAll((inputs) => inputs.map((i) => i.value)), ['internal.session_*']);
  await done();

  const email = `bob.${TAG}@example.com`;
  const key = `sk-proj-${hex(16)}`;
  const password = `hunter2-${TAG}`;
  const secrets = [email, CARD, key, password, COOKIE];
  const agent = `redaction-b-${TAG}`;
  const run = await postRun(agent, {
    'customer.email': email,
    'payment.card': `card ${CARD}`,
    'auth.note': `password=${password}`,
    'internal.session_cookie': COOKIE,
    'internal.session_id': COOKIE,
  }, { input: `Hi, I am ${email}; my key is ${key}` });
  await waitForApi(`agent:${agent}`, 1);

  const body = await api(`/runs/${run.traceId}`);
  const text = JSON.stringify(body);
  for (const secret of secrets) assert.ok(!text.includes(secret), `the API never returns ${secret}`);
  for (const placeholder of ['[REDACTED:email]', '[REDACTED:card]', '[REDACTED:secret]']) assert.ok(text.includes(placeholder), placeholder);
  const child = body.spans.find((s) => s.span_id === run.childId);
  assert.equal(child.attributes['customer.email'], '[REDACTED:email]');
  assert.equal(child.attributes['payment.card'], 'card [REDACTED:card]');
  assert.equal(child.attributes['auth.note'], 'password=[REDACTED:secret]');
  assert.deepEqual(Object.keys(child.attributes).filter((k) => k.startsWith('internal.')), [], 'dropped keys are gone, prefix included');

  const opened = await open(browser, `/runs/${run.traceId}?span=${run.childId}`);
  const attrs = opened.page.getByTestId('attr-table');
  await attrs.waitFor();
  assert.equal(await opened.page.getByTestId('run-input').textContent().then((t) => t.includes('Hi, I am [REDACTED:email]; my key is [REDACTED:secret]')), true);
  const attrText = await attrs.textContent();
  for (const placeholder of ['[REDACTED:email]', 'card [REDACTED:card]', 'password=[REDACTED:secret]']) assert.ok(attrText.includes(placeholder), placeholder);
  assert.ok(!attrText.includes('internal.session'), 'no dropped key on the page');
  const pageText = await opened.page.evaluate(() => document.body.innerText);
  for (const secret of secrets) assert.ok(!pageText.includes(secret), `the run page never shows ${secret}`);
  await opened.done();
});

test('the counts of the last 30 days are shown as the API gives them', async () => {
  // The server writes counts every 10 seconds.
  let answer;
  for (let i = 0; i < 60; i += 1) {
    answer = await api('/project/redaction');
    if (['email', 'card', 'secret', 'drop_keys'].every((rule) => answer.counts.by_rule.some((c) => c.rule === rule))) break;
    await new Promise((resolve) => { setTimeout(resolve, 500); });
  }
  assert.ok(answer.counts.total >= 6, `the run sent under the rules was counted: ${JSON.stringify(answer.counts)}`);
  const { page, done } = await openSettings();
  const counts = page.getByTestId('redaction-counts');
  assert.equal(await counts.getByTestId('redaction-total').textContent(), `${answer.counts.total.toLocaleString('en-US')} redactions`);
  const shown = await page.$$eval('[data-testid="redaction-count"]', (items) => items.map((i) => [i.dataset.rule, i.textContent]));
  assert.deepEqual(shown.map(([rule]) => rule).sort(), answer.counts.by_rule.map((c) => c.rule).sort());
  for (const { rule, count } of answer.counts.by_rule) {
    const label = rule === 'drop_keys' ? 'dropped keys' : rule;
    assert.ok(shown.some(([r, text]) => r === rule && text === `${label} ${count.toLocaleString('en-US')}`), rule);
  }
  const today = answer.counts.by_day.map((c) => c.day).sort().at(-1);
  const firstRow = await page.locator('[data-testid="redaction-days"] tbody tr').first().locator('th').textContent();
  assert.equal(firstRow, today, 'the newest day first');
  await assertInert(page);
  await done();
});

test('a rule the server refuses shows its message, and nothing is saved', async () => {
  const { page, done } = await openSettings();
  const before = (await api('/project/redaction')).rules;
  await addPattern(page, 'broken', '(unclosed');
  const refused = await putRules({ ...before, patterns: [{ name: 'broken', regex: '(unclosed' }] });
  assert.equal(refused.status, 400);
  assert.match(refused.json.error.message, /^pattern "broken": regex parse error/);

  const error = page.getByTestId('redaction-error');
  await page.getByTestId('redaction-save').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="redaction-error"]').textContent !== '');
  assert.equal(await error.textContent(), refused.json.error.message, 'the server\'s own message');
  assert.equal(await page.getByTestId('redaction-saved').textContent(), '');
  assert.deepEqual((await api('/project/redaction')).rules, before, 'nothing was saved');

  // A preview of the same rules says the same, and shows no result.
  await preview(page);
  assert.equal(await error.textContent(), refused.json.error.message);
  assert.equal(await page.getByTestId('redaction-example').count(), 0);

  // A malformed name: the server's words again.
  await page.getByTestId('redaction-pattern-name').last().fill('Bad Name');
  await page.getByTestId('redaction-pattern-regex').last().fill('x+');
  const badName = await putRules({ ...before, patterns: [{ name: 'Bad Name', regex: 'x+' }] });
  assert.equal(badName.status, 400);
  await page.getByTestId('redaction-save').click();
  await page.waitForFunction((message) => document.querySelector('[data-testid="redaction-error"]').textContent === message, badName.json.error.message);
  assert.deepEqual((await api('/project/redaction')).rules, before, 'still nothing saved');

  // Removing the row takes it out of the rules: saving works again, and the error goes.
  await page.getByTestId('redaction-pattern-remove').click();
  assert.equal(await page.getByTestId('redaction-pattern').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'redaction-pattern-add', 'the focus stays in the list');
  await page.getByTestId('redaction-save').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="redaction-saved"]').textContent !== '');
  assert.equal(await error.textContent(), '');
  assert.deepEqual((await api('/project/redaction')).rules, before);
  await done();
});

test('markup in a preview example stays text, and redaction can be turned off', async () => {
  const { page, done } = await openSettings();
  const name = `marker_${TAG}`;
  await addPattern(page, name, `marker-${TAG}`);
  await preview(page);
  const shown = await examples(page);
  const href = `/runs/${runs.hostile.traceId}?span=${runs.hostile.childId}`;
  const example = shown.find((e) => e.href === href && e.field === 'attributes.note');
  assert.deepEqual(example, {
    href, span: IMG, field: 'attributes.note', before: `${IMG} ${MARKER}`, after: `${IMG} [REDACTED:${name}]`,
  });
  assert.equal(await page.locator('[data-testid="redaction-example"] img').count(), 0);
  await assertInert(page);

  // Changing the rules marks the preview as out of date.
  assert.equal(await page.getByTestId('redaction-preview-stale').isVisible(), false);
  await page.getByTestId('redaction-detector-phone').check();
  assert.equal(await page.getByTestId('redaction-preview-stale').isVisible(), true);

  // Everything unticked and removed: redaction off.
  for (const d of ['secret', 'email', 'card', 'phone']) await page.getByTestId(`redaction-detector-${d}`).uncheck();
  await page.getByTestId('redaction-pattern-remove').click();
  await page.getByTestId('redaction-key-remove').click();
  await page.getByTestId('redaction-save').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="redaction-saved"]').textContent !== '');
  assert.equal(await page.getByTestId('redaction-saved').textContent(), 'Saved: redaction is off.');
  assert.deepEqual((await api('/project/redaction')).rules, OFF);
  await done();
});
