// An OpenInference-instrumented OpenAI call (against the fake LLM) nests under agent() and
// carries the run context, because Lemma's processor sees every span of the provider.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import OpenAI from 'openai';
import { agent, flush, init, shutdown, withContext } from '@lemma/sdk';

import { LEMMA_URL, OPENAI_BASE_URL, agentSpan, outline, waitForRun } from './lemma.mjs';

let client;
before(() => {
  init({ url: LEMMA_URL, serviceName: 'openinference-e2e' });
  // ESM modules are not patched on import: instrument the module by hand.
  new OpenAIInstrumentation().manuallyInstrument(OpenAI);
  client = new OpenAI({ baseURL: OPENAI_BASE_URL(), apiKey: 'sk-fake' });
});
after(() => shutdown());

it('shows the model call as an llm span with tokens under the agent', async () => {
  const support = agent('support_agent', async (question) => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You answer questions about orders.' },
        { role: 'user', content: question },
      ],
    });
    return completion.choices[0].message.content;
  });
  const { output, runId } = await withContext({ threadId: 'thread-oi', userId: 'u-oi' }, () =>
    support.withRun('Where is my order A-17?'),
  );
  assert.equal(output, 'Order A-17 has shipped and will arrive on Friday.');
  await flush();

  const { run, spans } = await waitForRun(runId, 2);
  assert.equal(outline(spans), 'ai.agent.run (agent)\n  OpenAI Chat Completions (llm)');
  const model = spans.find((s) => s.kind === 'llm');
  assert.equal(model.parent_span_id, agentSpan(spans, 'support_agent').span_id);
  assert.equal(model.model, 'gpt-4o-mini');
  assert.equal(model.input_tokens, 50);
  assert.equal(model.output_tokens, 20);
  assert.equal(model.thread_id, 'thread-oi', 'the run context reaches spans of other instrumentations');
  assert.equal(model.user_id, 'u-oi');
  assert.equal(model.output_messages[0].parts[0].content, 'Order A-17 has shipped and will arrive on Friday.');
  assert.equal(run.input_tokens, 50);
  assert.equal(run.output_tokens, 20);
  assert.equal(run.output, 'Order A-17 has shipped and will arrive on Friday.');
});
