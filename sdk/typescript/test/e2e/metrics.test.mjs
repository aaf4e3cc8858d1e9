// metric() and run.metric() against a real Lemma: events posted before and after the run's
// spans arrive, read back through the metrics route and on the run.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { LemmaApiError, agent, flush, init, metric, shutdown } from '@lemma/sdk';

import { LEMMA_URL, get, waitForRun } from './lemma.mjs';

before(() => init({ url: LEMMA_URL }));
after(() => shutdown());

describe('metric events', () => {
  it('are stored before and after the run is flushed, and read back on the run', async () => {
    let early;
    const graded = agent('graded_agent', async (question, run) => {
      // The run is still going on: none of its spans has been exported yet.
      assert.equal((await get(`/api/v1/runs/${run.runId}`)).status, 404);
      early = await run.metric('progress', 0.5, { comment: 'halfway' });
      return `answer to ${question}`;
    });
    const { runId, spanId } = await graded.withRun('the refund policy');
    assert.equal(early.run_id, runId);
    assert.equal(early.name, 'progress');
    assert.equal(early.value, 0.5);
    assert.equal(early.comment, 'halfway');
    assert.equal(early.source, 'sdk');
    assert.equal(typeof early.id, 'string');

    // Read back before the spans arrive too.
    const pending = await get(`/api/v1/runs/${runId}/metrics`);
    assert.equal(pending.status, 200);
    assert.deepEqual(pending.body.metrics, [early]);

    await flush();
    await waitForRun(runId, 1);
    const late = await metric(runId, 'helpful', false, { source: 'user', comment: 'too vague', spanId });
    const label = await metric(runId, 'category', 'refund');
    assert.equal(late.span_id, spanId);
    assert.equal(late.source, 'user');

    const listed = await get(`/api/v1/runs/${runId}/metrics`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.metrics, [early, late, label]);

    const { run } = (await get(`/api/v1/runs/${runId}`)).body;
    assert.equal(run.agent_name, 'graded_agent');
    assert.deepEqual(
      run.metrics.map((m) => [m.name, m.value, m.source]),
      [
        ['progress', 0.5, 'sdk'],
        ['helpful', false, 'user'],
        ['category', 'refund', 'sdk'],
      ],
    );
  });

  it("rejects a bad event with the server's reason, storing nothing", async () => {
    const { runId } = await agent('rejected_agent', async () => 'ok').withRun();
    await assert.rejects(metric(runId, 'label', 'x'.repeat(1001)), (error) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 400);
      assert.match(error.message, /HTTP 400\): a text value must be at most 1000 characters, not 1001/);
      return true;
    });
    await assert.rejects(metric(runId, 'not a name', 1), (error) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 400);
      assert.match(error.message, /not a name/);
      return true;
    });
    await assert.rejects(metric('not-a-run', 'score', 1), /is not a run ID: expected 32 hex characters/);
    assert.deepEqual((await get(`/api/v1/runs/${runId}/metrics`)).body.metrics, []);
  });

  it('rejects with a clear message when the key is refused', async () => {
    const { runId } = await agent('unauthorised_agent', async () => 'ok').withRun();
    await assert.rejects(metric(runId, 'score', 1, { apiKey: 'lm_not_a_key' }), (error) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 401);
      assert.match(error.message, /set LEMMA_API_KEY/);
      return true;
    });
  });
});
