// People signing in to the dashboard: accounts made with the real CLI on the server's store
// (`lemma users create/grant`, `lemma projects create`), sign-in with a password, the project
// switcher, keys and members managed on the settings page, what a viewer is offered, where the
// session lives (an HttpOnly cookie; no secret in sessionStorage), reloads and sign-out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BASE_URL, assertInert, kv, launch, lemmaCli, open, postSpans } from '../lib/harness.mjs';

const hex = (bytes) => randomBytes(bytes).toString('hex');
const SUFFIX = hex(3);
const PASSWORD = `a long enough password ${hex(4)}`;
const ADMIN = `ada-${SUFFIX}`;
const VIEWER = `vic-${SUFFIX}`;
const NEWCOMER = `bob-${SUFFIX}`;
const SECOND = `accounts-${SUFFIX}`;
const HOSTILE = '<img src=x onerror=alert(1)>';
const DEFAULT_AGENT = `accounts-default-${SUFFIX}`;
const SECOND_AGENT = `accounts-second-${SUFFIX}`;
const SESSION_ITEMS = ['lemma.csrf', 'lemma.mode', 'lemma.project', 'lemma.user'];

let browser;
let defaultRun;
before(async () => {
  browser = await launch();
  await lemmaCli(['projects', 'create', SECOND]);
  await lemmaCli(['projects', 'create', HOSTILE]);
  await addUser(ADMIN, [['default', 'admin'], [SECOND, 'admin']]);
  await addUser(VIEWER, [['default', 'viewer'], [HOSTILE, 'viewer']]);
  await addUser(NEWCOMER, []);
  defaultRun = await postRun(DEFAULT_AGENT);
});
after(async () => { await browser?.close(); });

async function addUser(name, grants) {
  await lemmaCli(['users', 'create', name, '--password-stdin'], { input: PASSWORD });
  for (const [project, role] of grants) {
    await lemmaCli(['users', 'grant', name, '--project', project, '--role', role]);
  }
}

/** A one-span run of `agent`, sent with `key` (the bootstrap key, of "default", if none). */
async function postRun(agent, key) {
  const traceId = hex(16);
  const now = BigInt(Date.now()) * 1000000n;
  const spans = [{
    traceId, spanId: hex(8), name: `invoke_agent ${agent}`, kind: 1,
    startTimeUnixNano: String(now - 2000000000n), endTimeUnixNano: String(now),
    attributes: [kv('gen_ai.operation.name', 'invoke_agent'), kv('gen_ai.agent.name', agent)],
  }];
  if (!key) {
    await postSpans('accounts-tests', spans);
    return traceId;
  }
  const response = await fetch(new URL('/v1/traces', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', 'accounts-tests')] }, scopeSpans: [{ scope: { name: 'dashboard-tests' }, spans }] }] }),
  });
  assert.equal(response.status, 200, 'OTLP export with the new key accepted');
  return traceId;
}

async function withKey(key, path) {
  const response = await fetch(new URL(`/api/v1${path}`, BASE_URL), { headers: { Authorization: `Bearer ${key}` } });
  return response.status;
}

/** A request made by the page itself, with its session (the cookie, the CSRF token and project it keeps). */
async function sessionFetch(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const headers = { Accept: 'application/json', 'X-Lemma-Project': sessionStorage.getItem('lemma.project') };
    if (b !== null) headers['Content-Type'] = 'application/json';
    if (m !== 'GET') headers['X-CSRF-Token'] = sessionStorage.getItem('lemma.csrf');
    const response = await fetch(`/api/v1${p}`, { method: m, headers, body: b === null ? undefined : JSON.stringify(b) });
    return { status: response.status, json: await response.json().catch(() => null) };
  }, [method, path, body ?? null]);
}

async function signIn(page, user, password = PASSWORD) {
  await page.getByTestId('username').fill(user);
  await page.getByTestId('password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function storedItems(page) {
  return page.evaluate(() => Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)])));
}

function runRow(page, runId) {
  return page.locator(`[data-testid="runs-table"] tbody tr[data-run-id="${runId}"]`);
}

async function eventually(check, what) {
  for (let i = 0; i < 100; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  throw new Error(`never: ${what}`);
}

test('a wrong password is refused with a message, and nothing is kept', async () => {
  const { page, done } = await open(browser, '/signin', { signedIn: false });
  // The view is loaded on first use, possibly after the page's load event.
  await page.getByTestId('username').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'username', 'the user name has the focus');
  await signIn(page, ADMIN, 'not the password at all');
  await page.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor();
  assert.match(page.url(), /\/signin$/);
  assert.deepEqual(await storedItems(page), {});
  assert.equal((await page.context().cookies()).filter((c) => c.name === 'lemma_session').length, 0);
  // Half a form says what is missing, without asking the server.
  await page.getByTestId('password').fill('');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Enter your password.' }).waitFor();
  await done();
});

test('an admin of two projects switches between them, and the data follows', async () => {
  const { page, done } = await open(browser, '/runs', { signedIn: false });
  await page.waitForURL(/\/signin\?next=%2Fruns/);
  await signIn(page, ADMIN);
  await page.waitForURL(/\/runs$/);
  assert.equal(await page.getByTestId('signed-in-user').textContent(), ADMIN);
  const switcher = page.getByTestId('project-switcher');
  await switcher.waitFor();
  assert.equal(await page.getByTestId('project-badge').isVisible(), false, 'the switcher replaces the badge');
  assert.deepEqual((await switcher.locator('option').allTextContents()).sort(),
    [`${SECOND} — admin`, 'default — admin'].sort(), 'each project with the role in it');

  await switcher.selectOption('default');
  await runRow(page, defaultRun).waitFor();

  // The other project has no runs yet.
  await switcher.selectOption(SECOND);
  await page.locator('[data-testid="welcome"], [data-testid="empty"]').first().waitFor();
  assert.equal(await runRow(page, defaultRun).count(), 0, 'default\'s runs are gone');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lemma.project')), SECOND);

  // A key for an app of that project: ingest only, its secret shown once.
  await page.locator('.nav-link', { hasText: 'Settings' }).click();
  await page.getByTestId('keys-table').waitFor();
  assert.equal(await page.getByTestId('project-name').textContent(), SECOND);
  assert.equal(await page.getByTestId('settings-role').textContent(), 'admin');
  assert.equal(await page.getByTestId('settings-locked').count(), 0);
  assert.equal(await page.getByTestId('erase-locked').count(), 0, 'an admin may erase a user');
  assert.equal(await page.getByTestId('key-row').count(), 0, 'the new project has no keys');
  assert.equal(await page.getByTestId('key-scope').inputValue(), 'ingest', 'the least scope is the default');
  await page.getByTestId('key-create').click();
  const secretField = page.getByTestId('key-secret');
  await secretField.waitFor();
  const secret = await secretField.inputValue();
  assert.match(secret, /^lm_/);
  assert.match(await page.getByTestId('key-created').textContent(), /Copy this key now: it is shown only once\./);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'key-secret', 'the secret has the focus, to copy');
  const row = page.getByTestId('key-row');
  await row.waitFor();
  assert.equal(await row.count(), 1);
  assert.equal(await row.getAttribute('data-scope'), 'ingest');
  const publicKey = await row.getByTestId('key-public').textContent();
  assert.match(publicKey, /^pk-lm-/);
  assert.equal(await row.getByTestId('key-hint').textContent(), `${secret.slice(0, 7)}…`);
  assert.equal(await row.getByTestId('key-status').textContent(), 'Active');
  assert.ok(!(await page.getByTestId('keys-table').textContent()).includes(secret), 'the table never shows the secret');

  const secondRun = await postRun(SECOND_AGENT, secret);
  assert.equal(await withKey(secret, '/runs'), 403, 'an ingest key reads nothing');

  await page.getByTestId('key-secret-done').click();
  await page.getByTestId('key-created').waitFor({ state: 'detached' });
  const pageText = () => page.evaluate(() => document.documentElement.outerHTML + [...document.querySelectorAll('input')].map((i) => i.value).join('\n'));
  assert.ok(!(await pageText()).includes(secret), 'once done, the secret is gone from the page');
  await page.reload();
  await page.getByTestId('key-row').waitFor();
  assert.ok(!(await pageText()).includes(secret), 'and it is not shown again');

  // The run sent with the key is in this project only.
  await page.locator('.nav-link', { hasText: 'Runs' }).click();
  await runRow(page, secondRun).waitFor({ timeout: 15000 });
  assert.equal(await runRow(page, defaultRun).count(), 0);
  await switcher.selectOption('default');
  await runRow(page, defaultRun).waitFor();
  assert.equal(await runRow(page, secondRun).count(), 0, 'the other project\'s run is not in default');
  await switcher.selectOption(SECOND);
  await runRow(page, secondRun).waitFor();

  // Revoking asks first, then the key stops working.
  await page.locator('.nav-link', { hasText: 'Settings' }).click();
  await page.getByTestId('key-row').waitFor();
  await page.getByTestId('key-revoke').click();
  const dialog = page.getByTestId('revoke-dialog');
  await dialog.waitFor();
  assert.match(await dialog.getByTestId('revoke-question').textContent(), /^Revoke the ingest key pk-lm-/);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'revoke-cancel', 'the safe choice has the focus');
  await dialog.getByTestId('revoke-cancel').click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await withKey(secret, '/project'), 200, 'cancelling revokes nothing (any live key names its project)');
  await page.getByTestId('key-revoke').click();
  await dialog.getByTestId('revoke-confirm').click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByTestId('keys-status').filter({ hasText: 'Revoked pk-lm-' }).waitFor();
  assert.equal(await page.getByTestId('key-status').textContent(), 'Revoked');
  assert.equal(await page.getByTestId('key-revoke').count(), 0, 'a revoked key cannot be revoked again');
  await eventually(async () => (await withKey(secret, '/project')) === 401, 'the revoked key is refused with 401');

  // Members: an existing user is added, their role changed, then taken out.
  const members = page.getByTestId('members-table');
  await members.waitFor();
  const me = page.locator(`[data-testid="member-row"][data-user="${ADMIN}"]`);
  assert.equal(await me.getByTestId('member-role').inputValue(), 'admin');
  assert.equal(await me.getByTestId('member-role').isDisabled(), true, 'one\'s own role is changed by another admin');
  await page.getByTestId('member-add-user').fill(`nobody-${SUFFIX}`);
  await page.getByTestId('member-add').click();
  await page.getByTestId('members-error').filter({ hasText: `There is no user “nobody-${SUFFIX}”` }).waitFor();

  await page.getByTestId('member-add-user').fill(NEWCOMER);
  await page.getByTestId('member-add-role').selectOption('member');
  await page.getByTestId('member-add').click();
  await page.getByTestId('members-status').filter({ hasText: `${NEWCOMER} was added as a member.` }).waitFor();
  assert.equal(await page.getByTestId('members-error').textContent(), '');
  const bob = page.locator(`[data-testid="member-row"][data-user="${NEWCOMER}"]`);
  await bob.waitFor();
  assert.equal(await bob.getByTestId('member-role').inputValue(), 'member');
  let listed = await sessionFetch(page, 'GET', '/members');
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.json.members.find((m) => m.user === NEWCOMER), { user: NEWCOMER, role: 'member' });

  await bob.getByTestId('member-role').selectOption('viewer');
  await page.getByTestId('members-status').filter({ hasText: `${NEWCOMER} is now a viewer (was a member).` }).waitFor();
  listed = await sessionFetch(page, 'GET', '/members');
  assert.deepEqual(listed.json.members.find((m) => m.user === NEWCOMER), { user: NEWCOMER, role: 'viewer' });

  await bob.getByTestId('member-remove').click();
  const removeDialog = page.getByTestId('member-remove-dialog');
  assert.match(await removeDialog.getByTestId('member-remove-question').textContent(), new RegExp(`^Take ${NEWCOMER} out of “${SECOND}”\\?`));
  await removeDialog.getByTestId('member-remove-confirm').click();
  await bob.waitFor({ state: 'detached' });
  listed = await sessionFetch(page, 'GET', '/members');
  assert.deepEqual(listed.json.members.map((m) => m.user), [ADMIN]);

  // The settings page follows the switcher too.
  await switcher.selectOption('default');
  await page.getByTestId('project-name').filter({ hasText: /^default$/ }).waitFor();
  await page.getByTestId('keys-table').waitFor();
  assert.ok(!(await page.getByTestId('keys-table').textContent()).includes(publicKey), 'default lists its own keys only');
  await assertInert(page);
  await done();
});

test('a viewer is shown what they cannot change, the server refuses it, and the session is kept safe', async () => {
  const { page, problems, done } = await open(browser, '/settings', { signedIn: false });
  await page.waitForURL(/\/signin/);
  await signIn(page, VIEWER);
  await page.waitForURL(/\/settings$/);

  // A project named like markup is a name in the switcher, nothing more.
  const switcher = page.getByTestId('project-switcher');
  await switcher.waitFor();
  assert.deepEqual((await switcher.locator('option').allTextContents()).sort(),
    [`${HOSTILE} — viewer`, 'default — viewer'].sort());
  await switcher.selectOption(HOSTILE);
  await page.getByTestId('project-name').filter({ hasText: HOSTILE }).waitFor();
  assert.equal(await page.getByTestId('settings-locked').textContent(),
    `You are a viewer of “${HOSTILE}”: only an admin can change its settings. They are shown here as they are set.`);
  await assertInert(page);

  await switcher.selectOption('default');
  await page.getByTestId('project-name').filter({ hasText: /^default$/ }).waitFor();
  await page.getByTestId('retention-form').waitFor();
  assert.equal(await page.getByTestId('settings-role').textContent(), 'viewer');
  assert.match(await page.getByTestId('settings-locked').textContent(), /^You are a viewer of “default”: only an admin can change its settings\./);
  assert.equal(await page.getByTestId('retention-save').isVisible(), false);
  assert.equal(await page.getByTestId('retention-days').isDisabled(), true);
  assert.equal(await page.getByTestId('retention-forever').isDisabled(), true);
  await page.getByTestId('redaction-form').waitFor();
  assert.equal(await page.getByTestId('redaction-save').isVisible(), false);
  assert.equal(await page.getByTestId('redaction-preview-run').isDisabled(), true);
  assert.match(await page.getByTestId('access-note').textContent(), /An admin of “default” manages its API keys/);
  assert.equal(await page.getByTestId('keys').count(), 0, 'no keys section to fail');
  assert.equal(await page.getByTestId('members').count(), 0);
  // Erasing a user deletes runs: a viewer may count a user's runs, not erase them.
  const eraseWhy = 'You are a viewer of “default”: only a member or an admin can erase a user’s runs.';
  assert.equal(await page.getByTestId('erase-locked').textContent(), eraseWhy);
  await page.getByTestId('erase-user').fill(`nobody-${SUFFIX}`);
  await page.getByTestId('erase-count').click();
  assert.equal(await page.getByTestId('erase-count-summary').textContent(), `No run holds nobody-${SUFFIX}: there is nothing to erase.`);
  assert.equal(await page.getByTestId('erase-start').isDisabled(), true);
  assert.equal(await page.getByTestId('erase-start-locked').getAttribute('title'), eraseWhy);

  // The server decides: the page's own session cannot change retention.
  const refused = await sessionFetch(page, 'PUT', '/project/retention', { days: 3 });
  assert.equal(refused.status, 403);
  assert.match(refused.json.error.message, new RegExp(`${VIEWER} is a viewer of project "default"`));
  // That 403 is the test's doing: the browser logs it as a failed load.
  const logged = problems.findIndex((p) => /status of 403/.test(p));
  if (logged >= 0) problems.splice(logged, 1);

  // A viewer cannot delete runs: the button is off and says why.
  await page.locator('.nav-link', { hasText: 'Runs' }).click();
  const locked = page.getByTestId('delete-runs-locked');
  await locked.waitFor();
  assert.equal(await page.getByTestId('delete-runs').isDisabled(), true);
  assert.equal(await locked.getAttribute('title'), 'You are a viewer of “default”: only a member or an admin can delete runs.');

  // The session is a cookie the page cannot read; sessionStorage holds no secret.
  const cookies = (await page.context().cookies()).filter((c) => c.name === 'lemma_session');
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].sameSite, 'Strict');
  assert.ok(!(await page.evaluate(() => document.cookie)).includes('lemma_session'), 'not visible to document.cookie');
  const stored = await storedItems(page);
  assert.deepEqual(Object.keys(stored).sort(), SESSION_ITEMS);
  assert.equal(stored['lemma.mode'], 'account');
  assert.equal(stored['lemma.user'], VIEWER);
  for (const value of Object.values(stored)) {
    assert.ok(!value.includes(PASSWORD), 'no password');
    assert.ok(!value.includes(cookies[0].value), 'no session token');
  }

  // A reload keeps the session and the project chosen.
  await page.reload();
  await page.locator('[data-testid="runs-table"] tbody tr[data-run-id]').first().waitFor();
  assert.equal(await page.getByTestId('signed-in-user').textContent(), VIEWER);
  assert.equal(await switcher.inputValue(), 'default');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lemma.csrf')), stored['lemma.csrf']);

  // A new tab has nothing stored: the cookie alone signs it in, without typing.
  const tab = await page.context().newPage();
  await tab.goto('/signin?next=%2Fstats');
  await tab.waitForURL(/\/stats$/);
  assert.equal(await tab.getByTestId('signed-in-user').textContent(), VIEWER);
  await tab.close();

  // Signing out ends the session on the server: a reload shows the sign-in page.
  await page.getByTestId('sign-out').click();
  await page.waitForURL(/\/signin$/);
  assert.deepEqual(await storedItems(page), {});
  assert.equal((await page.context().cookies()).filter((c) => c.name === 'lemma_session').length, 0, 'the cookie is cleared');
  assert.equal(await sessionFetch(page, 'GET', '/auth/session').then((r) => r.status), 401);
  await page.reload();
  await page.getByTestId('signin-form').waitFor();
  assert.match(page.url(), /\/signin$/);
  await page.goto('/runs');
  await page.waitForURL(/\/signin\?next=%2Fruns/);
  await done();
});

test('an old session ends with a message asking to sign in again', async () => {
  const { page, done } = await open(browser, '/signin', { signedIn: false });
  await signIn(page, ADMIN);
  await page.waitForURL(/\/runs$/);
  // The server forgets the session (as after a password change, or its 7 days).
  await page.context().clearCookies();
  await page.goto('/stats');
  await page.waitForURL(/\/signin/);
  assert.deepEqual(await storedItems(page), {}, 'nothing is left of the old session');
  await page.getByTestId('signin-form').waitFor();
  await done();
});
