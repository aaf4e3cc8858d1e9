// A streaming agent: the run stays open while the stream is read, and its output and duration
// cover the whole stream.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { agent, flush, init, shutdown, tool } from '@lemma/sdk';

import { LEMMA_URL, get, outline, waitForRun } from './lemma.mjs';

// Unbatched, so the tool span reaches Lemma while the stream is still being read.
before(() => init({ url: LEMMA_URL, batch: false }));
after(() => shutdown());

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

it('records the streamed output after the stream ends, with the full duration', async () => {
  const lookup = tool('lookup_order', async (id) => ({ id, status: 'shipped' }));
  const streamer = agent('streaming_agent', async function* (question) {
    const order = await lookup('A-17');
    for (const word of ['Order', ` ${order.id}`, ` has ${order.status}`, '.']) {
      await sleep(150);
      yield word;
    }
    void question;
  });

  const started = Date.now();
  const stream = streamer('Where is A-17?');
  const runId = streamer.lastRunId;
  let seenMidStream;
  const chunks = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (chunks.length === 2) {
      await flush();
      // The tool call has ended and arrived; the run's root has not.
      const { status, body } = await get(`/api/v1/runs/${runId}`);
      seenMidStream = { status, hasRoot: body?.run?.has_root, spans: body?.spans?.map((s) => s.name) };
    }
  }
  const elapsed = Date.now() - started;
  assert.equal(chunks.join(''), 'Order A-17 has shipped.');
  assert.deepEqual(seenMidStream, { status: 200, hasRoot: false, spans: ['execute_tool lookup_order'] });

  await flush();
  const { run, spans } = await waitForRun(runId, 2);
  assert.equal(outline(spans), 'ai.agent.run (agent)\n  execute_tool lookup_order (tool)');
  assert.equal(run.output, 'Order A-17 has shipped.');
  assert.equal(run.input, 'Where is A-17?');
  assert.equal(run.status, 'ok');
  assert.ok(run.duration_ms >= 600, `the run lasts the whole stream: ${run.duration_ms} ms`);
  assert.ok(run.duration_ms <= elapsed + 50, `${run.duration_ms} ms within the ${elapsed} ms measured`);
});

it('records an error that ends a stream', async () => {
  const broken = agent('broken_stream', async function* () {
    yield 'partial ';
    await sleep(100);
    throw new Error('upstream closed the connection');
  });
  const got = [];
  await assert.rejects(async () => {
    for await (const c of broken()) got.push(c);
  }, /upstream closed/);
  await flush();
  const { run } = await waitForRun(broken.lastRunId, 1);
  assert.equal(run.status, 'error');
  assert.equal(run.status_message, 'upstream closed the connection');
  assert.ok(run.duration_ms >= 100);
});
