// Shared set-up for the dashboard's browser tests: Debian's Chromium driven by playwright-core,
// pointed at a real `lemma serve` whose URL and key come from the environment
// (crates/lemma-cli/tests/integration/dashboard.rs starts it and loads the fixtures).
//
// Every page opened here records uncaught script errors, console errors and dialogs; `done()`
// fails the test if any occurred, so a view that throws cannot pass silently.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

export const BASE_URL = required('LEMMA_URL');
export const API_KEY = required('LEMMA_API_KEY');
const EXECUTABLE = process.env.LEMMA_CHROMIUM || '/usr/bin/chromium';

/** Trace ids of the loaded fixtures (see shared/fixtures and dashboard.rs). */
export const RUNS = {
  longRun: process.env.LEMMA_RUN_LONG,
  hostile: process.env.LEMMA_RUN_HOSTILE,
};

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through \`cargo test -p lemma-cli --test integration dashboard::\``);
  return value;
}

// Under `LEMMA_TEST_CLOCK` (scripts/test) everything runs with libfaketime's clock, but
// Chromium crashes with libfaketime loaded: it runs on the real clock, and each page gets the
// tests' clock through Playwright's clock emulation instead (see `open`).
const FAKED_CLOCK = Boolean(process.env.FAKETIME);

function browserEnv() {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name === 'LD_PRELOAD' || name.startsWith('FAKETIME')) delete env[name];
  }
  return env;
}

export async function launch() {
  return chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    env: browserEnv(),
    // This machine has no network beyond loopback: keep Chromium from trying to phone home.
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * A fresh page (own context: own sessionStorage). Signed in unless `signedIn: false`, with the
 * default project's key unless `key` (of `project`) is given.
 * Returns `{page, problems, done}`.
 */
export async function open(browser, path = '/runs', { signedIn = true, viewport, colorScheme, key = API_KEY, project = 'default' } = {}) {
  const context = await browser.newContext({
    baseURL: BASE_URL,
    viewport: viewport || { width: 1400, height: 900 },
    colorScheme: colorScheme || 'light',
  });
  if (signedIn) {
    // Signs in once per tab, as a user would; signing out then sticks across page loads.
    await context.addInitScript(([k, p]) => {
      if (!sessionStorage.getItem('lemma.test.signedIn')) {
        sessionStorage.setItem('lemma.test.signedIn', '1');
        sessionStorage.setItem('lemma.apiKey', k);
        sessionStorage.setItem('lemma.project', p);
      }
    }, [key, project]);
  }
  // Starts at the tests' (possibly faked) time and then flows as usual.
  if (FAKED_CLOCK) await context.clock.install({ time: Date.now() });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !isExpectedConsoleError(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.on('dialog', async (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  await page.goto(path);
  return {
    page,
    problems,
    async done() {
      await context.close();
      assert.deepEqual(problems, [], 'the page raised errors or dialogs');
    },
  };
}

// A failed API call the test provoked on purpose (a bad query, a wrong key) logs the HTTP
// error in the console; that is the browser's doing, not the dashboard's.
function isExpectedConsoleError(text) {
  return /Failed to load resource: the server responded with a status of (400|401|404)/.test(text);
}

/** The dashboard's API, called directly, to compare what the page shows with the data. */
export async function api(path) {
  const response = await fetch(new URL(`/api/v1${path}`, BASE_URL), {
    headers: { Authorization: `Bearer ${API_KEY}` },
  });
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

/** An OTLP JSON string attribute. */
export const kv = (key, value) => ({ key, value: { stringValue: String(value) } });

/** Sends `spans` (OTLP JSON) as service `service`, as an exporter would; asserts acceptance. */
export async function postSpans(service, spans) {
  const response = await fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', service)] }, scopeSpans: [{ scope: { name: 'dashboard-tests' }, spans }] }] }),
  });
  assert.equal(response.status, 200, 'OTLP export accepted');
}

/** Waits until the API lists `n` runs for `q` (stored spans are readable soon after). */
export async function waitForApi(q, n) {
  for (let i = 0; i < 100; i += 1) {
    const { runs } = await api(`/runs?limit=1000&q=${encodeURIComponent(q)}`);
    if (runs.length === n) return runs;
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  throw new Error(`the API never showed ${n} runs for ${q}`);
}

/** Nothing from span content became an element or ran: no script ran, no image, script or
 * `javascript:` link appeared, and no element carries an event handler attribute. */
export async function assertInert(page) {
  const found = await page.evaluate(() => ({
    pwned: window.__pwned,
    imgs: [...document.querySelectorAll('img')].map((i) => i.getAttribute('src')).filter((src) => src !== '/favicon.ico'),
    scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')).filter((src) => src !== '/assets/js/app.js'),
    jsLinks: [...document.querySelectorAll('[href], [src], [action], [formaction]')]
      .filter((el) => /^\s*javascript:/i.test(el.getAttribute('href') || el.getAttribute('src') || el.getAttribute('action') || el.getAttribute('formaction') || '')).length,
    handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
  }));
  assert.deepEqual(found, { pwned: undefined, imgs: [], scripts: [], jsLinks: 0, handlers: 0 });
}

/**
 * The `lemma serve` behind BASE_URL: `{bin, dataDir}`, for specs that administer its store with
 * the CLI (`lemma users`, `lemma projects`), as an operator would. dashboard.rs passes both.
 */
export function lemmaServer() {
  const bin = process.env.LEMMA_TEST_BIN;
  const dataDir = process.env.LEMMA_TEST_DATA_DIR;
  if (!bin || !dataDir) throw new Error('LEMMA_TEST_BIN and LEMMA_TEST_DATA_DIR are not set: run the specs through crates/lemma-cli/tests/integration/dashboard.rs');
  return { bin, dataDir };
}

/**
 * Runs `lemma ...args` on the server's data dir (`--data-dir` appended), with `input` on its
 * standard input (a password for `--password-stdin`). Asserts success; resolves to stdout.
 */
export async function lemmaCli(args, { input } = {}) {
  const { bin, dataDir } = lemmaServer();
  const child = spawn(bin, [...args, '--data-dir', dataDir], {
    env: { ...process.env, LEMMA_DATA_DIR: dataDir },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  if (input !== undefined) {
    child.stdin.on('error', () => {}); // a command that exits without reading: its status says why
    child.stdin.end(input);
  }
  const code = await new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  assert.equal(code, 0, `lemma ${args.join(' ')} failed: ${stderr}${stdout}`);
  return stdout;
}
