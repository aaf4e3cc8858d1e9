// Ingestion health: real OTLP sent the way broken apps send it (a child whose parent never
// arrives, one model call recorded by two instrumentations, spans exported minutes after they
// ended, a malformed body, a wrong key), then /health must say what went wrong, link to an
// example and say how to fix it; senders' text (span and service names, refusal messages) stays
// text.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, API_KEY, assertInert, BASE_URL, kv, launch, open, postSpans } from '../lib/harness.mjs';
import { exampleHref, plural, problemCounts } from '../../../web/js/views/health-data.js';

const IMG = '<img src=x onerror=window.__pwned=1>';
const EMPTY_KEY = process.env.LEMMA_EMPTY_KEY;
const MINUTE_NS = 60_000_000_000n;

const tag = randomBytes(4).toString('hex');
const hex = (n) => randomBytes(n).toString('hex');
const SERVICES = {
  orphan: `health <b>${IMG}</b> ${tag}`,
  duplicate: `health-assistant-${tag}`,
  late: `health-batch-${tag}`,
};

let browser;
let orphan; // {trace, span}: a span whose parent never arrives
let duplicate; // {trace, inner}: a model call inside the same model call
let late; // {trace, spans}: spans exported 10 minutes after they ended
let lateBefore; // late spans the server had counted before ours
let malformed; // the server's message for a body that is not JSON
let wrongKey; // the status answered to a wrong key

before(async () => {
  browser = await launch();
  lateBefore = problemOf(await api('/ingestion'), 'late_spans')?.count ?? 0;
  const now = BigInt(Date.now()) * 1_000_000n;
  const at = (ms) => String(now + BigInt(ms) * 1_000_000n);

  orphan = { trace: hex(16), span: hex(8), parent: hex(8) };
  await postSpans(SERVICES.orphan, [{
    traceId: orphan.trace, spanId: orphan.span, parentSpanId: orphan.parent, name: `${IMG} worker job ${tag}`,
    kind: 1, startTimeUnixNano: at(-1500), endTimeUnixNano: at(-1000),
  }]);

  duplicate = { trace: hex(16), root: hex(8), outer: hex(8), inner: hex(8) };
  const call = [
    kv('gen_ai.operation.name', 'chat'), kv('gen_ai.request.model', 'gpt-4o-mini'),
    { key: 'gen_ai.usage.input_tokens', value: { intValue: '120' } },
    { key: 'gen_ai.usage.output_tokens', value: { intValue: '30' } },
  ];
  await postSpans(SERVICES.duplicate, [
    { traceId: duplicate.trace, spanId: duplicate.root, name: 'assistant turn', kind: 1, startTimeUnixNano: at(-1400), endTimeUnixNano: at(-900) },
    { traceId: duplicate.trace, spanId: duplicate.outer, parentSpanId: duplicate.root, name: 'chat gpt-4o-mini', kind: 3, startTimeUnixNano: at(-1300), endTimeUnixNano: at(-1000), attributes: call },
    { traceId: duplicate.trace, spanId: duplicate.inner, parentSpanId: duplicate.outer, name: 'openai.chat', kind: 3, startTimeUnixNano: at(-1250), endTimeUnixNano: at(-1050), attributes: call },
  ]);

  // A complete run (it has its root) that the exporter held for 10 minutes.
  const ended = now - 10n * MINUTE_NS;
  late = { trace: hex(16), root: hex(8), step: hex(8) };
  await postSpans(SERVICES.late, [
    { traceId: late.trace, spanId: late.root, name: 'nightly batch', kind: 1, startTimeUnixNano: String(ended - 2_000_000_000n), endTimeUnixNano: String(ended) },
    { traceId: late.trace, spanId: late.step, parentSpanId: late.root, name: 'item 0', kind: 1, startTimeUnixNano: String(ended - 1_000_000_000n), endTimeUnixNano: String(ended - 500_000_000n) },
  ]);

  const refused = await send('{not json', API_KEY);
  assert.equal(refused.status, 400, 'a malformed body is refused');
  malformed = (await refused.json()).message;
  assert.ok(malformed, 'the refusal says why');
  wrongKey = (await send('{}', `lm_wrong-${tag}`)).status;
  assert.equal(wrongKey, 401, 'a wrong key is refused');

  await waitForRun(orphan.trace, 1);
  await waitForRun(duplicate.trace, 3);
  await waitForRun(late.trace, 2);
  await waitForHealth((h) => problemOf(h, 'missing_parent') && problemOf(h, 'duplicate_call')
    && (problemOf(h, 'late_spans')?.count ?? 0) >= lateBefore + 2);
});
after(async () => { await browser?.close(); });

function send(body, key) {
  return fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body,
  });
}

function problemOf(health, kind) {
  return health.problems.find((p) => p.problem === kind);
}

async function waitForRun(runId, spans) {
  for (let i = 0; i < 100; i += 1) {
    const response = await fetch(new URL(`/api/v1/runs/${runId}`, BASE_URL), { headers: { Authorization: `Bearer ${API_KEY}` } });
    if (response.status === 200 && (await response.json()).run.span_count === spans) return;
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  throw new Error(`run ${runId} never had ${spans} spans`);
}

async function waitForHealth(ready) {
  for (let i = 0; i < 100; i += 1) {
    const health = await api('/ingestion');
    if (ready(health)) return health;
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  throw new Error('the ingestion health never showed the problems sent');
}

/** A page signed in to the project that has no runs. */
async function openEmpty(path) {
  const opened = await open(browser, '/signin', { signedIn: false });
  await opened.page.evaluate((key) => {
    sessionStorage.setItem('lemma.apiKey', key);
    sessionStorage.setItem('lemma.project', 'empty');
  }, EMPTY_KEY);
  await opened.page.goto(path);
  return opened;
}

function card(page, kind) {
  return page.locator(`[data-testid="problem"][data-problem="${kind}"]`);
}

async function text(locator) {
  return (await locator.textContent()).trim();
}

test('each problem is a card with its counts, an example run and the fix', async () => {
  const health = await api('/ingestion');
  const { page, done } = await open(browser, '/health');
  await page.getByTestId('health-problems').waitFor();
  assert.equal(await page.title(), 'Ingestion health · Lemma');
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Ingestion health');
  assert.match(await text(page.getByTestId('health-summary-title')),
    new RegExp(`^${health.problems.length} problems? found in the (\\d+ )?newest runs? of the last 24 hours$`));
  assert.equal(await page.getByTestId('problem').count(), health.problems.length);
  assert.deepEqual(await page.getByTestId('problem-title').allTextContents(), health.problems.map((p) => p.title), 'the most frequent first, as the API has them');

  // The span whose parent never arrived: our run is the newest with one.
  const missing = problemOf(health, 'missing_parent');
  assert.equal(missing.example.run_id, orphan.trace);
  const missingCard = card(page, 'missing_parent');
  assert.equal(await text(missingCard.getByTestId('problem-title')), 'Spans whose parent never arrived');
  assert.equal(await text(missingCard.getByTestId('problem-counts')), problemCounts(missing));
  const detail = await text(missingCard.getByTestId('problem-detail'));
  assert.equal(detail, missing.example.detail);
  assert.ok(detail.includes(`${IMG} worker job ${tag}`) && detail.includes(orphan.parent), detail);
  assert.equal(await missingCard.getByTestId('problem-example').getAttribute('href'), `/runs/${orphan.trace}?span=${orphan.span}`);
  assert.match(await text(missingCard.getByTestId('problem-fix')), /traceparent/);

  const twice = problemOf(health, 'duplicate_call');
  assert.equal(twice.example.run_id, duplicate.trace);
  const twiceCard = card(page, 'duplicate_call');
  assert.equal(await text(twiceCard.getByTestId('problem-title')), 'Model calls recorded twice');
  assert.equal(await text(twiceCard.getByTestId('problem-counts')), problemCounts(twice));
  assert.match(await text(twiceCard.getByTestId('problem-detail')), /"openai\.chat" and its parent "chat gpt-4o-mini" record one gpt-4o-mini call \(120 in, 30 out tokens\)/);
  assert.equal(await twiceCard.getByTestId('problem-example').getAttribute('href'), `/runs/${duplicate.trace}?span=${duplicate.inner}`);
  assert.match(await text(twiceCard.getByTestId('problem-fix')), /instrumentation/);

  // Late spans are counted as they arrive; the example is the latest of all (the fixtures, sent
  // long after they were recorded, may beat ours).
  const lateSpans = problemOf(health, 'late_spans');
  assert.ok(lateSpans.count >= lateBefore + 2, 'our two spans are counted');
  const lateCard = card(page, 'late_spans');
  assert.equal(await text(lateCard.getByTestId('problem-title')), 'Spans that arrived minutes after they ended');
  assert.equal(await text(lateCard.getByTestId('problem-counts')), `${plural(lateSpans.count, 'span')} since this server started`);
  assert.equal(await lateCard.getByTestId('problem-example').getAttribute('href'), exampleHref(lateSpans.example));
  assert.match(await text(lateCard.getByTestId('problem-detail')), /arrived \d+ (minutes|hours|days) after it ended/);
  assert.match(await text(lateCard.getByTestId('problem-fix')), /OTEL_BSP_SCHEDULE_DELAY/);
  await assertInert(page);

  // The example opens its run on the span.
  await missingCard.getByTestId('problem-example').click();
  await page.waitForURL(new RegExp(`/runs/${orphan.trace}\\?span=${orphan.span}$`));
  await page.getByTestId('span-panel').waitFor();
  await assertInert(page);
  await done();
});

test('the services table lists each sender, its last span and its rates, names as text', async () => {
  const health = await api('/ingestion');
  const { page, done } = await open(browser, '/health');
  const table = page.getByTestId('services-table');
  await table.waitFor();
  assert.deepEqual(await table.locator('thead th').allTextContents(), ['Service', 'Last seen', 'Last minute', 'Last hour', 'Total']);
  const names = await table.getByTestId('service-name').allTextContents();
  assert.deepEqual(names, health.services.map((s) => s.service), 'the most recently seen first');
  for (const [service, spans] of [[SERVICES.orphan, 1], [SERVICES.duplicate, 3], [SERVICES.late, 2]]) {
    assert.ok(names.includes(service), `${service} is listed as text`);
    const row = table.getByTestId('service-row').filter({ has: page.getByRole('rowheader', { name: service, exact: true }) });
    assert.equal(await text(row.getByTestId('service-total')), String(spans));
    assert.equal(await text(row.getByTestId('service-hour')), String(spans));
    assert.ok(['0', String(spans)].includes(await text(row.getByTestId('service-minute'))), 'sent this minute, or the last');
    const seen = row.getByTestId('service-last-seen').locator('time');
    assert.match(await text(seen), /^(just now|\d+ s ago|\d+ min ago)$/);
    assert.ok(await seen.getAttribute('title'), 'the exact time on hover');
  }
  assert.match(await text(page.getByTestId('health-since')), /since it started/);
  await assertInert(page);

  // Refresh asks again: a service that starts sending now appears without reloading the page.
  const fresh = `health-fresh-${tag}`;
  await postSpans(fresh, [{ traceId: hex(16), spanId: hex(8), name: 'ping', kind: 1, startTimeUnixNano: String(BigInt(Date.now() - 5) * 1_000_000n), endTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n) }]);
  await waitForHealth((h) => h.services.some((s) => s.service === fresh));
  await page.getByTestId('health-refresh').click();
  await table.getByRole('rowheader', { name: fresh, exact: true }).waitFor();
  await done();
});

test("refused requests show the reason, the server's message and the requests without a valid key", async () => {
  const health = await api('/ingestion');
  const { page, done } = await open(browser, '/health');
  const recent = page.getByTestId('refused-recent');
  await recent.waitFor();
  assert.equal(await text(page.getByTestId('refused-total')), `${plural(health.refused.total, 'request')} refused or stored in part`);

  const bad = health.refused.by_reason.find((r) => r.reason === 'bad_request');
  const reason = page.getByTestId('refused-reason').and(page.locator('[data-reason="bad_request"]'));
  assert.match(await text(reason.locator('th')), /^Malformed request\s+bad_request$/);
  assert.equal(await text(reason.getByTestId('refused-reason-count')), String(bad.count));

  const row = recent.getByTestId('refused-row').and(page.locator('[data-reason="bad_request"]')).first();
  assert.equal(await text(row.getByTestId('refused-message')), malformed);
  assert.equal(await text(row.getByTestId('refused-status')), '400');
  assert.equal(await text(row.getByTestId('refused-via')), 'HTTP · traces');
  assert.equal(await text(row.getByTestId('refused-reason-label')), 'Malformed request');
  assert.equal(await text(row.getByTestId('refused-rejected')), '—');
  assert.match(await text(row.getByTestId('refused-at')), /^(just now|\d+ s ago|\d+ min ago)$/);

  // The wrong key reached no project: counted for the whole server, with a hint.
  const unauthenticated = health.refused.unauthenticated.reduce((sum, r) => sum + r.count, 0);
  assert.ok(unauthenticated >= 1, 'the wrong key is counted');
  const section = page.getByTestId('health-unauthenticated');
  assert.equal(await text(section.getByTestId('unauthenticated-total')), `${plural(unauthenticated, 'request')} refused`);
  assert.match(await text(section), /wrong or revoked/);
  assert.match(await text(section), /belong to no project/);
  const unauthorized = section.getByTestId('unauthenticated-reason').and(page.locator('[data-reason="unauthorized"]'));
  assert.equal(await text(unauthorized.getByTestId('unauthenticated-reason-count')), String(health.refused.unauthenticated.find((r) => r.reason === 'unauthorized').count));
  await assertInert(page);
  await done();
});

test('the nav has Health after Stats, and marks it on the page', async () => {
  const { page, done } = await open(browser, '/runs');
  const links = page.locator('nav[aria-label="Main"] .nav-link');
  await links.first().waitFor();
  const labels = await links.allTextContents();
  assert.equal(labels.indexOf('Health'), labels.indexOf('Stats') + 1);
  await links.filter({ hasText: 'Health' }).click();
  await page.waitForURL(/\/health$/);
  await page.getByTestId('health-summary-title').waitFor();
  assert.equal(await page.locator('.nav-link[aria-current="page"]').textContent(), 'Health');
  await done();
});

test('a fresh project: nothing to check, no senders yet (with the way to send), no refusals', async () => {
  assert.ok(EMPTY_KEY, 'LEMMA_EMPTY_KEY names a project without runs');
  const { page, done } = await openEmpty('/health');
  await page.getByTestId('health-summary-title').waitFor();
  assert.equal(await text(page.getByTestId('health-summary-title')), 'No runs in the last 24 hours to check');
  await page.getByTestId('problems-none').waitFor();
  assert.equal(await page.getByTestId('problem').count(), 0);
  assert.equal(await page.getByTestId('services-table').count(), 0);
  const empty = page.getByTestId('health-services').getByTestId('empty');
  assert.match(await text(empty), /No spans received yet/);
  assert.match(await text(page.getByTestId('refused-none')), /No request of this project was refused/);
  // Requests without a valid key belong to no project: a fresh project sees the server's count.
  const ours = (await api('/ingestion')).refused.unauthenticated.reduce((sum, r) => sum + r.count, 0);
  assert.equal(await text(page.getByTestId('unauthenticated-total')), `${plural(ours, 'request')} refused`);
  await assertInert(page);

  const send = empty.getByTestId('health-send-traces');
  assert.equal(await text(send), 'Send traces');
  await send.click();
  await page.waitForURL(/\/welcome$/);
  await page.getByTestId('welcome').waitFor();
  await done();
});
