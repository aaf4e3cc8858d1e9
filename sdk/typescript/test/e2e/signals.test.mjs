// run.signals() against a real Lemma: an agent, holding only an ingest key as agents do, checks
// its own run after each failed tool call and escalates once Lemma finds something critical.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { LemmaApiError, agent, flush, init, shutdown, withTool } from '@lemma/sdk';

import { API_KEY, LEMMA_URL, get, outline, waitForRun } from './lemma.mjs';

/** A new key of the project with `scope`, made with the admin key the tests were given. */
async function createKey(scope) {
  const res = await fetch(`${LEMMA_URL}/api/v1/keys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scope }),
  });
  assert.equal(res.status, 201);
  return (await res.json()).secret;
}

before(async () => init({ url: LEMMA_URL, apiKey: await createKey('ingest') }));
after(() => shutdown());

describe("a run's signals", () => {
  it('are read mid-run, with the failed calls flushed first, and the agent escalates', async () => {
    const checks = [];
    const failed = [];
    const lookupOrder = (attempt) =>
      withTool('lookup_order', { orderId: 'A-17', attempt }, (call) => {
        failed.push(call.spanId);
        throw new Error('order service timed out');
      });
    const support = agent('signals_agent', async (question, run) => {
      for (let attempt = 1; attempt <= 5; attempt++) {
        try {
          lookupOrder(attempt);
        } catch {
          // the agent tries again, unless Lemma says it should not
        }
        const answer = await run.signals();
        checks.push(answer);
        const [worst] = answer.critical;
        if (worst) return `escalated: ${worst.explanation}`;
      }
      return 'gave up';
    });
    const { output, runId } = await support.withRun('Where is my order A-17?');

    // Checked after each failure: the first two found nothing critical, the third a streak.
    assert.equal(checks.length, 3);
    checks.forEach((check, i) => {
      assert.equal(check.runId, runId);
      // The agent span was still open, and every failed call had been flushed to Lemma.
      assert.equal(check.inProgress, true);
      assert.equal(check.spanCount, i + 1);
      assert.equal(typeof check.evaluatedAt, 'string');
    });
    assert.deepEqual(checks[0].critical, []);
    assert.deepEqual(checks[1].critical, []);
    const [streak] = checks[2].signals; // most severe first
    assert.equal(streak.kind, 'error_streak');
    assert.equal(streak.severity, 'critical');
    assert.equal(streak.source, 'rule');
    assert.equal(streak.spanId, failed[0]); // the first failed tool call
    assert.equal(streak.repeats, 3);
    assert.match(streak.explanation, /order service timed out/);
    assert.deepEqual(checks[2].critical, [streak]);
    assert.equal(output, `escalated: ${streak.explanation}`);

    // The run ended after: Lemma has all of it, and reads the same signal.
    await flush();
    const { run, spans } = await waitForRun(runId, 4);
    assert.equal(run.output, output);
    const calls = spans.filter((s) => s.kind === 'tool');
    assert.deepEqual(calls.map((s) => s.span_id).sort(), [...failed].sort());
    assert.ok(calls.every((s) => s.status === 'error'), outline(spans));
    const ended = await get(`/api/v1/runs/${runId}/signals`);
    assert.equal(ended.status, 200);
    assert.equal(ended.body.in_progress, false);
    assert.equal(ended.body.signals[0].kind, 'error_streak');
  });

  it("rejects with the server's reason when Lemma has no span of the run yet", async () => {
    const lonely = agent('quiet_agent', async (_question, run) => {
      await assert.rejects(run.signals(), (error) => {
        assert.ok(error instanceof LemmaApiError);
        assert.equal(error.status, 404);
        assert.match(error.message, /HTTP 404\): run [0-9a-f]{32} not found/);
        return true;
      });
      return 'ok';
    });
    await lonely('Hello?');
  });
});
