// A support agent traced to Lemma: a retrieval, a tool call and a model call under each run, a
// two-turn conversation in one thread, and a streamed answer.
//
//   lemma serve                                   # prints the API key on first start
//   LEMMA_API_KEY=<key> node examples/support-agent.mjs
//
// LEMMA_URL defaults to http://127.0.0.1:4318. With OPENAI_BASE_URL set (any OpenAI-compatible
// API; OPENAI_API_KEY if it needs one), the model step calls it; otherwise a canned answer
// stands in, so the example runs with nothing but Lemma.
import { agent, init, llm, retrieval, shutdown, tool, withContext } from '@lemma/sdk';

const lemmaUrl = (process.env.LEMMA_URL ?? 'http://127.0.0.1:4318').replace(/\/+$/, '');
init({ url: lemmaUrl, serviceName: 'support-agent-example' }); // the key comes from LEMMA_API_KEY

const MODEL = 'gpt-4o-mini';
const ORDERS = { 'A-17': { status: 'shipped', eta: 'Friday' }, 'B-2': { status: 'packing', eta: 'Monday' } };

const searchHelpCenter = retrieval('help-center', async (query) => [
  { id: 'kb-12', title: 'Delivery times', content: `Orders ship within 2 days (${query}).` },
]);

const lookupOrder = tool('lookup_order', async ({ orderId }) => {
  const order = ORDERS[orderId];
  if (!order) throw new Error(`no order ${orderId}`);
  return { order_id: orderId, ...order };
});

/** One model call: the real API when OPENAI_BASE_URL is set, else a canned answer. */
function answer(messages, fallback) {
  return llm({ model: MODEL, provider: 'openai', inputMessages: messages }, async (call) => {
    const base = process.env.OPENAI_BASE_URL;
    if (!base) {
      call.setUsage({ inputTokens: 40, outputTokens: 12 });
      return fallback;
    }
    const res = await fetch(`${base.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${process.env.OPENAI_API_KEY ?? 'none'}`,
      },
      body: JSON.stringify({ model: MODEL, messages }),
    });
    if (!res.ok) throw new Error(`model call failed: HTTP ${res.status} ${await res.text()}`);
    const completion = await res.json();
    call.setResponse(completion); // messages, usage, finish reason, response id
    return completion.choices[0].message.content;
  });
}

const support = agent('support_agent', async (question) => {
  const docs = await searchHelpCenter(question);
  const orderId = /[A-Z]-\d+/.exec(question)?.[0] ?? 'A-17';
  const order = await lookupOrder({ orderId });
  return answer(
    [
      { role: 'system', content: `You answer questions about orders. ${docs[0].content}` },
      { role: 'user', content: question },
    ],
    `Order ${order.order_id} is ${order.status} and will arrive on ${order.eta}.`,
  );
});

// A streamed answer: the run stays open until the last chunk is read.
const streamingSupport = agent('support_agent_streaming', async function* (question) {
  const order = await lookupOrder({ orderId: 'B-2' });
  for (const word of `Order ${order.order_id} is ${order.status}.`.split(' ')) {
    await new Promise((r) => setTimeout(r, 50));
    yield `${word} `;
  }
  void question;
});

const threadId = `example-thread-${Date.now()}`;
for (const question of ['Where is my order A-17?', 'And when does B-2 arrive?']) {
  const { output, runId } = await withContext({ threadId, userId: 'customer-42', tags: ['example'] }, () =>
    support.withRun(question),
  );
  console.log(`run ${runId}: ${output}`);
}

let streamed = '';
for await (const chunk of streamingSupport('Where is B-2?')) streamed += chunk;
console.log(`run ${streamingSupport.lastRunId}: ${streamed.trim()}`);

await shutdown(); // sends what is still buffered
console.log(`thread ${threadId}`);
console.log(`open ${lemmaUrl}/threads/${threadId} (or GET ${lemmaUrl}/api/v1/runs/<run id>)`);
