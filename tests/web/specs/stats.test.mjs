import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, open } from '../lib/harness.mjs';
import * as format from '../../../web/js/format.js';
import { isSparse } from '../../../web/js/components/scale.js';

let browser;
let range; // a custom range, in the page's URL form, covering every loaded run
let bounds; // the same as /stats parameters
let all; // the runs the API has

before(async () => {
  browser = await launch();
  all = (await api('/runs?limit=1000')).runs;
  assert.ok(all.length > 0, 'the fixtures are loaded');
  const starts = all.map((r) => Date.parse(r.start_time));
  const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
  bounds = {
    from: iso(Math.floor(Math.min(...starts) / 60_000) * 60_000 - 60_000),
    to: iso(Math.ceil(Math.max(...starts) / 60_000) * 60_000 + 60_000),
  };
  range = `${bounds.from}..${bounds.to}`;
});
after(async () => { await browser?.close(); });

function stats(q = '') {
  return api(`/stats?${new URLSearchParams({ ...bounds, q })}`);
}

function statsUrl(q = '') {
  return `/stats?${new URLSearchParams(q ? { q, range } : { range })}`;
}

async function tile(page, key) {
  return (await page.getByTestId(`tile-${key}`).locator('.stats-tile-value').textContent()).trim();
}

/** The points of a chart line, from its SVG path: one `M` or `L` per bucket with a value. */
async function linePoints(page, chart, series) {
  const d = await page.getByTestId(chart).locator(`path.chart-line[data-series="${series}"]`).getAttribute('d');
  return [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
}

/**
 * What a chart drew for one series, whichever its style: `{style, marks}` with per bucket the
 * mark's `{x, y}` (its middle and top), or null where it drew none. `values` are the series'
 * values from the API, to place a line's points (it has one per bucket with a value).
 */
async function drawing(page, chart, series, values) {
  const root = page.getByTestId(chart);
  const style = await root.locator('figure.chart').getAttribute('data-style');
  const marks = values.map(() => null);
  if (style === 'bars') {
    const bars = await root.locator(`rect.chart-bar[data-series="${series}"]`).evaluateAll((rects) => rects.map((r) => ({
      index: Number(r.dataset.index),
      x: Number(r.getAttribute('x')) + Number(r.getAttribute('width')) / 2,
      y: Number(r.getAttribute('y')),
    })));
    for (const b of bars) marks[b.index] = { x: b.x, y: b.y };
  } else {
    const points = await linePoints(page, chart, series);
    const present = values.map((v, i) => (v === null || v === undefined ? -1 : i)).filter((i) => i >= 0);
    assert.equal(points.length, present.length, `${chart}: a point per bucket with a value`);
    present.forEach((i, k) => { marks[i] = points[k]; });
  }
  return { style, marks };
}

test('tiles show the totals of the runs in the range', async () => {
  const expected = await stats();
  assert.equal(expected.totals.runs, all.length, 'the range covers every run');
  const errors = all.filter((r) => r.status === 'error').length;
  assert.ok(errors > 0, 'the fixtures include a failed run');
  assert.equal(expected.totals.errors, errors);

  const { page, done } = await open(browser, statsUrl());
  await page.getByTestId('stats-tiles').waitFor();
  assert.equal(await tile(page, 'runs'), format.count(all.length));
  assert.equal(await tile(page, 'error-rate'), format.percent(errors / all.length));
  assert.equal(await tile(page, 'p95'), format.duration(expected.totals.p95_ms));
  assert.equal(await tile(page, 'cost'), format.cost(expected.totals.cost_usd));
  await done();
});

test('charts draw every bucket with runs, as lines or, where few buckets have any, as bars', async () => {
  const expected = await stats();
  const { page, done } = await open(browser, statsUrl());
  await page.getByTestId('chart-runs').locator('svg.chart-svg').waitFor();

  const values = (key) => expected.series.map((b) => b[key]);
  const runs = await drawing(page, 'chart-runs', 'runs', values('runs'));
  const sparse = isSparse([{ values: values('runs') }, { values: values('errors') }], expected.series.length);
  assert.equal(runs.style, sparse ? 'bars' : 'lines');
  // A bucket with runs has its mark; in bars, an empty one has none.
  expected.series.forEach((b, i) => {
    if (b.runs > 0 || runs.style === 'lines') assert.ok(runs.marks[i], `bucket ${i} is drawn`);
    else assert.equal(runs.marks[i], null, `bucket ${i} is empty`);
  });
  // Higher counts are drawn higher (smaller y): the drawing follows the data.
  const busiest = expected.series.reduce((best, b, i) => (b.runs > expected.series[best].runs ? i : best), 0);
  const quieter = expected.series.findIndex((b) => b.runs > 0 && b.runs < expected.series[busiest].runs);
  assert.ok(expected.series.some((b) => b.runs === 0), 'some bucket is empty');
  assert.ok(quieter >= 0, 'buckets differ');
  assert.ok(runs.marks[busiest].y < runs.marks[quieter].y);
  for (const [chart, key] of [['chart-tokens', 'total_tokens'], ['chart-cost', 'cost_usd']]) {
    const drawn = await drawing(page, chart, key === 'total_tokens' ? 'tokens' : 'cost', values(key).map((v) => v || 0));
    expected.series.forEach((b, i) => {
      if (b[key]) assert.ok(drawn.marks[i], `${chart}: bucket ${i} is drawn`);
    });
  }
  // Latency has no value in empty buckets: a mark for each bucket with runs, none elsewhere.
  const latency = await drawing(page, 'chart-latency', 'p50', expected.series.map((b) => (b.runs ? b.p50_ms : null)));
  const withRuns = expected.series.filter((b) => b.runs > 0).length;
  assert.equal(latency.marks.filter(Boolean).length, withRuns);
  assert.equal(await page.getByTestId('chart-latency').locator('svg title').textContent(), 'Run duration percentiles over time');

  const agents = page.getByTestId('by-agent').locator('.bar-row');
  assert.equal(await agents.count(), expected.by_agent.length);
  assert.deepEqual(await agents.locator('.bar-label-text').allTextContents(), expected.by_agent.map((a) => a.agent ?? 'No agent'));
  // An agent name full of markup is shown as text.
  assert.ok(expected.by_agent.some((a) => a.agent?.includes('<img')), 'the hostile run is loaded');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const models = page.getByTestId('by-model').locator('.bar-row');
  assert.equal(await models.count(), expected.by_model.length);
  assert.deepEqual(await models.locator('.bar-label-text').allTextContents(), expected.by_model.map((m) => m.model));
  // Beside each model: its provider, then the dated snapshots counted under it.
  const sublabels = await models.evaluateAll((rows) => rows.map((r) => r.querySelector('.bar-sublabel')?.textContent ?? ''));
  assert.deepEqual(sublabels, expected.by_model.map((m) => [m.provider, ...(m.snapshots ?? [])].filter(Boolean).join(' · ')));
  // The busiest model has the longest bar.
  const widths = await models.evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('rect.bar')].reduce((w, b) => w + b.getBBox().width, 0)));
  const top = expected.by_model.reduce((best, m, i) => (m.total_tokens > expected.by_model[best].total_tokens ? i : best), 0);
  assert.equal(Math.max(...widths), widths[top]);
  await done();
});

test('hovering a chart shows the exact values of the bucket under the pointer', async () => {
  const expected = await stats();
  const { page, done } = await open(browser, statsUrl());
  const chart = page.getByTestId('chart-runs');
  await chart.locator('svg.chart-svg').waitFor();
  const { marks } = await drawing(page, 'chart-runs', 'runs', expected.series.map((b) => b.runs));
  const busiest = expected.series.reduce((best, b, i) => (b.runs > expected.series[best].runs ? i : best), 0);
  await chart.locator('svg.chart-svg').hover({ position: { x: marks[busiest].x, y: 60 } });
  const tooltip = chart.locator('.chart-tooltip');
  await tooltip.waitFor();
  const rows = await tooltip.locator('.chart-tooltip-row').allTextContents();
  assert.deepEqual(rows, [
    `Runs${format.count(expected.series[busiest].runs)}`,
    `Errors${format.count(expected.series[busiest].errors)}`,
  ]);
  await page.mouse.move(5, 5);
  await tooltip.waitFor({ state: 'hidden' });
  // The keyboard reaches the same values.
  await chart.locator('svg.chart-svg').focus();
  await page.keyboard.press('Home');
  assert.equal(await tooltip.locator('.chart-tooltip-row').first().textContent(), `Runs${format.count(expected.series[0].runs)}`);
  await done();
});

test('a query narrows the numbers, and the URL keeps it', async () => {
  const failed = await stats('status:error');
  assert.ok(failed.totals.runs > 0 && failed.totals.runs < all.length);
  const { page, done } = await open(browser, statsUrl());
  await page.getByTestId('stats-tiles').waitFor();
  await page.getByTestId('search-input').fill('status:error');
  await page.getByTestId('search-input').press('Enter');
  await page.waitForURL(/q=status%3Aerror/);
  await page.getByTestId('tile-runs').filter({ hasText: format.count(failed.totals.runs) }).waitFor();
  // Tiles and breakdowns are drawn from one answer, but wait for the last of them to settle.
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="by-agent"] .bar-row').length === n,
    failed.by_agent.length,
  );
  assert.equal(await tile(page, 'error-rate'), '100%');
  assert.equal(await page.getByTestId('by-agent').locator('.bar-row').count(), failed.by_agent.length);

  // A fresh page from the same URL shows the same state.
  await page.reload();
  await page.getByTestId('stats-tiles').waitFor();
  assert.equal(await page.getByTestId('search-input').inputValue(), 'status:error');
  assert.equal(await tile(page, 'runs'), format.count(failed.totals.runs));
  assert.match(await page.getByTestId('timerange').textContent(), /→/);
  assert.equal(new URL(page.url()).searchParams.get('range'), range);

  // Back goes to the unfiltered numbers.
  await page.goBack();
  await page.getByTestId('tile-runs').filter({ hasText: format.count(all.length) }).waitFor();
  assert.equal(await page.getByTestId('search-input').inputValue(), '');
  await done();
});

test('a bad query is explained, an empty result says what to try', async () => {
  const { page, done } = await open(browser, statsUrl('status:'));
  await page.getByTestId('search-error').waitFor();
  await page.getByTestId('search-input').fill('agent:no-such-agent-anywhere');
  await page.getByTestId('search-input').press('Enter');
  const empty = page.getByTestId('empty');
  await empty.waitFor();
  assert.match(await empty.textContent(), /No runs match/);
  assert.equal(await tile(page, 'runs'), '0');
  await page.getByTestId('clear-search').click();
  await page.getByTestId('tile-runs').filter({ hasText: format.count(all.length) }).waitFor();
  await done();
});

test('"All time" finds where the runs start', async () => {
  const { page, done } = await open(browser, '/stats');
  await page.getByTestId('stats-tiles').waitFor();
  const answers = [];
  page.on('response', async (r) => {
    // The stats themselves; the signals panel asks /stats/signals too.
    if (new URL(r.url()).pathname === '/api/v1/stats') answers.push({ url: new URL(r.url()), body: await r.json() });
  });
  await page.goto('/stats?range=all');
  await page.getByTestId('stats-tiles').waitFor();
  // Three answers: every run in 30-day buckets, the first of them by the hour, then the range.
  for (let i = 0; answers.length < 3 && i < 50; i += 1) await page.waitForTimeout(100);
  assert.equal(answers.length, 3);
  const runs = (await api('/runs?limit=1000')).runs;
  // The range shown is the one asked without a bucket width of its own.
  const shown = answers.find((a) => !a.url.searchParams.has('bucket')).body;
  assert.equal(await tile(page, 'runs'), format.count(shown.totals.runs));
  // Every run up to now counts, and the range starts within the hour before the first one,
  // not decades before it.
  const until = Date.parse(shown.to_time);
  assert.equal(shown.totals.runs, runs.filter((r) => Date.parse(r.start_time) < until).length);
  const firstRun = Math.min(...runs.map((r) => Date.parse(r.start_time)));
  const from = Date.parse(shown.from_time);
  assert.ok(from <= firstRun && firstRun - from < 3_600_000, `${shown.from_time} for a first run at ${new Date(firstRun).toISOString()}`);
  const drawn = await drawing(page, 'chart-runs', 'runs', shown.series.map((b) => b.runs));
  assert.equal(drawn.marks.filter(Boolean).length, drawn.style === 'bars' ? shown.series.filter((b) => b.runs).length : shown.series.length);
  await done();
});

test('without a range in the URL, an empty day widens to the range where the runs are', async () => {
  // The long run's fixture was recorded long ago: the last 24 hours hold none of its runs.
  const q = 'agent:coding_agent';
  const runs = (await api(`/runs?${new URLSearchParams({ q, limit: '100' })}`)).runs;
  assert.ok(runs.length > 0);
  assert.ok(runs.every((r) => Date.now() - Date.parse(r.start_time) > 86_400_000), 'recorded before today');
  const { page, done } = await open(browser, `/stats?${new URLSearchParams({ q })}`);
  await page.getByTestId('stats-tiles').waitFor();
  await page.getByTestId('stats-caption').filter({ hasText: 'no runs in the last 24 hours' }).waitFor();
  assert.equal(await tile(page, 'runs'), format.count(runs.length));
  assert.doesNotMatch(await page.getByTestId('timerange').textContent(), /24 hours/);
  assert.equal(new URL(page.url()).searchParams.get('range'), null, 'the URL is left as it was');

  // A range the URL names is kept, empty or not.
  await page.goto(`/stats?${new URLSearchParams({ q, range: '24h' })}`);
  await page.getByTestId('empty').waitFor();
  assert.equal(await tile(page, 'runs'), '0');
  assert.doesNotMatch(await page.getByTestId('stats-caption').textContent(), /no runs in/);
  await done();
});
