// Alerts in the dashboard, against a real server and a real webhook receiver started here: a
// channel made on the page and its test send (the receiver's answer shown), rules the server
// refuses (its message beside the form, a query's position marked), an each-run rule firing for
// a run whose tool failed three times in a row (the receiver gets it, the history shows it
// delivered and links to the run), a rule switched off and on, a channel in use that cannot be
// deleted, names written as markup kept as text, and a viewer who sees it all read-only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { API_KEY, BASE_URL, assertInert, kv, launch, lemmaCli, open, postSpans, waitForApi } from '../lib/harness.mjs';

const hex = (bytes) => randomBytes(bytes).toString('hex');
const ns = (ms) => String(BigInt(Math.round(ms)) * 1000000n);
const SUFFIX = hex(3);
const HOSTILE = '<img src=x onerror=window.__pwned=9>';
const CHANNEL = `hook ${SUFFIX} ${HOSTILE}`;
const RULE = `streak ${SUFFIX} ${HOSTILE}`;
const AGENT = `alerts_${SUFFIX}`;
const SECRET = `shh-${hex(8)}`;
const VIEWER = `alert-viewer-${SUFFIX}`;
const PASSWORD = `a long enough password ${hex(4)}`;

/** What the receiver was sent: `{path, headers, body}`, oldest first. */
const received = [];
let receiver;
let receiverUrl;
let browser;

before(async () => {
  receiver = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { text += chunk; });
    req.on('end', () => {
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as null: a test looking for a body fails on it
      }
      if (req.method === 'POST') received.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise((resolve) => { receiver.listen(0, '127.0.0.1', resolve); });
  receiverUrl = `http://127.0.0.1:${receiver.address().port}`;
  browser = await launch();
  await lemmaCli(['users', 'create', VIEWER, '--password-stdin'], { input: PASSWORD });
  await lemmaCli(['users', 'grant', VIEWER, '--project', 'default', '--role', 'viewer']);
});

after(async () => {
  // The project is shared with the other specs: leave no rule or channel of this one behind.
  for (const r of (await call('GET', '/alerts/rules')).json?.rules || []) {
    if (r.name.includes(SUFFIX)) await call('DELETE', `/alerts/rules/${r.id}`);
  }
  for (const c of (await call('GET', '/alerts/channels')).json?.channels || []) {
    if (c.name.includes(SUFFIX)) await call('DELETE', `/alerts/channels/${c.id}`);
  }
  await browser?.close();
  await new Promise((resolve) => { receiver?.close(resolve); });
});

async function call(method, path, body) {
  const response = await fetch(new URL(`/api/v1${path}`, BASE_URL), {
    method,
    headers: { Authorization: `Bearer ${API_KEY}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, json: await response.json().catch(() => null) };
}

async function eventually(check, what, tries = 300) {
  for (let i = 0; i < tries; i += 1) {
    const found = await check();
    if (found) return found;
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  throw new Error(`never: ${what}`);
}

async function ruleNamed(name) {
  return (await call('GET', '/alerts/rules')).json.rules.find((r) => r.name === name);
}

async function channelNamed(name) {
  return (await call('GET', '/alerts/channels')).json.channels.find((c) => c.name === name);
}

/** The server's 400 for a rule, asked directly: what the page must show. */
async function refusalOf(rule) {
  const { status, json } = await call('POST', '/alerts/rules', rule);
  assert.equal(status, 400, `the server refuses ${JSON.stringify(rule)}`);
  return json.error.message;
}

function span({ traceId, spanId = hex(8), parentSpanId, name, startMs, durationMs = 100, attributes = [], error }) {
  return {
    traceId, spanId, parentSpanId, name, kind: 1,
    startTimeUnixNano: ns(startMs), endTimeUnixNano: ns(startMs + durationMs),
    attributes,
    status: error ? { code: 2, message: error } : { code: 1 },
  };
}

/** A run of AGENT whose tool failed three times in a row (a critical error_streak). */
async function failingRun() {
  const traceId = hex(16);
  const rootId = hex(8);
  const start = Date.now() - 20_000;
  // Arguments far apart, so the failures are a streak and nothing else.
  const args = [{ order: 'A-100' }, { customer: 'zed@example.com' }, { query: 'late parcels', page: 7 }];
  await postSpans('alerts-test', [
    span({ traceId, spanId: rootId, name: `invoke_agent ${AGENT}`, startMs: start, durationMs: 2000, attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', AGENT)] }),
    ...args.map((a, i) => span({
      traceId, parentSpanId: rootId, name: 'execute_tool lookup_order', startMs: start + 100 + i * 200, error: 'order service timed out',
      attributes: [kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', 'lookup_order'), kv('gen_ai.tool.call.arguments', JSON.stringify(a))],
    })),
  ]);
  return traceId;
}

function ruleRow(page, id) {
  return page.locator(`[data-testid="rule-row"][data-rule-id="${id}"]`);
}

function channelRow(page, id) {
  return page.locator(`[data-testid="channel-row"][data-channel-id="${id}"]`);
}

test('a webhook channel is made on the page, and "Send test" shows what the receiver answered', async () => {
  const { page, done } = await open(browser, '/runs');
  await page.locator('nav[aria-label="Main"] .nav-link', { hasText: 'Alerts' }).click();
  await page.waitForURL(/\/alerts$/);
  await page.getByTestId('channels-table').waitFor();
  assert.equal(await page.locator('.nav-link[aria-current="page"]').textContent(), 'Alerts');

  await page.getByTestId('channel-new').click();
  const editor = page.getByTestId('channel-editor');
  await editor.getByTestId('channel-name-input').fill(CHANNEL);
  await editor.getByTestId('channel-url-input').fill(`${receiverUrl}/hook`);
  await editor.getByTestId('channel-secret-input').fill(SECRET);
  await editor.getByTestId('channel-save').click();
  await editor.waitFor({ state: 'hidden' });

  const channel = await eventually(() => channelNamed(CHANNEL), 'the channel is made');
  assert.deepEqual(channel, { id: channel.id, name: CHANNEL, kind: 'webhook', url: `${receiverUrl}/hook`, signed: true });
  const row = channelRow(page, channel.id);
  assert.equal(await row.getByTestId('channel-name').textContent(), CHANNEL, 'a name written as markup is text');
  assert.equal(await row.getByTestId('channel-kind').textContent(), 'Webhook');
  assert.equal(await row.getByTestId('channel-url').textContent(), `${receiverUrl}/hook`);
  assert.equal(await row.getByTestId('channel-signed').textContent(), 'Signed');
  assert.ok(!(await page.content()).includes(SECRET), 'the secret is not in the page');

  await row.getByTestId('channel-test').click();
  const result = row.getByTestId('channel-test-result');
  await page.waitForFunction((el) => el.dataset.delivered !== undefined, await result.elementHandle());
  assert.equal(await result.textContent(), 'Delivered: the receiver answered HTTP 200.');
  assert.equal(await result.getAttribute('data-delivered'), 'true');
  const test = received.find((r) => r.body?.test === true);
  assert.ok(test, 'the receiver got a test event');
  assert.equal(test.path, '/hook');
  assert.equal(test.body.type, 'alert.firing');
  assert.equal(test.body.event.message, `a test of channel ${JSON.stringify(CHANNEL)} from Lemma`);
  assert.match(test.headers['x-lemma-signature'], /^t=\d+,v1=[0-9a-f]{64}$/, 'signed with the secret');
  await assertInert(page);
  await done();
});

test('a rule the server refuses shows its message beside the form, a bad query marked', async () => {
  const { page, done } = await open(browser, '/alerts');
  await page.getByTestId('rule-new').click();
  const editor = page.getByTestId('rule-editor');
  await editor.getByTestId('rule-name-input').fill(`bad ${SUFFIX}`);
  const query = editor.getByTestId('search-input');
  await query.fill('status:maybe');
  await editor.getByTestId('rule-save').click();
  const expected = await refusalOf({ name: `bad ${SUFFIX}`, query: 'status:maybe', condition: { type: 'each_run' }, channels: [], enabled: true });
  assert.match(expected, /query is invalid at position \d+/);
  const problem = editor.getByTestId('rule-error');
  await problem.filter({ hasText: expected }).waitFor();
  assert.equal(await problem.textContent(), expected);
  // The query box marks where: the same position the server gave.
  const mark = editor.getByTestId('search-error');
  await mark.waitFor();
  assert.equal(await mark.getAttribute('data-position'), /position (\d+)/.exec(expected)[1]);
  assert.equal(await query.getAttribute('aria-invalid'), 'true');

  // A window of 5 s is shorter than the server measures.
  await query.fill('status:error');
  await editor.getByTestId('rule-window').check();
  await editor.getByTestId('rule-measure').selectOption('count');
  await editor.getByTestId('rule-threshold').fill('3');
  await editor.getByTestId('rule-window-amount').fill('5');
  await editor.getByTestId('rule-window-unit').selectOption('s');
  await editor.getByTestId('rule-save').click();
  const short = await refusalOf({ name: `bad ${SUFFIX}`, query: 'status:error', condition: { type: 'window', measure: 'count', op: '>', threshold: 3, window_secs: 5 }, channels: [], enabled: true });
  assert.match(short, /window_secs must be from 10/);
  await problem.filter({ hasText: short }).waitFor();
  assert.equal(await mark.isVisible(), false, 'the query is fine now');

  // A threshold that is no number at all cannot be sent: the page says so itself.
  await editor.getByTestId('rule-threshold').fill('lots');
  await editor.getByTestId('rule-save').click();
  await problem.filter({ hasText: 'The threshold “lots” is not a number.' }).waitFor();

  await editor.getByTestId('rule-cancel').click();
  await editor.waitFor({ state: 'hidden' });
  assert.equal(await ruleNamed(`bad ${SUFFIX}`), undefined, 'nothing was made');
  await done();
});

test('an each-run rule fires for a run with failures in a row: the receiver gets it, the history shows it delivered and links to the run', async () => {
  const channel = await channelNamed(CHANNEL);
  const { page, done } = await open(browser, '/alerts');
  await page.getByTestId('rule-new').click();
  const editor = page.getByTestId('rule-editor');
  await editor.getByTestId('rule-name-input').fill(RULE);
  await editor.getByTestId('search-input').fill(`signal:error_streak agent:${AGENT}`);
  await editor.getByTestId('rule-each-run').check();
  // The channel is offered by its name, as text.
  const box = editor.locator('label', { hasText: CHANNEL }).getByTestId('rule-channel');
  await box.check();
  assert.equal(await box.getAttribute('value'), channel.id);
  await editor.getByTestId('rule-save').click();
  await editor.waitFor({ state: 'hidden' });

  const rule = await eventually(() => ruleNamed(RULE), 'the rule is made');
  assert.deepEqual(rule, { id: rule.id, name: RULE, query: `signal:error_streak agent:${AGENT}`, condition: { type: 'each_run' }, channels: [channel.id], enabled: true });
  const row = ruleRow(page, rule.id);
  assert.equal(await row.getByTestId('rule-name').textContent(), RULE);
  assert.equal(await row.getByTestId('rule-query').textContent(), rule.query);
  assert.equal(await row.getByTestId('rule-condition').textContent(), 'each matching run');
  assert.equal(await row.getByTestId('rule-channels').textContent(), CHANNEL);
  assert.equal(await row.getByTestId('rule-firing-cell').getAttribute('data-count'), '0');

  const runId = await failingRun();
  await waitForApi(`run:${runId} signal:error_streak`, 1);

  // The receiver is told, with the run and the event.
  const sent = await eventually(() => received.find((r) => r.body?.event?.rule_id === rule.id), 'the receiver gets the alert');
  assert.equal(sent.body.type, 'alert.firing');
  assert.equal(sent.body.test, false);
  assert.equal(sent.body.event.run_id, runId);
  assert.equal(sent.body.event.rule_name, RULE);
  assert.equal(sent.body.run.run_id, runId);
  assert.ok(sent.body.signals.some((s) => s.kind === 'error_streak'));

  // The history shows it without a reload, its delivery done, and the rule counts it.
  const event = page.locator(`[data-testid="alert-event"][data-rule-id="${rule.id}"]`);
  await event.waitFor({ timeout: 15000 });
  assert.equal(await event.getAttribute('data-state'), 'firing');
  assert.equal(await event.getByTestId('alert-event-state').textContent(), 'Firing');
  assert.equal(await event.getByTestId('alert-event-rule').textContent(), RULE);
  assert.equal(await event.getByTestId('alert-event-message').textContent(), sent.body.event.message);
  // Pending first, perhaps: the page reads the history again until it is delivered.
  const delivery = event.locator(`[data-testid="alert-delivery"][data-channel-id="${channel.id}"][data-status="delivered"]`);
  await delivery.waitFor({ timeout: 15000 });
  assert.equal(await delivery.textContent(), `delivered ${CHANNEL} 1 attempt · HTTP 200`);
  await row.getByTestId('rule-firing').filter({ hasText: '1 firing' }).waitFor({ timeout: 15000 });

  // Filtering by the rule keeps its events only, and says so in the URL.
  await page.getByTestId('history-rule').selectOption(rule.id);
  await page.waitForURL((url) => url.searchParams.get('rule') === rule.id);
  await event.waitFor();
  assert.deepEqual(await page.getByTestId('alert-event').evaluateAll((rows) => [...new Set(rows.map((r) => r.dataset.ruleId))]), [rule.id]);
  await assertInert(page);

  // The link opens the run.
  await event.getByTestId('alert-event-run').click();
  await page.waitForURL(new RegExp(`/runs/${runId}$`));
  await page.getByTestId('run-title').filter({ hasText: `invoke_agent ${AGENT}` }).waitFor();
  await done();
});

test('a rule and a channel are edited: the form starts from what they are', async () => {
  const name = `window ${SUFFIX}`;
  const { page, done } = await open(browser, '/alerts');
  await page.getByTestId('rule-new').click();
  const editor = page.getByTestId('rule-editor');
  await editor.getByTestId('rule-name-input').fill(name);
  await editor.getByTestId('rule-window').check();
  await editor.getByTestId('rule-measure').selectOption('count');
  await editor.getByTestId('rule-threshold').fill('100000');
  await editor.getByTestId('rule-window-amount').fill('1');
  await editor.getByTestId('rule-window-unit').selectOption('h');
  // Enter in a field saves, as in a form.
  await editor.getByTestId('rule-window-amount').press('Enter');
  await editor.waitFor({ state: 'hidden' });
  const made = await eventually(() => ruleNamed(name), 'the window rule is made');
  assert.deepEqual(made.condition, { type: 'window', measure: 'count', op: '>', threshold: 100000, window_secs: 3600 });
  assert.equal(made.query, '');
  const row = ruleRow(page, made.id);
  assert.equal(await row.getByTestId('rule-condition').textContent(), 'runs > 100,000 over the last 1 h');
  assert.equal(await row.getByTestId('rule-query').textContent(), 'every run');
  assert.equal(await row.getByTestId('rule-channels').textContent(), 'history only');

  await row.getByTestId('rule-edit').click();
  await editor.waitFor();
  assert.equal(await editor.locator('h3').textContent(), `Edit rule “${name}”`);
  assert.equal(await editor.getByTestId('rule-name-input').inputValue(), name);
  assert.equal(await editor.getByTestId('rule-window').isChecked(), true);
  assert.equal(await editor.getByTestId('rule-measure').inputValue(), 'count');
  assert.equal(await editor.getByTestId('rule-threshold').inputValue(), '100000');
  assert.equal(await editor.getByTestId('rule-window-amount').inputValue(), '1');
  assert.equal(await editor.getByTestId('rule-window-unit').inputValue(), 'h');
  await editor.getByTestId('rule-measure').selectOption('error_rate');
  await editor.getByTestId('rule-threshold').fill('0.5');
  await editor.getByTestId('rule-window-amount').fill('30');
  await editor.getByTestId('rule-window-unit').selectOption('min');
  await editor.getByTestId('rule-enabled-input').uncheck();
  await editor.getByTestId('rule-save').click();
  await editor.waitFor({ state: 'hidden' });
  await row.getByTestId('rule-condition').filter({ hasText: 'error rate > 50.0% over the last 30 min' }).waitFor();
  assert.equal(await row.getAttribute('data-enabled'), 'false');
  assert.deepEqual(await ruleNamed(name), {
    id: made.id, name, query: '', channels: [], enabled: false,
    condition: { type: 'window', measure: 'error_rate', op: '>', threshold: 0.5, window_secs: 1800 },
  });

  // A channel's secret is never shown: an edit keeps it unless it is removed.
  const channel = await channelNamed(CHANNEL);
  const channelEditor = page.getByTestId('channel-editor');
  await channelRow(page, channel.id).getByTestId('channel-edit').click();
  assert.equal(await channelEditor.getByTestId('channel-name-input').inputValue(), CHANNEL);
  assert.equal(await channelEditor.getByTestId('channel-url-input').inputValue(), channel.url);
  assert.equal(await channelEditor.getByTestId('channel-secret-input').inputValue(), '');
  await channelEditor.getByTestId('channel-save').click();
  await channelEditor.waitFor({ state: 'hidden' });
  assert.equal((await channelNamed(CHANNEL)).signed, true, 'left empty, the secret stays');
  await channelRow(page, channel.id).getByTestId('channel-edit').click();
  await channelEditor.getByTestId('channel-secret-remove').check();
  await channelEditor.getByTestId('channel-save').click();
  await channelRow(page, channel.id).getByTestId('channel-signed').filter({ hasText: 'No' }).waitFor();
  assert.equal((await channelNamed(CHANNEL)).signed, false);
  await assertInert(page);
  await done();
});

test('a rule is switched off and on from the list', async () => {
  const rule = await ruleNamed(RULE);
  const { page, done } = await open(browser, '/alerts');
  const row = ruleRow(page, rule.id);
  const toggle = row.getByTestId('rule-enabled');
  await toggle.waitFor();
  assert.equal(await toggle.isChecked(), true);
  await toggle.uncheck();
  await eventually(async () => (await ruleNamed(RULE)).enabled === false, 'the rule is off');
  await page.waitForFunction((el) => el.dataset.enabled === 'false' && !el.querySelector('[data-testid="rule-enabled"]').disabled, await row.elementHandle());
  assert.match(await page.getByTestId('rules-status').textContent(), /is off: it raises no events until it is on again\.$/);
  // The rule is otherwise as it was.
  assert.deepEqual(await ruleNamed(RULE), { ...rule, enabled: false });

  await page.reload();
  await toggle.waitFor();
  assert.equal(await toggle.isChecked(), false, 'kept by the server');
  await toggle.check();
  await eventually(async () => (await ruleNamed(RULE)).enabled === true, 'the rule is on again');
  await page.waitForFunction((el) => el.dataset.enabled === 'true', await row.elementHandle());
  await done();
});

test('a viewer sees rules, channels and history, with no control to change them', async () => {
  const rule = await ruleNamed(RULE);
  const channel = await channelNamed(CHANNEL);
  const { page, done } = await open(browser, '/alerts', { signedIn: false });
  await page.waitForURL(/\/signin/);
  await page.getByTestId('username').fill(VIEWER);
  await page.getByTestId('password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/alerts$/);
  await ruleRow(page, rule.id).waitFor();
  assert.equal(await page.getByTestId('alerts-locked').textContent(),
    'You are a viewer of “default”: only an admin can change its alerts. They are shown here as they are set.');
  assert.equal(await ruleRow(page, rule.id).getByTestId('rule-name').textContent(), RULE);
  assert.equal(await channelRow(page, channel.id).getByTestId('channel-name').textContent(), CHANNEL);
  assert.equal(await ruleRow(page, rule.id).getByTestId('rule-enabled').isDisabled(), true);
  for (const id of ['rule-new', 'rule-edit', 'rule-delete', 'channel-new', 'channel-edit', 'channel-delete', 'channel-test']) {
    assert.equal(await page.getByTestId(id).count(), 0, `no ${id} for a viewer`);
  }
  await page.locator(`[data-testid="alert-event"][data-rule-id="${rule.id}"]`).first().waitFor({ timeout: 15000 });
  await assertInert(page);
  await done();
});

test('a channel a rule notifies cannot be deleted, the refusal names the rule; deleting the rule first lets it go', async () => {
  const rule = await ruleNamed(RULE);
  const channel = await channelNamed(CHANNEL);
  const expected = `rule ${JSON.stringify(RULE)} notifies this channel: take it out of the rule first`;
  const { page, done } = await open(browser, '/alerts');
  await channelRow(page, channel.id).getByTestId('channel-delete').click();
  let dialog = page.getByTestId('channel-delete-dialog');
  assert.ok((await dialog.textContent()).includes(`Delete the channel “${CHANNEL}”?`));
  await dialog.getByTestId('channel-delete-confirm').click();
  const note = dialog.getByTestId('channel-delete-status');
  await note.filter({ hasText: expected }).waitFor();
  assert.equal(await note.textContent(), expected);
  assert.equal(await note.getAttribute('role'), 'alert');
  await assertInert(page);
  await dialog.getByTestId('channel-delete-cancel').click();
  await dialog.waitFor({ state: 'detached' });
  assert.ok(await channelNamed(CHANNEL), 'the channel stays');
  assert.equal(await channelRow(page, channel.id).count(), 1);

  // The rule goes, after a confirmation; its events stay in the history.
  await ruleRow(page, rule.id).getByTestId('rule-delete').click();
  dialog = page.getByTestId('rule-delete-dialog');
  await dialog.getByTestId('rule-delete-confirm').click();
  await dialog.waitFor({ state: 'detached' });
  await ruleRow(page, rule.id).waitFor({ state: 'detached' });
  assert.equal(await ruleNamed(RULE), undefined);
  await page.locator(`[data-testid="alert-event"][data-rule-id="${rule.id}"]`).first().waitFor();

  // Now the channel can go.
  await channelRow(page, channel.id).getByTestId('channel-delete').click();
  dialog = page.getByTestId('channel-delete-dialog');
  await dialog.getByTestId('channel-delete-confirm').click();
  await dialog.waitFor({ state: 'detached' });
  await channelRow(page, channel.id).waitFor({ state: 'detached' });
  assert.equal(await channelNamed(CHANNEL), undefined);
  await done();
});
