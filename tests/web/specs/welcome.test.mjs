import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, BASE_URL, launch, open } from '../lib/harness.mjs';

const EMPTY_KEY = process.env.LEMMA_EMPTY_KEY;
const ORIGIN = new URL(BASE_URL).origin;

let browser;
before(async () => {
  assert.ok(EMPTY_KEY, 'LEMMA_EMPTY_KEY names a project without runs');
  browser = await launch();
});
after(async () => { await browser?.close(); });

/** A page signed in to the project without runs. */
async function openEmpty(path) {
  const opened = await open(browser, '/signin', { signedIn: false });
  await opened.page.evaluate((key) => {
    sessionStorage.setItem('lemma.apiKey', key);
    sessionStorage.setItem('lemma.project', 'empty');
  }, EMPTY_KEY);
  await opened.page.goto(path);
  return opened;
}

test('an empty project\'s runs page shows how to send the first trace, for this server', async () => {
  const { page, done } = await openEmpty('/runs');
  const welcome = page.getByTestId('welcome');
  await welcome.waitFor();
  await page.getByTestId('welcome-status').filter({ hasText: 'Waiting for the first run' }).waitFor();
  const code = () => welcome.getByTestId('snippet-code').locator('pre').textContent();
  assert.ok((await code()).includes(`"${ORIGIN}/v1/traces"`), 'the OTel Python exporter posts here');
  assert.ok((await code()).includes("os.environ['LEMMA_API_KEY']"));
  assert.ok(!(await welcome.textContent()).includes(EMPTY_KEY), 'the key itself is never printed');
  assert.equal(await welcome.getByTestId('snippet-demo').locator('pre').textContent(), `lemma demo --url ${ORIGIN} --key $LEMMA_API_KEY`);

  const expectations = {
    'OpenTelemetry JS': [`'${ORIGIN}/v1/traces'`, 'process.env.LEMMA_API_KEY'],
    OpenInference: ['OpenAIInstrumentor().instrument(tracer_provider=provider)', `"${ORIGIN}/v1/traces"`],
    'Langfuse SDK': [`base_url="${ORIGIN}"`, '/api/public/otel'],
    'Lemma SDK': ['lemma.init(', ORIGIN],
  };
  for (const [tab, needles] of Object.entries(expectations)) {
    await welcome.getByRole('tab', { name: tab }).click();
    assert.equal(await welcome.getByRole('tab', { name: tab }).getAttribute('aria-selected'), 'true');
    const text = await code();
    for (const needle of needles) assert.ok(text.includes(needle), `${tab} snippet has ${needle}`);
  }
  // Tabs with two languages switch between them.
  await welcome.getByRole('button', { name: 'TypeScript' }).click();
  assert.match(await code(), /from '@lemma\/sdk'/);
  await done();
});

test('copy buttons put the snippet on the clipboard and say so', async () => {
  const { page, done } = await openEmpty('/runs');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  const demo = page.getByTestId('snippet-demo');
  await demo.waitFor();
  const button = demo.getByTestId('copy');
  await button.click();
  await button.filter({ hasText: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `lemma demo --url ${ORIGIN} --key $LEMMA_API_KEY`);
  // The feedback goes back to the label.
  await button.filter({ hasText: /^Copy$/ }).waitFor();

  const endpoint = page.getByTestId('welcome-endpoints').getByTestId('copy').first();
  await endpoint.click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${ORIGIN}/v1/traces`);
  await done();
});

test('/welcome shows the latest run of a project that has runs', async () => {
  const latest = (await api('/runs?limit=1')).runs[0];
  const { page, done } = await open(browser, '/welcome?sdk=openinference');
  await page.getByTestId('welcome-status').filter({ hasText: 'Receiving runs' }).waitFor();
  const openRun = page.getByTestId('open-first-run');
  assert.equal(await openRun.getAttribute('href'), `/runs/${latest.run_id}`);
  assert.equal(await page.getByRole('tab', { name: 'OpenInference' }).getAttribute('aria-selected'), 'true');
  // The chosen tab is part of the URL.
  await page.getByRole('tab', { name: 'Langfuse SDK' }).click();
  await page.waitForURL(/sdk=langfuse/);
  await page.reload();
  assert.equal(await page.getByRole('tab', { name: 'Langfuse SDK' }).getAttribute('aria-selected'), 'true');
  await done();
});

test('the panel notices the first run arriving and offers to open it', async () => {
  const latest = (await api('/runs?limit=1')).runs[0];
  const { page, done } = await open(browser, '/signin', { signedIn: true });
  // The project looks empty until the test lets the server's answer through.
  let empty = true;
  await page.route((url) => url.pathname === '/api/v1/runs', (route) => (empty
    ? route.fulfill({ json: { runs: [], next_cursor: null } })
    : route.continue()));
  await page.goto('/welcome');
  await page.getByTestId('welcome-status').filter({ hasText: 'Waiting for the first run' }).waitFor();
  empty = false;
  const openRun = page.getByTestId('open-first-run');
  await openRun.waitFor({ timeout: 10_000 });
  assert.match(await page.getByTestId('welcome-arrived').textContent(), /Your first run arrived/);
  assert.equal(await openRun.getAttribute('href'), `/runs/${latest.run_id}`);
  await page.getByTestId('welcome-status').filter({ hasText: 'First run received' }).waitFor();
  await openRun.click();
  await page.waitForURL(new RegExp(`/runs/${latest.run_id}$`));
  await done();
});
