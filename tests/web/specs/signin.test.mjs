import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, launch, open } from '../lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a page asks for a key first, then shows what was asked for', async () => {
  const { page, done } = await open(browser, '/threads', { signedIn: false });
  await page.waitForURL(/\/signin\?next=%2Fthreads/);
  await page.getByTestId('api-key').fill(API_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/threads$/);
  assert.equal(await page.locator('.project-badge').textContent(), 'default');
  await done();
});

test('a wrong key is refused with a message and nothing is stored', async () => {
  const { page, done } = await open(browser, '/signin', { signedIn: false });
  await page.getByTestId('api-key').fill('not-a-real-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lemma.apiKey')), null);
  assert.match(page.url(), /\/signin$/);
  await done();
});

test('signing out forgets the key', async () => {
  const { page, done } = await open(browser, '/stats');
  await page.getByTestId('sign-out').click();
  await page.waitForURL(/\/signin$/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lemma.apiKey')), null);
  await page.goto('/runs');
  await page.waitForURL(/\/signin/);
  await done();
});

test('the page is served with a policy that forbids inline and foreign scripts', async () => {
  const { page, done } = await open(browser, '/signin', { signedIn: false });
  const response = await page.goto('/runs');
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  await done();
});
