// The Vercel AI SDK v6 (`ai@6` with `@ai-sdk/openai@3`) and its `experimental_telemetry`
// (the `ai.*` spans), exported as OTLP/HTTP JSON like the fixture `vercel_ai`.
//
// Three runs, all with functionId `support-agent` and metadata sessionId `sess-v6-1`,
// userId `user-v6-1`:
//
// 1. generateText: the model calls `lookup_order`, then answers.
// 2. streamText: the same conversation, streamed (the provider asks for usage in the stream).
// 3. generateText with a question the model rejects (HTTP 400): the call throws.

import { createOpenAI } from 'ai-sdk-openai-v3';
import { generateText, stepCountIs, streamText, tool } from 'ai-v6';
import { z } from 'zod';

import * as h from './harness.mjs';

const provider = h.registerTracing('compat-vercel-ai-v6', [h.batchProcessor('json')]);

const openai = createOpenAI({ baseURL: h.openaiBaseUrl(), apiKey: h.openaiApiKey() });

const tools = {
  lookup_order: tool({
    description: 'Look up an order by id',
    inputSchema: z.object({ order_id: z.string() }),
    execute: async ({ order_id }) => h.lookupOrderResult(order_id),
  }),
};

const telemetry = (run) => ({
  isEnabled: true,
  functionId: 'support-agent',
  metadata: { sessionId: 'sess-v6-1', userId: 'user-v6-1', run },
});

const common = {
  model: openai.chat(h.MODEL),
  system: h.SYSTEM_PROMPT,
  tools,
  stopWhen: stepCountIs(5),
  temperature: 0,
  maxRetries: 0,
};

const generated = await generateText({
  ...common,
  prompt: h.QUESTION,
  experimental_telemetry: telemetry('generate'),
});
console.log('generateText:', generated.text);

const streamed = streamText({
  ...common,
  prompt: h.QUESTION,
  experimental_telemetry: telemetry('stream'),
});
let text = '';
for await (const delta of streamed.textStream) text += delta;
console.log('streamText:', text);

try {
  await generateText({
    ...common,
    prompt: h.FAILING_QUESTION,
    experimental_telemetry: telemetry('fail'),
  });
  throw new Error('the failing question did not fail');
} catch (e) {
  if (!/asked to fail/.test(String(e?.message))) throw e;
  console.log('failed as planned:', e.message);
}

await provider.shutdown();
