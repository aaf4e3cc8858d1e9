// The Langfuse JS/TS SDK: `@langfuse/tracing` observations exported by `@langfuse/otel`'s
// LangfuseSpanProcessor, which posts to `<baseUrl>/api/public/otel/v1/traces` with Basic auth
// `publicKey:secretKey`.
//
// The model is called with plain fetch (a hand-rolled client), and every call is recorded as a
// generation by hand, as an application without an instrumented SDK would. One run,
// `support-request` (trace name set with propagateAttributes, with user `user-lfjs-4`, session
// `sess-lfjs-1`, tags and metadata):
//
//     support-agent (agent)
//       chat-plan (generation) → the model calls lookup_order
//       lookup_order (tool)
//       chat-answer (generation)
//       notify-customer (span at level ERROR)

import { LangfuseSpanProcessor } from '@langfuse/otel';
import { propagateAttributes, startActiveObservation } from '@langfuse/tracing';

import * as h from './harness.mjs';

const provider = h.registerTracing('compat-langfuse-js', [
  new LangfuseSpanProcessor({
    publicKey: h.publicKey(),
    secretKey: h.apiKey(),
    baseUrl: h.lemmaUrl(),
  }),
]);

const LOOKUP_ORDER_TOOL = {
  type: 'function',
  function: {
    name: 'lookup_order',
    description: 'Look up an order by id',
    parameters: {
      type: 'object',
      properties: { order_id: { type: 'string' } },
      required: ['order_id'],
    },
  },
};

async function chatCompletion(messages) {
  const response = await fetch(`${h.openaiBaseUrl()}/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${h.openaiApiKey()}` },
    body: JSON.stringify({ model: h.MODEL, messages, tools: [LOOKUP_ORDER_TOOL], temperature: 0 }),
  });
  if (!response.ok) throw new Error(`chat completion failed: ${response.status}`);
  return response.json();
}

/** One model call, recorded as a Langfuse generation. */
function generation(name, messages) {
  return startActiveObservation(
    name,
    async (gen) => {
      gen.update({ model: h.MODEL, modelParameters: { temperature: 0 }, input: messages });
      const completion = await chatCompletion(messages);
      gen.update({
        output: completion.choices[0].message,
        usageDetails: {
          input: completion.usage.prompt_tokens,
          output: completion.usage.completion_tokens,
          total: completion.usage.total_tokens,
        },
      });
      return completion.choices[0].message;
    },
    { asType: 'generation' },
  );
}

const answer = await startActiveObservation(
  'support-agent',
  async (agent) =>
    propagateAttributes(
      {
        traceName: 'support-request',
        userId: 'user-lfjs-4',
        sessionId: 'sess-lfjs-1',
        tags: ['compat', 'langfuse-js'],
        metadata: { tier: 'gold' },
      },
      async () => {
        agent.update({ input: { question: h.QUESTION } });
        const messages = [
          { role: 'system', content: h.SYSTEM_PROMPT },
          { role: 'user', content: h.QUESTION },
        ];
        const plan = await generation('chat-plan', messages);
        messages.push(plan);
        for (const call of plan.tool_calls ?? []) {
          const args = JSON.parse(call.function.arguments);
          const result = await startActiveObservation(
            call.function.name,
            async (tool) => {
              tool.update({ input: args });
              const out = h.lookupOrderResult(args.order_id);
              tool.update({ output: out });
              return out;
            },
            { asType: 'tool' },
          );
          messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(result) });
        }
        const reply = await generation('chat-answer', messages);
        await startActiveObservation('notify-customer', async (span) => {
          span.update({
            input: { channel: 'email', order_id: 'A-17' },
            output: { sent: false },
            level: 'ERROR',
            statusMessage: 'SMTP relay refused connection',
          });
        });
        agent.update({ output: { answer: reply.content } });
        return reply.content;
      },
    ),
  { asType: 'agent' },
);
console.log(answer);

await provider.shutdown();
