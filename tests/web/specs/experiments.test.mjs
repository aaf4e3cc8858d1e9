// Datasets and experiments in the dashboard, against a real server fed over OTLP: a dataset made by
// pasting CSV (a bad row refused with the server's message), its cases, versions and exports; two
// experiments whose runs are linked to the cases and scored, one case made to regress, compared
// (totals and deltas, the regression with its reason, the output diff, "only changed", a run
// link); a 1,000-case comparison timed; "Add to dataset" from a run page and from a span; the
// query box completing experiment:, dataset: and case:. Names and texts written as markup stay
// text throughout.
//
// Everything happens in a project of this spec's own (made with the CLI): its thousands of runs
// must not change what the other specs count in the default project.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BASE_URL, assertInert, kv, launch, lemmaCli, open as openPage } from '../lib/harness.mjs';

const hex = (bytes) => randomBytes(bytes).toString('hex');
const ns = (ms) => String(BigInt(Math.round(ms)) * 1000000n);
const SUFFIX = hex(3);
const HOSTILE = '<img src=x onerror=window.__pwned=7>';
/** What the render of 1,000 cases must stay under here (CI machines are slow; locally it is far less). */
const RENDER_BOUND_MS = 3000;

const PROJECT = `experiments-${SUFFIX}`;
let KEY;
let browser;

before(async () => {
  await lemmaCli(['projects', 'create', PROJECT]);
  const out = await lemmaCli(['keys', 'create', '--project', PROJECT]);
  KEY = out.split('\n').map((l) => l.trim()).find((l) => l.startsWith('lm_'));
  assert.ok(KEY, `a key in: ${out}`);
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** A page signed in to this spec's project. */
function open(b, path) {
  return openPage(b, path, { key: KEY, project: PROJECT });
}

/** Sends OTLP JSON spans to this spec's project, as an exporter would. */
async function postSpans(service, spans) {
  const response = await fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', service)] }, scopeSpans: [{ scope: { name: 'experiments-test' }, spans }] }] }),
  });
  assert.equal(response.status, 200, 'OTLP export accepted');
}

async function call(method, path, body, { text, type } = {}) {
  const headers = { Authorization: `Bearer ${KEY}` };
  if (body !== undefined || text !== undefined) headers['Content-Type'] = type || 'application/json';
  const response = await fetch(new URL(`/api/v1${path}`, BASE_URL), {
    method, headers, body: text !== undefined ? text : body !== undefined ? JSON.stringify(body) : undefined,
  });
  const raw = await response.text();
  let json = null;
  try {
    json = raw ? JSON.parse(raw) : null;
  } catch {
    // an export: kept as text
  }
  return { status: response.status, json, text: raw };
}

async function ok(method, path, body) {
  const answer = await call(method, path, body);
  assert.ok(answer.status >= 200 && answer.status < 300, `${method} ${path}: ${answer.status} ${answer.text}`);
  return answer.json;
}

async function eventually(check, what, tries = 300) {
  for (let i = 0; i < tries; i += 1) {
    const found = await check();
    if (found) return found;
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  throw new Error(`never: ${what}`);
}

/**
 * A run as an agent answering one case: a root agent span with the case's input and the answer,
 * and (unless `bare`) a model call under it with tokens. Resolves to the run id.
 */
function agentRun({ input, output, error, durationMs = 800, startMs = Date.now() - 60_000, agent = `experiments_${SUFFIX}`, bare = false }) {
  const traceId = hex(16);
  const rootId = hex(8);
  const spans = [{
    traceId, spanId: rootId, name: `invoke_agent ${agent}`, kind: 1,
    startTimeUnixNano: ns(startMs), endTimeUnixNano: ns(startMs + durationMs),
    attributes: [
      kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', agent),
      kv('lemma.input', input), kv('lemma.output', output),
    ],
    status: error ? { code: 2, message: error } : { code: 1 },
  }];
  if (!bare) {
    spans.push({
      traceId, spanId: hex(8), parentSpanId: rootId, name: 'chat gpt-4o', kind: 3,
      startTimeUnixNano: ns(startMs + 50), endTimeUnixNano: ns(startMs + durationMs - 50),
      attributes: [
        kv('gen_ai.operation.name', 'chat'), kv('gen_ai.request.model', 'gpt-4o'),
        { key: 'gen_ai.usage.input_tokens', value: { intValue: '120' } },
        { key: 'gen_ai.usage.output_tokens', value: { intValue: String(20 + output.length) } },
      ],
      status: { code: 1 },
    });
  }
  return { runId: traceId, rootId, spans };
}

/** Sends runs in batches, as an exporter would. */
async function send(runs, batch = 250) {
  for (let i = 0; i < runs.length; i += batch) {
    await postSpans('experiments-test', runs.slice(i, i + batch).flatMap((r) => r.spans));
  }
}

async function makeDataset(name, cases, description = '') {
  return ok('POST', '/datasets', { name, description, cases });
}

async function makeExperiment(name, dataset, extra = {}) {
  return ok('POST', '/experiments', { name, dataset, ...extra });
}

/** The comparison once every linked run's spans are stored (a status for each). */
async function comparisonReady(names, n) {
  return eventually(async () => {
    const { status, json } = await call('GET', `/compare?experiments=${names.join(',')}`);
    if (status !== 200) return null;
    const all = json.cases.length === n && json.cases.every((c) => c.results.every((r) => r && r.status));
    return all ? json : null;
  }, `the comparison of ${names.join(', ')} has every run`);
}

test('a dataset is made by pasting CSV: a bad row is refused with the server’s message; then its cases, versions and exports', async () => {
  const name = `csv-${SUFFIX}`;
  const bad = `id,input,expected,tags\nq1,What is 2 + 2?,4,math\nq2,"${HOSTILE.replaceAll('"', '""')}",answer\n`;
  const good = `id,input,expected,tags,metadata.source\nq1,What is 2 + 2?,4,math;easy,manual\nq2,"${HOSTILE.replaceAll('"', '""')}",${HOSTILE},,manual\nq3,"{""question"": ""capital of France""}",Paris,geo,web\n`;
  // What the server says of the bad row, asked directly under a name that is never made.
  const refused = await call('POST', `/datasets/never-${SUFFIX}/cases?format=csv`, undefined, { text: bad, type: 'text/csv' });
  assert.equal(refused.status, 400);
  assert.match(refused.json.error.message, /row 3/);

  const { page, done } = await open(browser, '/runs');
  await page.locator('nav[aria-label="Main"] .nav-link', { hasText: 'Experiments' }).click();
  await page.waitForURL(/\/experiments$/);
  await page.getByTestId('datasets-table').waitFor();
  assert.equal(await page.locator('.nav-link[aria-current="page"]').textContent(), 'Experiments');

  await page.getByTestId('dataset-new').click();
  await page.getByTestId('dataset-name-input').fill(name);
  await page.getByTestId('dataset-description-input').fill(`Pasted ${HOSTILE}`);
  await page.getByTestId('dataset-cases-text').fill(bad);
  assert.equal(await page.getByTestId('dataset-cases-format').inputValue(), 'csv', 'the format is guessed from the text');
  await page.getByTestId('dataset-save').click();
  await page.getByTestId('dataset-error').filter({ hasText: /row 3/ }).waitFor();
  assert.equal(await page.getByTestId('dataset-error').textContent(), refused.json.error.message);
  assert.equal((await call('GET', `/datasets/${name}`)).status, 404, 'nothing was made');

  await page.getByTestId('dataset-cases-text').fill(good);
  await page.getByTestId('dataset-save').click();
  await page.getByTestId('dataset-made-link').waitFor();
  const stored = await ok('GET', `/datasets/${name}`);
  assert.equal(stored.cases.length, 3);
  assert.equal(stored.description, `Pasted ${HOSTILE}`);
  assert.deepEqual(stored.cases[2].input, { question: 'capital of France' }, 'a JSON cell is read as JSON');
  const row = page.locator(`[data-testid="dataset-row"][data-name="${name}"]`);
  assert.equal(await row.getByTestId('dataset-cases').textContent(), '3');
  assert.equal(await row.getByTestId('dataset-version').textContent(), `v${stored.version}`);
  assert.match(await row.textContent(), /Pasted <img src=x onerror=window.__pwned=7>/);

  // The dataset's page: its cases, exports, cases added, versions.
  await row.getByTestId('dataset-link').click();
  await page.waitForURL(new RegExp(`/datasets/${name}$`));
  await page.getByTestId('cases-table').waitFor();
  assert.equal(await page.getByTestId('dataset-name').textContent(), name);
  assert.equal(await page.getByTestId('case-row').count(), 3);
  assert.equal(await page.locator('[data-case-id="q2"] [data-testid="case-input"]').textContent(), HOSTILE);
  assert.equal(await page.locator('[data-case-id="q2"] [data-testid="case-expected"]').textContent(), HOSTILE);
  assert.equal(await page.locator('[data-case-id="q3"] [data-testid="case-input"]').textContent(), '{"question":"capital of France"}');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  assert.equal(download.suggestedFilename(), `${name}-v${stored.version}.csv`);
  const csv = await (await import('node:fs/promises')).readFile(await download.path(), 'utf8');
  assert.equal(csv, (await call('GET', `/datasets/${name}?format=csv`)).text);
  const [lines] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-jsonl').click()]);
  assert.equal(lines.suggestedFilename(), `${name}-v${stored.version}.jsonl`);

  await page.getByTestId('cases-add').click();
  // An upload fills the box, its format guessed from the file's name.
  await page.getByTestId('add-cases-format').selectOption('csv');
  await page.getByTestId('add-cases-file').setInputFiles({ name: 'more.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from('{"id": "q4", "input": "one more", "expected": "yes"}\n{"input": "not JSON') });
  await page.getByTestId('add-cases-file-name').filter({ hasText: 'more.jsonl' }).waitFor();
  assert.match(await page.getByTestId('add-cases-text').inputValue(), /not JSON$/);
  assert.equal(await page.getByTestId('add-cases-format').inputValue(), 'jsonl');
  await page.getByTestId('add-cases-save').click();
  await page.getByTestId('add-cases-error').filter({ hasText: /line 2/ }).waitFor();
  await page.getByTestId('add-cases-text').fill('{"id": "q4", "input": "one more", "expected": "yes"}\n');
  await page.getByTestId('add-cases-save').click();
  await page.getByTestId('dataset-status').filter({ hasText: `version ${stored.version + 1}` }).waitFor();
  assert.equal(await page.getByTestId('case-row').count(), 4);
  assert.equal(await page.getByTestId('dataset-version').textContent(), `${stored.version + 1} of ${stored.version + 1}`);

  // An older version, from the picker.
  await page.getByTestId('dataset-version-picker').selectOption(String(stored.version));
  await page.waitForURL(new RegExp(`\\?version=${stored.version}$`));
  await page.getByTestId('dataset-version').filter({ hasText: `${stored.version} of ${stored.version + 1}` }).waitFor();
  assert.equal(await page.getByTestId('case-row').count(), 3);

  // Deleting it, after a confirmation.
  await page.getByTestId('dataset-delete').click();
  await page.getByTestId('dataset-delete-confirm').click();
  await page.waitForURL(/\/experiments$/);
  await page.getByTestId('datasets-table').waitFor();
  assert.equal(await page.locator(`[data-testid="dataset-row"][data-name="${name}"]`).count(), 0);
  assert.equal((await call('GET', `/datasets/${name}`)).status, 404);
  await assertInert(page);
  await done();
});

test('two experiments compared: totals with deltas, the regression with its reason, the output diff, only changed cases, a run link', async () => {
  const dataset = `qa-${SUFFIX}`;
  const base = `base-${SUFFIX}`;
  const cand = `cand-${SUFFIX}`;
  await makeDataset(dataset, [
    { id: 'same', input: 'What is 2 + 2?', expected: '4' },
    { id: 'reworded', input: 'Name a primary colour.', expected: 'red' },
    { id: 'capital', input: 'What is the capital of France?', expected: 'Paris' },
    { id: 'broken', input: 'Summarise the refund policy.', expected: 'Refunds within 30 days.' },
    { id: 'hostile', input: HOSTILE, expected: HOSTILE },
  ], `Questions ${HOSTILE}`);
  await makeExperiment(base, dataset, { description: `baseline ${HOSTILE}`, metadata: { model: 'gpt-4o', note: HOSTILE } });
  await makeExperiment(cand, dataset, { description: 'a cheaper model', metadata: { model: 'gpt-4o-mini' } });

  const answers = {
    same: ['4', '4'],
    reworded: ['Red is a primary colour.', 'Blue is a primary colour.'],
    capital: ['The capital of France is Paris.', 'The capital of France is Lyon.'],
    broken: ['Refunds are accepted within 30 days.', ''],
    hostile: [HOSTILE, `${HOSTILE} <b>bold</b>`],
  };
  const inputs = { same: 'What is 2 + 2?', reworded: 'Name a primary colour.', capital: 'What is the capital of France?', broken: 'Summarise the refund policy.', hostile: HOSTILE };
  const runs = { [base]: {}, [cand]: {} };
  const all = [];
  for (const [id, [a, b]] of Object.entries(answers)) {
    runs[base][id] = agentRun({ input: inputs[id], output: a, durationMs: 1000 });
    runs[cand][id] = agentRun({ input: inputs[id], output: b || 'Sorry, something went wrong', durationMs: 1400, error: id === 'broken' ? 'the policy service timed out' : null });
    all.push(runs[base][id], runs[cand][id]);
  }
  await send(all);
  for (const name of [base, cand]) {
    await ok('POST', `/experiments/${name}/runs`, { runs: Object.entries(runs[name]).map(([caseId, r]) => ({ case_id: caseId, run_id: r.runId })) });
  }
  // Scores: the candidate gets the capital wrong.
  const correct = { same: [1, 1], reworded: [1, 1], capital: [1, 0], broken: [1, 1], hostile: [0.5, 0.5] };
  for (const [id, [a, b]] of Object.entries(correct)) {
    await ok('POST', `/runs/${runs[base][id].runId}/metrics`, { name: 'correct', value: a, source: 'evaluator' });
    await ok('POST', `/runs/${runs[cand][id].runId}/metrics`, { name: 'correct', value: b, source: 'evaluator' });
  }
  const c = await comparisonReady([base, cand], 5);
  const capital = c.cases.find((x) => x.case_id === 'capital');
  assert.ok(capital.regression, 'the server finds the capital case a regression');
  const changedOnly = (await ok('GET', `/compare?experiments=${base},${cand}&changed=true`)).cases.map((x) => x.case_id);

  const { page, done } = await open(browser, '/experiments');
  await page.getByTestId('experiments-table').waitFor();
  // Newest first.
  const listed = await page.getByTestId('experiment-name').allTextContents();
  assert.ok(listed.indexOf(cand) < listed.indexOf(base), 'the newer experiment is listed first');
  assert.match(await page.locator(`[data-testid="experiment-row"][data-name="${base}"]`).textContent(), /note: <img src=x onerror=window.__pwned=7>/);
  // Filtered by dataset.
  await page.getByTestId('experiments-dataset').selectOption(dataset);
  await page.waitForURL(new RegExp(`\\?dataset=${dataset}$`));
  assert.deepEqual((await page.getByTestId('experiment-name').allTextContents()).sort(), [base, cand].sort());
  assert.equal(await page.getByTestId('compare-button').isDisabled(), true);
  await page.locator(`[data-testid="experiment-row"][data-name="${base}"] [data-testid="experiment-pick"]`).check();
  await page.locator(`[data-testid="experiment-row"][data-name="${cand}"] [data-testid="experiment-pick"]`).check();
  assert.match(await page.getByTestId('experiments-picked').textContent(), new RegExp(`Baseline: ${base}`));
  await page.getByTestId('compare-button').click();
  await page.waitForURL((url) => url.pathname === '/compare' && url.searchParams.get('experiments') === `${base},${cand}`);
  await page.getByTestId('compare-cases').waitFor();

  // Totals side by side, deltas coloured by which way is better.
  const totals = page.getByTestId('compare-totals');
  assert.deepEqual(await totals.getByTestId('totals-experiment').allTextContents(), [`${base}baseline`, cand]);
  const cell = (key, i) => totals.locator(`[data-testid="totals-row"][data-key="${key}"] [data-testid="totals-cell"]`).nth(i);
  assert.equal(await cell('answered', 0).textContent(), '5');
  assert.equal(await cell('failed', 1).locator('.compare-total').textContent(), '1');
  assert.equal(await cell('failed', 1).getByTestId('totals-delta').textContent(), '+1');
  assert.equal(await cell('failed', 1).getByTestId('totals-delta').getAttribute('data-tone'), 'worse');
  assert.equal(await cell('p50_duration_ms', 1).getByTestId('totals-delta').getAttribute('data-tone'), 'worse');
  assert.equal(await cell('p50_duration_ms', 1).getByTestId('totals-delta').textContent(), '+400 ms');
  const score = c.scores.find((s) => s.name === 'correct');
  assert.equal(await cell('score:correct', 1).getByTestId('totals-delta').getAttribute('data-tone'), 'worse');
  assert.equal(await cell('score:correct', 1).getByTestId('totals-delta').textContent(), `−${Math.round(Math.abs(score.delta) * 1000) / 1000}`);
  const colour = await cell('failed', 1).getByTestId('totals-delta').evaluate((el) => getComputedStyle(el).color);
  const better = await page.evaluate(() => { const probe = document.createElement('span'); probe.className = 'compare-delta is-better'; document.body.append(probe); const c2 = getComputedStyle(probe).color; probe.remove(); return c2; });
  assert.notEqual(colour, better, 'worse and better read in different colours');
  assert.equal(await page.getByTestId('compare-summary').textContent(), `5 cases · ${c.changed} changed · ${c.regressions} regressions`);

  // The regressed case: highlighted, with the server's reason, and the output diff.
  const row = page.locator('[data-testid="compare-case"][data-case-id="capital"]');
  assert.equal(await row.getAttribute('data-regression'), 'true');
  assert.ok((await row.getAttribute('class')).includes('is-regression'));
  assert.deepEqual(await row.getByTestId('case-reasons').locator('li').allTextContents(), capital.reasons);
  const background = await row.evaluate((el) => getComputedStyle(el).backgroundColor);
  const plain = await page.locator('[data-testid="compare-case"][data-case-id="same"]').evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.notEqual(background, plain, 'a regression is highlighted');
  const candOutput = row.getByTestId('case-output').nth(1);
  await candOutput.scrollIntoViewIfNeeded();
  await candOutput.getByTestId('diff-del').waitFor();
  assert.equal(await candOutput.getByTestId('diff-del').textContent(), 'Paris.');
  assert.equal(await candOutput.getByTestId('diff-ins').textContent(), 'Lyon.');
  assert.equal(await candOutput.textContent(), 'The capital of France is Paris.Lyon.');
  assert.equal(await row.locator('[data-testid="case-score"][data-score="correct"]').nth(1).getAttribute('data-tone'), 'worse');
  assert.equal(await page.locator('[data-case-id="broken"]').getAttribute('data-regression'), 'true');
  assert.deepEqual(await page.locator('[data-case-id="broken"] [data-testid="case-reasons"] li').allTextContents(), c.cases.find((x) => x.case_id === 'broken').reasons);
  assert.equal(await page.locator('[data-case-id="broken"] [data-testid="case-result"]').nth(1).getAttribute('data-status'), 'error');
  // The same output says so, with nothing marked.
  assert.equal(await page.locator('[data-case-id="same"] [data-testid="diff-del"]').count(), 0);

  // The details: the whole texts, and the whole diff.
  await row.getByTestId('case-expand').click();
  const detail = page.getByTestId('case-detail');
  await detail.waitFor();
  assert.equal(await detail.getByTestId('detail-diff').locator('del').textContent(), 'Paris.');
  await row.getByTestId('case-expand').click();
  assert.equal(await page.getByTestId('case-detail').count(), 0);

  // Hostile text is text.
  const hostile = page.locator('[data-case-id="hostile"]');
  assert.equal(await hostile.getByTestId('case-input').textContent(), HOSTILE);
  assert.equal(await hostile.getByTestId('case-output').first().textContent(), HOSTILE);
  await hostile.getByTestId('case-output').nth(1).scrollIntoViewIfNeeded();
  await hostile.getByTestId('case-output').nth(1).getByTestId('diff-ins').waitFor();
  assert.equal(await hostile.getByTestId('case-output').nth(1).getByTestId('diff-ins').textContent(), ' <b>bold</b>');

  // Only changed cases.
  assert.equal(await page.getByTestId('compare-case').count(), 5);
  await page.getByTestId('show-changed').click();
  await page.waitForURL((url) => url.searchParams.get('changed') === '1');
  const visible = () => page.locator('[data-testid="compare-case"]:visible').evaluateAll((rows) => rows.map((r) => r.dataset.caseId));
  assert.deepEqual((await visible()).sort(), [...changedOnly].sort());
  assert.ok(changedOnly.length < 5 && !changedOnly.includes('same'));
  assert.equal(await page.getByTestId('show-changed').getAttribute('aria-pressed'), 'true');
  await page.getByTestId('show-regressions').click();
  await page.waitForURL((url) => url.searchParams.get('regressions') === '1');
  assert.deepEqual((await visible()).sort(), c.cases.filter((x) => x.regression).map((x) => x.case_id).sort());
  // A reload keeps it.
  await page.reload();
  await page.getByTestId('compare-cases').waitFor();
  assert.deepEqual((await visible()).sort(), c.cases.filter((x) => x.regression).map((x) => x.case_id).sort());
  await page.getByTestId('show-all').click();
  await page.waitForURL((url) => !url.searchParams.has('regressions') && !url.searchParams.has('changed'));
  assert.equal((await visible()).length, 5);

  // A run link opens the run.
  await assertInert(page);
  await page.locator('[data-case-id="capital"] [data-testid="case-run-link"]').nth(1).click();
  await page.waitForURL(new RegExp(`/runs/${runs[cand].capital.runId}$`));
  await page.getByTestId('run-title').waitFor();
  await done();
});

test('a comparison of 1,000 cases renders within the bound', async () => {
  const n = 1000;
  const dataset = `big-${SUFFIX}`;
  const names = [`big-a-${SUFFIX}`, `big-b-${SUFFIX}`];
  const cases = Array.from({ length: n }, (_, i) => ({ id: `c${i}`, input: `Question number ${i}: what is ${i} + ${i}?`, expected: String(2 * i) }));
  await makeDataset(dataset, cases);
  const start = Date.now() - 120_000;
  const runs = names.map((_, side) => cases.map((cs, i) => agentRun({
    input: cs.input,
    // Every tenth answer differs, so there is something to diff.
    output: side === 1 && i % 10 === 0 ? `The answer to question ${i} is ${2 * i + 1}, I think.` : `The answer to question ${i} is ${2 * i}.`,
    durationMs: 500 + (i % 50) * 10 + side * 40,
    startMs: start + i,
    bare: true,
  })));
  await send(runs.flat(), 500);
  for (const [side, name] of names.entries()) {
    await makeExperiment(name, dataset);
    await ok('POST', `/experiments/${name}/runs`, { runs: runs[side].map((r, i) => ({ case_id: `c${i}`, run_id: r.runId })) });
  }
  const answered = await comparisonReady(names, n);
  assert.equal(answered.changed, n / 10);

  const { page, done } = await open(browser, '/experiments');
  await page.getByTestId('experiments-table').waitFor();
  const began = Date.now();
  await page.goto(`/compare?experiments=${names.join(',')}`);
  const table = page.getByTestId('compare-cases');
  await table.locator('[data-testid="compare-case"]').nth(n - 1).waitFor({ state: 'attached' });
  const wall = Date.now() - began;
  await page.waitForFunction(() => document.querySelector('[data-testid="compare-cases"]')?.dataset.paintedMs);
  const built = Number(await table.getAttribute('data-render-ms'));
  const painted = Number(await table.getAttribute('data-painted-ms'));
  console.log(`1,000-case comparison: rows built and laid out in ${built.toFixed(0)} ms, first frame after ${painted.toFixed(0)} ms; page load with the API call ${wall} ms`);
  assert.equal(await table.locator('[data-testid="compare-case"]').count(), n);
  assert.ok(painted < RENDER_BOUND_MS, `the rows took ${painted} ms to show (bound ${RENDER_BOUND_MS} ms)`);
  // Diffs in view are worked out; the cases changed are the tenth ones.
  await page.locator('[data-case-id="c0"] [data-testid="case-output"]').nth(1).getByTestId('diff-ins').waitFor();
  assert.equal(await page.locator('[data-case-id="c1"] [data-testid="diff-ins"]').count(), 0);
  // Narrowing 1,000 rows is quick too.
  const narrowed = Date.now();
  await page.getByTestId('show-changed').click();
  await page.getByTestId('compare-shown').filter({ hasText: `Showing 100 of 1,000` }).waitFor();
  console.log(`"Only changed" over 1,000 cases: ${Date.now() - narrowed} ms`);
  assert.equal(await page.locator('[data-testid="compare-case"]:visible').count(), n / 10);
  await done();
});

test('"Add to dataset" from a run page and from a span makes a case of its input and output', async () => {
  const dataset = `added-${SUFFIX}`;
  const run = agentRun({ input: `Where is order A-9? ${HOSTILE}`, output: 'It ships tomorrow.' });
  await send([run]);
  await eventually(async () => (await call('GET', `/runs/${run.runId}`)).status === 200, 'the run is stored');

  const { page, done } = await open(browser, `/runs/${run.runId}`);
  await page.getByTestId('run-title').waitFor();
  await page.getByTestId('add-to-dataset').click();
  const dialog = page.getByTestId('add-case-dialog');
  await dialog.getByTestId('add-case-input').waitFor();
  assert.equal(await dialog.getByTestId('add-case-input').inputValue(), `Where is order A-9? ${HOSTILE}`);
  assert.equal(await dialog.getByTestId('add-case-expected').inputValue(), 'It ships tomorrow.');
  await dialog.getByTestId('add-case-save').click();
  assert.match(await dialog.getByTestId('add-case-status').textContent(), /Pick a dataset/);
  await dialog.getByTestId('add-case-dataset').fill(dataset);
  await dialog.getByTestId('add-case-expected').fill('It ships tomorrow, by courier.');
  await dialog.getByTestId('add-case-save').click();
  await dialog.getByTestId('add-case-open').waitFor();
  assert.match(await dialog.getByTestId('add-case-status').textContent(), new RegExp(`Added the case case-1 to ${dataset} \\(version 1, 1 case\\)`));
  let stored = await ok('GET', `/datasets/${dataset}`);
  assert.deepEqual(stored.cases, [{
    id: 'case-1', input: `Where is order A-9? ${HOSTILE}`, expected: 'It ships tomorrow, by courier.', metadata: { source_run: run.runId },
  }]);
  await dialog.getByTestId('add-case-close').click();
  await assertInert(page);

  // A span: the model call, from the span panel; the dataset is now one to pick.
  const chat = run.spans[1];
  await page.goto(`/runs/${run.runId}?span=${chat.spanId}`);
  await page.getByTestId('span-panel').waitFor();
  await page.getByTestId('span-add-to-dataset').click();
  await dialog.getByTestId('add-case-dataset').waitFor();
  await page.waitForFunction((name) => [...document.querySelectorAll('[data-testid="add-case-dialog"] datalist option')].some((o) => o.value === name), dataset);
  await dialog.getByTestId('add-case-dataset').fill(dataset);
  await dialog.getByTestId('add-case-input').fill('Where is order A-10?');
  await dialog.getByTestId('add-case-id').fill('order-a10');
  await dialog.getByTestId('add-case-save').click();
  await dialog.getByTestId('add-case-open').waitFor();
  stored = await ok('GET', `/datasets/${dataset}`);
  assert.equal(stored.version, 2);
  assert.deepEqual(stored.cases[1], { id: 'order-a10', input: 'Where is order A-10?', metadata: { source_run: run.runId, source_span: chat.spanId } });
  // The link opens the dataset.
  await dialog.getByTestId('add-case-open').click();
  await page.waitForURL(new RegExp(`/datasets/${dataset}$`));
  await page.locator('[data-testid="case-row"][data-case-id="order-a10"]').waitFor();
  assert.equal(await page.locator('[data-case-id="case-1"] [data-testid="case-input"]').textContent(), `Where is order A-9? ${HOSTILE}`);
  await assertInert(page);
  await done();
});

test('the query box completes experiment:, dataset: and case:, and finds the experiment’s runs', async () => {
  const dataset = `complete-${SUFFIX}`;
  const experiment = `complete-exp-${SUFFIX}`;
  await makeDataset(dataset, [{ id: 'alpha', input: 'first' }, { id: 'beta', input: 'second' }]);
  await makeExperiment(experiment, dataset);
  const runs = [agentRun({ input: 'first', output: 'one', bare: true }), agentRun({ input: 'second', output: 'two', bare: true })];
  await send(runs);
  await ok('POST', `/experiments/${experiment}/runs`, { runs: [{ case_id: 'alpha', run_id: runs[0].runId }, { case_id: 'beta', run_id: runs[1].runId }] });

  const { page, done } = await open(browser, '/runs');
  const input = page.getByTestId('search-input');
  await input.click();
  // The help lists the fields.
  const fields = await page.locator('.search-field').allTextContents();
  for (const f of ['experiment', 'dataset', 'case']) assert.ok(fields.includes(f), f);
  await input.fill(`experiment:complete-exp-${SUFFIX.slice(0, 4)}`);
  const options = page.getByTestId('query-complete').locator('[role="option"]');
  await options.first().waitFor();
  assert.deepEqual(await options.evaluateAll((els) => els.map((e) => e.dataset.value)), [experiment]);
  assert.match(await options.first().textContent(), new RegExp(`${dataset} v1`));
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  assert.equal(await input.inputValue(), `experiment:${experiment} `);
  // case: suggests the experiment's cases.
  await input.pressSequentially('case:b');
  await options.first().waitFor();
  assert.deepEqual(await options.evaluateAll((els) => els.map((e) => e.dataset.value)), ['beta']);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.searchParams.get('q') === `experiment:${experiment} case:beta`);
  await eventually(async () => (await page.locator('.run-row').count()) === 1, 'the run of case beta is listed');
  assert.equal(await page.locator('.run-row').getAttribute('data-run-id'), runs[1].runId);

  // dataset: from the datasets.
  await input.fill('dataset:complete-');
  await options.first().waitFor();
  assert.ok((await options.evaluateAll((els) => els.map((e) => e.dataset.value))).includes(dataset));
  await done();
});
