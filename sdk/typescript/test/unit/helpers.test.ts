import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  agent,
  llm,
  retrieval,
  span,
  startLlm,
  startTool,
  tool,
  withRetrieval,
  withSpan,
  withTool,
  type ToolCall,
} from '@lemma/sdk';

import { attrs, only, parentId, spanId, takeSpans } from './harness.js';

beforeEach(() => void takeSpans());

describe('tool()', () => {
  it('writes an execute_tool span with name, call id, arguments and result', async () => {
    const lookup = tool('lookup_order', async (args: { orderId: string }) => ({ status: 'shipped', id: args.orderId }), {
      callId: 'call_1',
    });
    assert.deepEqual(await lookup({ orderId: 'A-17' }), { status: 'shipped', id: 'A-17' });
    const s = only(takeSpans(), 'execute_tool lookup_order');
    assert.deepEqual(attrs(s, 'lemma.span', 'gen_ai.'), {
      'lemma.span.kind': 'tool',
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'lookup_order',
      'gen_ai.tool.call.id': 'call_1',
      'gen_ai.tool.call.arguments': '{"orderId":"A-17"}',
      'gen_ai.tool.call.result': '{"status":"shipped","id":"A-17"}',
    });
    assert.equal(s.kind, SpanKind.INTERNAL);
  });

  it('records text results as they are, no arguments as {}, several as a list', () => {
    tool('now', () => 'noon')();
    tool('add', (a: number, b: number) => a + b)(1, 2);
    const spans = takeSpans();
    const now = only(spans, 'execute_tool now');
    assert.equal(now.attributes['gen_ai.tool.call.arguments'], '{}');
    assert.equal(now.attributes['gen_ai.tool.call.result'], 'noon');
    const add = only(spans, 'execute_tool add');
    assert.equal(add.attributes['gen_ai.tool.call.arguments'], '[1,2]');
    assert.equal(add.attributes['gen_ai.tool.call.result'], '3');
  });

  it('passes the ToolCall as a last parameter, and records errors', async () => {
    const charge = tool('charge', async (amount: number, call: ToolCall) => {
      call.setAttribute('app.amount', amount);
      throw new Error(`cannot charge ${amount}`);
    });
    await assert.rejects(charge(5), /cannot charge 5/);
    const s = only(takeSpans(), 'execute_tool charge');
    assert.equal(s.attributes['app.amount'], 5);
    assert.equal(s.status.code, SpanStatusCode.ERROR);
    assert.equal(s.events[0]?.attributes?.['exception.message'], 'cannot charge 5');
    assert.equal('gen_ai.tool.call.result' in s.attributes, false);
  });

  it('withTool runs a block, startTool gives a handle', () => {
    const out = withTool({ name: 'search', callId: 'c2' }, { q: 'otters' }, (call) => {
      assert.equal(call.callId, 'c2');
      return ['doc'];
    });
    assert.deepEqual(out, ['doc']);
    const manual = startTool('manual', { x: 1 });
    manual.setResult('ok');
    manual.end();
    const spans = takeSpans();
    assert.equal(only(spans, 'execute_tool search').attributes['gen_ai.tool.call.result'], '["doc"]');
    assert.equal(only(spans, 'execute_tool manual').attributes['gen_ai.tool.call.result'], 'ok');
  });
});

describe('llm()', () => {
  it('writes a chat span with model, provider, messages, usage, finish reasons and response', async () => {
    const answer = await llm(
      {
        model: 'gpt-4o-mini',
        provider: 'openai',
        temperature: 0.2,
        maxTokens: 100,
        inputMessages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Where is A-17?' },
        ],
      },
      async (call) => {
        call
          .setOutputMessages([{ role: 'assistant', content: 'Shipped.' }])
          .setUsage({ inputTokens: 12, outputTokens: 3, cacheReadTokens: 4, reasoningTokens: 1 })
          .setFinishReasons(['stop'])
          .setResponseId('chatcmpl-1')
          .setResponseModel('gpt-4o-mini-2024-07-18')
          .setCost(0.0001);
        return 'Shipped.';
      },
    );
    assert.equal(answer, 'Shipped.');
    const s = only(takeSpans(), 'chat gpt-4o-mini');
    assert.equal(s.kind, SpanKind.CLIENT);
    assert.deepEqual(attrs(s, 'lemma.span', 'lemma.cost', 'gen_ai.'), {
      'lemma.span.kind': 'llm',
      'lemma.cost_usd': 0.0001,
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 100,
      'gen_ai.input.messages':
        '[{"role":"system","parts":[{"type":"text","content":"Be brief."}]},' +
        '{"role":"user","parts":[{"type":"text","content":"Where is A-17?"}]}]',
      'gen_ai.output.messages': '[{"role":"assistant","parts":[{"type":"text","content":"Shipped."}]}]',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.usage.cache_read.input_tokens': 4,
      'gen_ai.usage.reasoning.output_tokens': 1,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.response.id': 'chatcmpl-1',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    });
  });

  it('records a returned OpenAI chat completion whole', async () => {
    await llm({ model: 'gpt-4o-mini', provider: 'openai', inputMessages: 'Where is A-17?' }, async () => ({
      id: 'chatcmpl-9',
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup_order', arguments: '{"order_id":"A-17"}' } }],
          },
        },
      ],
      usage: { prompt_tokens: 50, completion_tokens: 12, total_tokens: 62 },
    }));
    const s = only(takeSpans(), 'chat gpt-4o-mini');
    assert.equal(s.attributes['gen_ai.input.messages'], '[{"role":"user","parts":[{"type":"text","content":"Where is A-17?"}]}]');
    assert.equal(
      s.attributes['gen_ai.output.messages'],
      '[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"lookup_order","arguments":{"order_id":"A-17"}}],"finish_reason":"tool_calls"}]',
    );
    assert.deepEqual(s.attributes['gen_ai.response.finish_reasons'], ['tool_calls']);
    assert.equal(s.attributes['gen_ai.response.id'], 'chatcmpl-9');
    assert.equal(s.attributes['gen_ai.usage.input_tokens'], 50);
    assert.equal(s.attributes['gen_ai.usage.output_tokens'], 12);
  });

  it('startLlm gives a handle to end by hand; a model error is recorded', async () => {
    const call = startLlm({ model: 'claude-x', provider: 'anthropic' });
    call.setUsage({ input_tokens: 7, output_tokens: 2, cache_read_input_tokens: 1 });
    call.fail(new Error('overloaded'));
    const s = only(takeSpans(), 'chat claude-x');
    assert.equal(s.attributes['gen_ai.usage.input_tokens'], 7);
    assert.equal(s.attributes['gen_ai.usage.cache_read.input_tokens'], 1);
    assert.equal(s.status.code, SpanStatusCode.ERROR);
  });
});

describe('retrieval() and span()', () => {
  it('writes a retrieval span with the query and the documents', async () => {
    const search = retrieval('kb', async (query: string) => [{ id: 'doc-1', content: `about ${query}` }]);
    await search('refunds');
    const s = only(takeSpans(), 'retrieval kb');
    assert.deepEqual(attrs(s, 'lemma.span', 'lemma.input', 'lemma.output', 'gen_ai.'), {
      'lemma.span.kind': 'retrieval',
      'lemma.input': 'refunds',
      'lemma.output': '[{"id":"doc-1","content":"about refunds"}]',
      'gen_ai.operation.name': 'retrieval',
      'gen_ai.data_source.id': 'kb',
      'gen_ai.retrieval.query.text': 'refunds',
      'gen_ai.retrieval.documents': '[{"id":"doc-1","content":"about refunds"}]',
    });
  });

  it('withRetrieval names the span retrieval without a source', () => {
    withRetrieval({}, 'q', (r) => r.setDocuments(['a']));
    assert.equal(only(takeSpans(), 'retrieval').attributes['lemma.output'], '["a"]');
  });

  it('writes generic spans with their kind, input and output, nested where they run', async () => {
    const guard = span({ name: 'check_policy', kind: 'guardrail' }, (text: string) => text.length < 100);
    const flow = agent('flow', async (text: string) => {
      const ok = guard(text);
      return withSpan('format', { ok }, () => `ok=${ok}`);
    });
    await flow('short');
    const spans = takeSpans();
    const check = only(spans, 'check_policy');
    assert.deepEqual(attrs(check, 'lemma.span', 'lemma.input', 'lemma.output'), {
      'lemma.span.kind': 'guardrail',
      'lemma.input': 'short',
      'lemma.output': 'true',
    });
    const format = only(spans, 'format');
    assert.equal(format.attributes['lemma.span.kind'], 'span');
    assert.equal(format.attributes['lemma.input'], '{"ok":true}');
    assert.equal(format.attributes['lemma.output'], 'ok=true');
    const root = only(spans, 'ai.agent.run');
    assert.equal(parentId(check), spanId(root));
    assert.equal(parentId(format), spanId(root));
  });
});
