// Signing in through an OpenID Connect provider: a real provider (the `oidc-provider` package,
// a certified OpenID Provider, with its development login and consent pages) and two
// `lemma serve` of their own, started with `--oidc-issuer`. A real Chromium goes through the
// whole authorization code flow: the dashboard's button, the provider's login and consent, the
// callback, the session. Also what must be refused: a person with no Lemma user, an email the
// provider has not verified, a forged or replayed callback, a person who cancels at the
// provider, and a `next` that leads off the server. With `--oidc-create-users`, a first
// sign-in creates the user, with no project.
//
// The provider runs on `localhost` and Lemma on `127.0.0.1`: two sites, as in production, so
// the SameSite rules of the cookies are what a browser applies across a real provider.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { kv, launch, lemmaServer } from '../lib/harness.mjs';

const CLIENT_ID = 'lemma-dashboard';
const CLIENT_SECRET = 'a client secret for the tests only';
const KEY = 'lm_oidc_tests_bootstrap_key_0123456789';
const AGENT = 'oidc-signed-in-agent';

/** The provider's accounts, by the login typed on its development login page. */
const ACCOUNTS = {
  ada: { email: 'Ada@Example.com', email_verified: true, preferred_username: 'ada' },
  bob: { email: 'bob@example.com', email_verified: true, preferred_username: 'bob' },
  eve: { email: 'eve@example.com', email_verified: false, preferred_username: 'eve' },
};

let browser;
let provider;
let idp;
let strict; // a Lemma that signs in only the users an operator made
let open; // a Lemma that creates users at their first sign-in
const dirs = [];

before(async () => {
  browser = await launch();
  const [idpPort, strictPorts, openPorts] = [await freePort(), [await freePort(), await freePort()], [await freePort(), await freePort()]];
  const strictUrl = `http://127.0.0.1:${strictPorts[0]}`;
  const openUrl = `http://127.0.0.1:${openPorts[0]}`;
  const issuer = `http://localhost:${idpPort}`;
  provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${strictUrl}/api/v1/auth/oidc/callback`, `${openUrl}/api/v1/auth/oidc/callback`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    claims: { email: ['email', 'email_verified'], profile: ['preferred_username'] },
    findAccount: (_ctx, id) => (ACCOUNTS[id]
      ? { accountId: id, claims: () => ({ sub: `sub-${id}`, ...ACCOUNTS[id] }) }
      : undefined),
  });
  idp = provider.listen(idpPort);
  strict = await startLemma(strictPorts, issuer, []);
  open = await startLemma(openPorts, issuer, ['--oidc-create-users']);
  await cli(strict, ['users', 'create', 'ada@example.com', '--no-password']);
  await cli(strict, ['users', 'grant', 'ada@example.com', '--project', 'default', '--role', 'viewer']);
  await postRun(strict);
});

after(async () => {
  await browser?.close();
  for (const lemma of [strict, open]) lemma?.child.kill('SIGTERM');
  await new Promise((done) => (idp ? idp.close(done) : done()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** A `lemma serve` on its own data dir and ports, signing in through the provider. */
async function startLemma([httpPort, grpcPort], issuer, extra) {
  const { bin } = lemmaServer();
  const dataDir = mkdtempSync(join(tmpdir(), 'lemma-oidc-'));
  dirs.push(dataDir);
  const url = `http://127.0.0.1:${httpPort}`;
  const child = spawn(bin, [
    'serve', '--data-dir', dataDir,
    '--http-addr', `127.0.0.1:${httpPort}`, '--grpc-addr', `127.0.0.1:${grpcPort}`,
    '--oidc-issuer', issuer, '--oidc-client-id', CLIENT_ID, '--public-url', url,
    '--oidc-name', 'Example ID', ...extra,
  ], {
    env: { ...process.env, LEMMA_BOOTSTRAP_KEY: KEY, LEMMA_OIDC_CLIENT_SECRET: CLIENT_SECRET },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`lemma serve exited: ${log}`);
    const up = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (up) return { url, dataDir, child, log: () => log };
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`lemma serve did not start: ${log}`);
}

async function cli(lemma, args) {
  const { bin } = lemmaServer();
  const child = spawn(bin, [...args, '--data-dir', lemma.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const code = await new Promise((done) => child.on('close', done));
  assert.equal(code, 0, `lemma ${args.join(' ')}: ${output}`);
  return output;
}

async function postRun(lemma) {
  const now = BigInt(Date.now()) * 1000000n;
  const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const response = await fetch(`${lemma.url}/v1/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', 'oidc-tests')] }, scopeSpans: [{ scope: { name: 'oidc-tests' }, spans: [{
      traceId: hex(16), spanId: hex(8), name: `invoke_agent ${AGENT}`, kind: 1,
      startTimeUnixNano: String(now - 1000000000n), endTimeUnixNano: String(now),
      attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', AGENT)],
    }] }] }] }),
  });
  assert.equal(response.status, 200);
}

/** A fresh browser context on `lemma`'s sign-in page; records script errors. */
async function signinPage(lemma, next) {
  const context = await browser.newContext({ baseURL: lemma.url });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(next ? `/signin?next=${encodeURIComponent(next)}` : '/signin');
  return { context, page, problems };
}

/** Through the provider's development login (any password) and consent pages. */
async function atProvider(page, login) {
  await page.waitForURL(/localhost:\d+\/interaction\//);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'whatever the provider accepts');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Continue');
  await page.click('button[type=submit]');
}

async function ssoButton(page) {
  const button = page.getByTestId('signin-sso');
  await button.waitFor();
  assert.equal(await button.textContent(), 'Sign in with Example ID');
  return button;
}

test('a person with a Lemma user signs in through the provider and lands where they were going', async () => {
  const { context, page, problems } = await signinPage(strict, '/threads');
  await (await ssoButton(page)).click();
  await atProvider(page, 'ada');
  // The email the provider gives, in lower case, is the user name; back on the page asked for.
  await page.waitForURL(`${strict.url}/threads`);
  await page.getByText('ada@example.com').first().waitFor();
  await page.goto('/runs');
  await page.getByText(AGENT).first().waitFor();

  const cookies = await context.cookies(strict.url);
  const session = cookies.find((c) => c.name === 'lemma_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.ok(!cookies.some((c) => c.name === 'lemma_oidc'), 'the sign-in state is cleared once used');
  const stored = await page.evaluate(() => Object.keys(sessionStorage));
  assert.ok(!stored.includes('lemma.apiKey'), 'no secret in the page');

  // The session is an ordinary one: the API answers it, as a viewer of project default.
  const answer = await page.evaluate(async () => (await fetch('/api/v1/auth/session')).json());
  assert.equal(answer.user, 'ada@example.com');
  assert.deepEqual(answer.projects, [{ name: 'default', role: 'viewer' }]);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a user made for single sign-on has no password to sign in with', async () => {
  const response = await fetch(`${strict.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'ada@example.com', password: '' }),
  });
  assert.equal(response.status, 401);
});

test('a person the operator did not create is told so, and is not signed in', async () => {
  const { context, page, problems } = await signinPage(strict);
  await (await ssoButton(page)).click();
  await atProvider(page, 'bob');
  await page.waitForURL(/\/signin\?/);
  const error = page.getByTestId('signin-error');
  await error.waitFor();
  assert.match(await error.textContent(), /There is no Lemma user bob@example\.com: ask an administrator/);
  assert.ok(!(await context.cookies(strict.url)).some((c) => c.name === 'lemma_session'));
  assert.deepEqual(problems, []);
  await context.close();
});

test('an email address the provider has not verified names no one', async () => {
  const { context, page } = await signinPage(strict);
  await (await ssoButton(page)).click();
  await atProvider(page, 'eve');
  await page.waitForURL(/\/signin\?/);
  assert.match(await page.getByTestId('signin-error').textContent(), /has not verified the email address eve@example\.com/);
  assert.ok(!(await context.cookies(strict.url)).some((c) => c.name === 'lemma_session'));
  await context.close();
});

test('cancelling at the provider comes back with its reason', async () => {
  const { context, page } = await signinPage(strict);
  await (await ssoButton(page)).click();
  await page.waitForURL(/localhost:\d+\/interaction\//);
  await page.getByText('[ Cancel ]').click();
  await page.waitForURL(/\/signin\?/);
  assert.match(await page.getByTestId('signin-error').textContent(), /The identity provider did not sign you in: End-User aborted interaction/);
  await context.close();
});

test('a callback this browser did not start is refused, and one cannot be used twice', async () => {
  // Forged: no sign-in was started here.
  const { context, page } = await signinPage(strict);
  await page.goto('/api/v1/auth/oidc/callback?code=stolen&state=forged');
  await page.waitForURL(/\/signin\?/);
  assert.match(await page.getByTestId('signin-error').textContent(), /expired or was started in another browser/);

  // Replayed: a real callback, captured and sent again after it signed in.
  let callback;
  page.on('request', (request) => {
    if (request.url().includes('/api/v1/auth/oidc/callback?code=')) callback = request.url();
  });
  await page.goto('/signin');
  await (await ssoButton(page)).click();
  await atProvider(page, 'ada');
  await page.waitForURL(`${strict.url}/runs`);
  assert.ok(callback, 'the provider sent the browser back with a code');
  await page.evaluate(async () => fetch('/api/v1/auth/logout', { method: 'POST', headers: { 'X-CSRF-Token': sessionStorage.getItem('lemma.csrf') } }));
  await page.goto(callback);
  await page.waitForURL(/\/signin\?/);
  assert.match(await page.getByTestId('signin-error').textContent(), /expired or was started in another browser/);
  assert.ok(!(await context.cookies(strict.url)).some((c) => c.name === 'lemma_session'), 'a replayed code signs no one in');
  await context.close();
});

test('the page to return to is only ever a page of this server', async () => {
  for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
    const response = await fetch(`${strict.url}/api/v1/auth/oidc/start?next=${encodeURIComponent(next)}`, { redirect: 'manual' });
    assert.equal(response.status, 303);
    assert.ok(response.headers.get('location').startsWith('http://localhost:'), 'to the provider');
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('lemma_oidc='));
    assert.match(cookie, /HttpOnly; SameSite=Lax; Max-Age=600/);
    const flow = JSON.parse(Buffer.from(cookie.split(';')[0].slice('lemma_oidc='.length), 'base64url').toString());
    assert.equal(flow.next, '/runs', `next ${next}`);
  }
});

test('with --oidc-create-users a first sign-in creates the user, with no project until granted one', async () => {
  const { context, page, problems } = await signinPage(open);
  await (await ssoButton(page)).click();
  await atProvider(page, 'bob');
  await page.waitForURL((url) => !url.pathname.startsWith('/signin') && url.host === new URL(open.url).host);
  const answer = await page.evaluate(async () => (await fetch('/api/v1/auth/session')).json());
  assert.equal(answer.user, 'bob@example.com');
  assert.deepEqual(answer.projects, []);
  assert.match(await cli(open, ['users', 'list']), /bob@example\.com/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a server without a provider offers no single sign-on', async () => {
  const { BASE_URL } = await import('../lib/harness.mjs');
  const methods = await (await fetch(`${BASE_URL}/api/v1/auth/methods`)).json();
  assert.deepEqual(methods, { password: true, oidc: null });
  const response = await fetch(`${BASE_URL}/api/v1/auth/oidc/start`, { redirect: 'manual' });
  assert.equal(response.status, 404);
});
