// Proxy sessions against a real Lemma: opened inside a run's agent span, the base URLs and
// variables Lemma answers, closing a session more than once, and a sub-agent in a child process
// that has nothing but the session's base URLs, whose model calls (through Lemma's LLM proxy to
// the fake LLM) nest under the agent span that opened the session.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { agent, flush, init, proxy, shutdown, withProxy } from '@lemma/sdk';

import { API_KEY, LEMMA_URL, agentSpan, outline, waitForRun } from './lemma.mjs';

/** What the fake LLM (tests/compat/fake_llm.py) answers a question when no tool is offered. */
const ANSWER = 'Order A-17 has shipped and will arrive on Friday.';

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

/** Runs proxy-child.mjs with exactly `env`; resolves to its exit code and output. */
function runSubAgent(model, env) {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./proxy-child.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, model], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a sub-agent without any Lemma SDK', () => {
  it("has its model calls recorded through the proxy, as children of the parent's agent span", async () => {
    const model = 'gpt-4o-mini';
    const threadId = 'thread-proxy-subagent';
    const userId = 'user-proxy-subagent';
    let env;
    const parent = agent({ name: 'proxy_delegator', threadId, userId }, async () =>
      withProxy(async (session) => {
        // All a sub-agent gets: a PATH, the session's base URLs and its own provider key. No
        // LEMMA_* variable, no TRACEPARENT or OTEL_*: only the URLs tie its calls to this span.
        env = { PATH: process.env.PATH ?? '', ...session.env, OPENAI_API_KEY: 'sk-fake-subagent' };
        return runSubAgent(model, env);
      }),
    );
    const { output: child, runId, spanId } = await parent.withRun('delegate to the sub-agent');

    assert.deepEqual(Object.keys(env).sort(), ['ANTHROPIC_BASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'PATH']);
    assert.equal(child.code, 0, `the sub-agent failed: ${child.stderr}`);
    assert.deepEqual(JSON.parse(child.stdout), { plain: ANSWER, streamed: ANSWER });

    await flush();
    const { run, spans } = await waitForRun(runId, 3);
    assert.equal(outline(spans), ['ai.agent.run (agent)', `  chat ${model} (llm)`, `  chat ${model} (llm)`].join('\n'));
    const root = agentSpan(spans, 'proxy_delegator');
    assert.equal(root.span_id, spanId);
    assert.equal(root.parent_span_id ?? null, null);

    // The plain call, then the streamed one: each a child of the agent span, in its thread.
    const calls = spans.filter((s) => s.kind === 'llm').sort((a, b) => a.start_time_unix_nano - b.start_time_unix_nano);
    assert.equal(calls.length, 2);
    const questions = ['Where is order A-17?', 'And when will it arrive?'];
    calls.forEach((call, i) => {
      const what = `model call ${i + 1} (${call.span_id})`;
      assert.equal(call.name, `chat ${model}`, what);
      assert.equal(call.parent_span_id, root.span_id, what);
      assert.equal(call.model, model, what);
      assert.equal(call.input_tokens, 50, what);
      assert.equal(call.output_tokens, 20, what);
      assert.deepEqual(call.input_messages, [{ role: 'user', parts: [{ type: 'text', content: questions[i] }] }], what);
      assert.equal(call.output_messages.length, 1, what);
      assert.deepEqual(call.output_messages[0].parts, [{ type: 'text', content: ANSWER }], what);
      assert.equal(call.thread_id, threadId, what);
      assert.equal(call.user_id, userId, what);
    });
    assert.ok(!JSON.stringify(spans).includes('sk-fake-subagent'), "the sub-agent's provider key is not recorded");

    assert.equal(run.agent_name, 'proxy_delegator');
    assert.equal(run.thread_id, threadId);
    assert.equal(run.user_id, userId);
    assert.equal(run.input_tokens, 100);
    assert.equal(run.output_tokens, 40);
  });
});
