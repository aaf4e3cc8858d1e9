// A wrong key or an unreachable server: one clear warning, and the application runs on.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { afterEach, it, mock } from 'node:test';

import { agent, flush, init, shutdown } from '@lemma/sdk';

import { LEMMA_URL } from './lemma.mjs';

function captureWarnings() {
  const warnings = [];
  mock.method(console, 'warn', (...args) => void warnings.push(args.join(' ')));
  return warnings;
}

afterEach(async () => {
  await shutdown();
  mock.restoreAll();
});

it('warns once when the real server rejects the key, without throwing', async () => {
  const warnings = captureWarnings();
  init({ url: LEMMA_URL, apiKey: 'lm_not_a_key' });
  const a = agent('a', async (n) => n * 2);
  assert.equal(await a(2), 4);
  await flush();
  assert.equal(await a(3), 6);
  await flush();
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.ok(
    warnings[0].includes(`Lemma rejected the API key (401) at ${LEMMA_URL}: set LEMMA_API_KEY`),
    warnings[0],
  );
});

it('warns once when no server listens at the URL, without throwing', async () => {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));

  const warnings = captureWarnings();
  init({ url: `http://127.0.0.1:${port}`, timeoutMillis: 1000 });
  const a = agent('a', async () => 'ok');
  assert.equal(await a(), 'ok');
  await flush();
  await a();
  await flush();
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.ok(warnings[0].includes(`could not reach Lemma at http://127.0.0.1:${port}`), warnings[0]);
});
