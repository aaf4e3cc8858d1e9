// A run written by agent() and the helpers, read back through the API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { agent, flush, init, llm, retrieval, shutdown, tool, withContext } from '@lemma/sdk';

import { LEMMA_URL, agentSpan, get, outline, spanNamed, waitForRun } from './lemma.mjs';

before(() => {
  // The welcome page's snippet: URL given, key from $LEMMA_API_KEY.
  init({ url: LEMMA_URL });
});
after(() => shutdown());

const lookupOrder = tool('lookup_order', async ({ orderId }) => ({ order_id: orderId, status: 'shipped', eta: 'Friday' }));
const searchDocs = retrieval('help-center', async (query) => [{ id: 'kb-12', content: `Shipping times for ${query}` }]);

const support = agent('support_agent', async (question) => {
  const docs = await searchDocs('orders');
  const order = await lookupOrder({ orderId: 'A-17' });
  return llm(
    {
      model: 'gpt-4o-mini',
      provider: 'openai',
      inputMessages: [
        { role: 'system', content: `Answer with: ${docs[0].content}` },
        { role: 'user', content: question },
      ],
    },
    async (call) => {
      const answer = `Order ${order.order_id} has ${order.status} and will arrive on ${order.eta}.`;
      call.setUsage({ inputTokens: 50, outputTokens: 20 }).setResponseId('chatcmpl-e2e-1');
      return answer;
    },
  );
});

describe('a run through the API', () => {
  it('has the tree, input, output and the run ID the SDK returned', async () => {
    const { output, runId } = await support.withRun('Where is my order A-17?');
    assert.equal(output, 'Order A-17 has shipped and will arrive on Friday.');
    await flush();
    const { run, spans } = await waitForRun(runId, 4);
    assert.equal(run.run_id, runId);
    assert.equal(support.lastRunId, runId);
    assert.equal(
      outline(spans),
      ['ai.agent.run (agent)', '  retrieval help-center (retrieval)', '  execute_tool lookup_order (tool)', '  chat gpt-4o-mini (llm)'].join('\n'),
    );
    assert.equal(run.agent_name, 'support_agent');
    assert.equal(run.status, 'ok');
    assert.equal(run.input, 'Where is my order A-17?');
    assert.equal(run.output, 'Order A-17 has shipped and will arrive on Friday.');
    assert.equal(run.input_tokens, 50);
    assert.equal(run.output_tokens, 20);
    assert.deepEqual(run.tools, ['lookup_order']);

    const call = spanNamed(spans, 'execute_tool lookup_order');
    assert.equal(call.tool_name, 'lookup_order');
    assert.deepEqual(call.tool_args, { orderId: 'A-17' });
    assert.deepEqual(call.output, { order_id: 'A-17', status: 'shipped', eta: 'Friday' });

    const chat = spanNamed(spans, 'chat gpt-4o-mini');
    assert.equal(chat.model, 'gpt-4o-mini');
    assert.equal(chat.provider, 'openai');
    assert.equal(chat.response_id, 'chatcmpl-e2e-1');
    assert.equal(chat.input_messages.length, 2);
    assert.deepEqual(chat.input_messages[1], { role: 'user', parts: [{ type: 'text', content: 'Where is my order A-17?' }] });
    assert.deepEqual(chat.output_messages[0].parts, [{ type: 'text', content: 'Order A-17 has shipped and will arrive on Friday.' }]);

    const docs = spanNamed(spans, 'retrieval help-center');
    assert.equal(docs.input, 'orders');
    assert.deepEqual(docs.output, [{ id: 'kb-12', content: 'Shipping times for orders' }]);
  });

  it('records a thrown error as the run status, with the exception', async () => {
    const refund = agent('refund_agent', async (orderId) => {
      await tool('issue_refund', async () => {
        throw new RangeError(`refund for ${orderId} exceeds the order total`);
      })();
    });
    await assert.rejects(refund('A-17'), RangeError);
    const runId = refund.lastRunId;
    await flush();
    const { run, spans } = await waitForRun(runId, 2);
    assert.equal(run.status, 'error');
    assert.equal(run.status_message, 'refund for A-17 exceeds the order total');
    assert.equal(run.error_count, 2);
    const root = agentSpan(spans, 'refund_agent');
    const exception = root.events.find((e) => e.name === 'exception');
    assert.ok(exception, `an exception event in ${JSON.stringify(root.events)}`);
    assert.equal(exception.attributes['exception.type'], 'RangeError');
    assert.equal(exception.attributes['exception.message'], 'refund for A-17 exceeds the order total');
    assert.match(exception.attributes['exception.stacktrace'], /RangeError: refund for A-17/);
  });

  it('shows nested agents as sub-agents of one run', async () => {
    const researcher = agent('researcher', async (topic) => `notes on ${topic}`);
    const writer = agent('writer', async (notes) => `report from ${notes}`);
    const orchestrator = agent('orchestrator', async (topic) => writer(await researcher(topic)));
    const { output, runId } = await orchestrator.withRun('otters');
    assert.equal(output, 'report from notes on otters');
    await flush();
    const { run, spans } = await waitForRun(runId, 3);
    assert.equal(run.agent_name, 'orchestrator');
    // Both sub-agents may start within the same millisecond (OTel JS's clock), so their order
    // is not checked.
    assert.equal(run.agent_names[0], 'orchestrator');
    assert.deepEqual(run.agent_names.slice(1).sort(), ['researcher', 'writer']);
    const root = agentSpan(spans, 'orchestrator');
    assert.equal(agentSpan(spans, 'researcher').parent_span_id, root.span_id);
    assert.equal(agentSpan(spans, 'writer').parent_span_id, root.span_id);
  });

  it('groups the runs of one thread id into one thread, in order, with the run context', async () => {
    const threadId = `thread-${process.pid}-${Date.now()}`;
    const chat = agent({ name: 'chat_agent', tags: ['e2e'] }, async (message) => {
      await tool('remember', async (m) => m.length)(message);
      // A turn takes a while. (OTel JS records start times to the millisecond, so runs started
      // within the same millisecond would have no order.)
      await new Promise((r) => setTimeout(r, 5));
      return `you said: ${message}`;
    });
    const runIds = [];
    for (const message of ['hello', 'where is A-17?', 'thanks']) {
      const { runId } = await withContext({ threadId, userId: 'user-42', metadata: { plan: 'gold' } }, () =>
        chat.withRun(message),
      );
      runIds.push(runId);
    }
    await flush();
    for (const id of runIds) {
      const { run, spans } = await waitForRun(id, 2);
      assert.equal(run.thread_id, threadId);
      assert.equal(run.user_id, 'user-42');
      assert.deepEqual(run.tags, ['e2e']);
      assert.equal(run.metadata.plan, 'gold');
      for (const s of spans) assert.equal(s.thread_id, threadId, `span ${s.name} carries the thread`);
    }
    const { status, body } = await get(`/api/v1/threads/${threadId}`);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.thread.run_count, 3);
    assert.equal(body.thread.user_id, 'user-42');
    assert.deepEqual(
      body.runs.map((r) => r.run_id),
      runIds,
    );
    assert.deepEqual(
      body.runs.map((r) => r.input),
      ['hello', 'where is A-17?', 'thanks'],
    );
  });
});
