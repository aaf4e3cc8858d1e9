// Proxy sessions against a real Lemma: opened inside a run's agent span, the base URLs and
// variables Lemma answers, and closing a session more than once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { agent, flush, init, proxy, shutdown, withProxy } from '@lemma/sdk';

import { API_KEY, LEMMA_URL, waitForRun } from './lemma.mjs';

before(() => init({ url: LEMMA_URL }));
after(() => shutdown());

/** DELETE the session `token` directly; Lemma's status. */
async function deleteSession(token) {
  const res = await fetch(`${LEMMA_URL}/api/v1/proxy/sessions/${encodeURIComponent(token)}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${API_KEY}` },
  });
  return res.status;
}

function assertSession(session) {
  assert.match(session.token, /^lps_/);
  assert.ok(
    session.openaiBaseUrl.includes(`/proxy/session/${session.token}/openai/v1`),
    session.openaiBaseUrl,
  );
  assert.ok(
    session.anthropicBaseUrl.includes(`/proxy/session/${session.token}/anthropic`),
    session.anthropicBaseUrl,
  );
  assert.equal(session.env.OPENAI_BASE_URL, session.openaiBaseUrl);
  assert.equal(session.env.ANTHROPIC_BASE_URL, session.anthropicBaseUrl);
  assert.ok(session.expiresAt, 'an expiry');
}

describe('proxy sessions', () => {
  it('are opened inside an agent span, and closing twice is harmless', async () => {
    let session;
    const planner = agent({ name: 'proxy_parent', threadId: 'thread-proxy-ts' }, async () => {
      session = await proxy({ userId: 'user-proxy-ts', ttlSeconds: 600 });
      await session.close();
      await session.close(); // already ended: Lemma answers 404, which is fine
      return 'delegated';
    });
    const { runId } = await planner.withRun('plan the work');
    assertSession(session);
    assert.equal(await deleteSession(session.token), 404, 'Lemma no longer knows the session');

    await flush();
    const { run } = await waitForRun(runId, 1);
    assert.equal(run.agent_name, 'proxy_parent');
  });

  it('withProxy() closes the session when its function is done', async () => {
    let seen;
    const result = await agent('proxy_with', async () =>
      withProxy(async (session) => {
        seen = session;
        return 'done';
      }),
    )('go');
    assert.equal(result, 'done');
    assertSession(seen);
    await seen.close(); // closed by withProxy already: harmless
    assert.equal(await deleteSession(seen.token), 404);
  });
});
