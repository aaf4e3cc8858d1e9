// The Vercel AI SDK v7 (`ai@7` with `@ai-sdk/openai@4`) traced by `@ai-sdk/otel`, exported as
// OTLP/HTTP protobuf.
//
// `node vercel_ai_v7.mjs genai` registers the `OpenTelemetry` integration (GenAI-shaped spans:
// invoke_agent → step → chat / execute_tool); `node vercel_ai_v7.mjs legacy` registers
// `LegacyOpenTelemetry` (the `ai.*` spans of v6 and before).
//
// Three runs, all with functionId `support-agent` and the runtime context sessionId
// `sess-v7-<mode>`, userId `user-v7-1` (included in telemetry with `includeRuntimeContext`):
//
// 1. generateText: the model calls `lookup_order`, then answers.
// 2. streamText: the same conversation, streamed (the provider asks for usage in the stream).
// 3. generateText with a question the model rejects (HTTP 400): the call throws.

import { createOpenAI } from '@ai-sdk/openai';
import { LegacyOpenTelemetry, OpenTelemetry } from '@ai-sdk/otel';
import { generateText, registerTelemetry, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';

import * as h from './harness.mjs';

const mode = process.argv[2];
if (mode !== 'genai' && mode !== 'legacy') {
  console.error('usage: node vercel_ai_v7.mjs genai|legacy');
  process.exit(2);
}

const provider = h.registerTracing(`compat-vercel-ai-v7-${mode}`, [h.batchProcessor('protobuf')]);
registerTelemetry(
  mode === 'legacy' ? new LegacyOpenTelemetry() : new OpenTelemetry({ runtimeContext: true }),
);

const openai = createOpenAI({ baseURL: h.openaiBaseUrl(), apiKey: h.openaiApiKey() });

const tools = {
  lookup_order: tool({
    description: 'Look up an order by id',
    inputSchema: z.object({ order_id: z.string() }),
    execute: async ({ order_id }) => h.lookupOrderResult(order_id),
  }),
};

const common = {
  model: openai.chat(h.MODEL),
  system: h.SYSTEM_PROMPT,
  tools,
  stopWhen: stepCountIs(5),
  temperature: 0,
  maxRetries: 0,
  runtimeContext: { sessionId: `sess-v7-${mode}`, userId: 'user-v7-1' },
  telemetry: {
    functionId: 'support-agent',
    includeRuntimeContext: { sessionId: true, userId: true },
  },
};

const generated = await generateText({ ...common, prompt: h.QUESTION });
console.log('generateText:', generated.text);

const streamed = streamText({ ...common, prompt: h.QUESTION });
let text = '';
for await (const delta of streamed.textStream) text += delta;
console.log('streamText:', text);

try {
  await generateText({ ...common, prompt: h.FAILING_QUESTION });
  throw new Error('the failing question did not fail');
} catch (e) {
  if (!/asked to fail/.test(String(e?.message))) throw e;
  console.log('failed as planned:', e.message);
}

await provider.shutdown();
