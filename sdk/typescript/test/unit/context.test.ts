import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { agent, getRunContext, llm, tool, withContext } from '@lemma/sdk';

import { attrs, only, provider, takeSpans } from './harness.js';

beforeEach(() => void takeSpans());

describe('run context', () => {
  it('puts thread, user, session, environment, tags and metadata on every span of the run', async () => {
    const lookup = tool('lookup', (id: string) => ({ id }));
    const sub = agent('sub', async () => 'sub done');
    const support = agent(
      {
        name: 'support',
        threadId: 'thread-1',
        userId: 'user-7',
        sessionId: 'sess-3',
        environment: 'staging',
        tags: ['beta', 'eu'],
        metadata: { plan: 'gold', seats: 5 },
      },
      async (q: string) => {
        lookup(q);
        await llm({ model: 'm' }, () => 'x');
        await sub();
        // A span from any other tracer (an instrumentation) gets the run context too.
        provider.getTracer('other-lib').startSpan('http GET').end();
        return 'ok';
      },
    );
    await support('A-17');
    const spans = takeSpans();
    assert.equal(spans.length, 5);
    for (const s of spans) {
      assert.deepEqual(
        attrs(s, 'lemma.thread_id', 'lemma.user_id', 'lemma.session_id', 'lemma.environment', 'lemma.tags', 'lemma.metadata.'),
        {
          'lemma.thread_id': 'thread-1',
          'lemma.user_id': 'user-7',
          'lemma.session_id': 'sess-3',
          'lemma.environment': 'staging',
          'lemma.tags': ['beta', 'eu'],
          'lemma.metadata.plan': 'gold',
          'lemma.metadata.seats': '5',
        },
        `span ${s.name}`,
      );
    }
  });

  it('withContext sets the context of the runs inside; inner contexts add tags and merge metadata', async () => {
    let seen: unknown;
    const chat = agent({ name: 'chat', tags: ['chat'], metadata: { step: 'answer' } }, async (q: string) => {
      seen = getRunContext();
      return q;
    });
    await withContext({ threadId: 'conv-9', userId: 'u-1', tags: ['web'], metadata: { channel: 'web' } }, () =>
      chat('hello'),
    );
    assert.deepEqual(seen, {
      threadId: 'conv-9',
      userId: 'u-1',
      tags: ['web', 'chat'],
      metadata: { channel: 'web', step: 'answer' },
    });
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['lemma.thread_id'], 'conv-9');
    assert.equal(root.attributes['lemma.user_id'], 'u-1');
    assert.deepEqual(root.attributes['lemma.tags'], ['web', 'chat']);
    assert.equal(root.attributes['lemma.metadata.channel'], 'web');
    assert.equal(root.attributes['lemma.metadata.step'], 'answer');
  });

  it('an inner thread id replaces the outer one; the default environment applies where none is set', async () => {
    await withContext({ threadId: 'outer' }, () => withContext({ threadId: 'inner' }, () => agent('a', async () => 1)()));
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['lemma.thread_id'], 'inner');
    assert.equal(root.attributes['lemma.environment'], 'test-default');
  });

  it('leaves spans outside any context without run attributes, except the default environment', () => {
    provider.getTracer('plain').startSpan('plain').end();
    tool('t', () => 1)();
    const spans = takeSpans();
    assert.deepEqual(spans.map((s) => s.name), ['plain', 'execute_tool t']);
    for (const s of spans) {
      assert.deepEqual(attrs(s, 'lemma.thread_id', 'lemma.user_id', 'lemma.tags', 'lemma.metadata.', 'lemma.environment'), {
        'lemma.environment': 'test-default',
      });
    }
  });

  it('the context follows async code: timers, promise chains, concurrent runs', async () => {
    const step = tool('step', (n: number) => n);
    const worker = agent('worker', async (id: string) => {
      await new Promise((r) => setTimeout(r, id === 'a' ? 30 : 5));
      await Promise.resolve().then(() => step(1));
      setImmediate(() => undefined);
      return id;
    });
    await Promise.all([
      withContext({ threadId: 'thread-a' }, () => worker('a')),
      withContext({ threadId: 'thread-b' }, () => worker('b')),
    ]);
    const spans = takeSpans();
    const roots = spans.filter((s) => s.name === 'ai.agent.run');
    for (const root of roots) {
      const call = spans.find((s) => s.name === 'execute_tool step' && s.parentSpanContext?.spanId === root.spanContext().spanId);
      assert.ok(call, 'each run has its own tool call');
      assert.equal(call.attributes['lemma.thread_id'], root.attributes['lemma.thread_id']);
      assert.equal(root.attributes['lemma.thread_id'], `thread-${root.attributes['ai.agent.input']}`);
    }
  });
});
