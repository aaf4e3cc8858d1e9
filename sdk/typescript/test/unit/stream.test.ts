import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { beforeEach, describe, it } from 'node:test';

import { SpanStatusCode } from '@opentelemetry/api';
import { agent, llm, tool, type AgentRun } from '@lemma/sdk';

import { durationMs, only, parentId, sleep, spanId, takeSpans } from './harness.js';

beforeEach(() => void takeSpans());

describe('streaming agents', () => {
  it('keeps the run open until an async generator ends, and records the joined text', async () => {
    const stream = agent('streamer', async function* (question: string) {
      for (const word of ['Order', ' A-17', ' shipped']) {
        await sleep(40);
        yield word;
      }
      void question;
    });
    const chunks: string[] = [];
    for await (const chunk of stream('where?')) {
      chunks.push(chunk);
      assert.equal(takeSpans().length, 0, 'the run is still open while the stream is read');
    }
    assert.deepEqual(chunks, ['Order', ' A-17', ' shipped']);
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['ai.agent.input'], 'where?');
    assert.equal(root.attributes['ai.agent.output'], 'Order A-17 shipped');
    assert.ok(durationMs(root) >= 110, `the duration covers the stream (${durationMs(root)} ms)`);
  });

  it('tracks a stream returned by a promise, and records other chunks as a list', async () => {
    const events = agent('events', async (_n: number) => {
      await sleep(5);
      return (async function* () {
        yield { delta: 'a' };
        await sleep(30);
        yield { delta: 'b' };
      })();
    });
    const got: unknown[] = [];
    for await (const e of await events(2)) got.push(e);
    assert.equal(got.length, 2);
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['ai.agent.output'], '[{"delta":"a"},{"delta":"b"}]');
    assert.ok(durationMs(root) >= 30);
  });

  it('records an error raised mid-stream, and the consumer still sees it', async () => {
    const flaky = agent('flaky', async function* () {
      yield 'partial';
      throw new RangeError('stream broke');
    });
    const got: string[] = [];
    await assert.rejects(async () => {
      for await (const c of flaky()) got.push(c);
    }, RangeError);
    assert.deepEqual(got, ['partial']);
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.status.message, 'stream broke');
    assert.equal(root.events[0]?.attributes?.['exception.type'], 'RangeError');
  });

  it('ends the run with what was read when the consumer stops early', async () => {
    let closed = false;
    const endless = agent('endless', async function* () {
      try {
        for (let i = 0; ; i++) yield `${i},`;
      } finally {
        closed = true;
      }
    });
    for await (const c of endless()) if (c === '2,') break;
    assert.equal(closed, true, 'the source generator was closed');
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['ai.agent.output'], '0,1,2,');
    assert.equal(root.status.code, SpanStatusCode.UNSET);
  });

  it('run.complete(output) sets the output of a stream', async () => {
    const s = agent('s', async function* (_q: string, run: AgentRun) {
      yield 'x';
      yield 'y';
      run.setOutput({ summary: 'xy' });
    });
    for await (const _ of s('q'));
    assert.equal(only(takeSpans(), 'ai.agent.run').attributes['ai.agent.output'], '{"summary":"xy"}');
  });

  it('nests spans started in the generator body under the agent, wherever it is consumed', async () => {
    const lookup = tool('lookup', async (id: string) => ({ id, ok: true }));
    const s = agent('s', async function* () {
      yield 'start';
      yield JSON.stringify(await lookup('A-17'));
    });
    const iterator = s(); // consumed below, outside the agent call
    for await (const _ of iterator);
    const spans = takeSpans();
    assert.equal(parentId(only(spans, 'execute_tool lookup')), spanId(only(spans, 'ai.agent.run')));
  });

  it('tracks a web ReadableStream until it closes', async () => {
    const s = agent('web', () => {
      let i = 0;
      return new ReadableStream<string>({
        async pull(controller) {
          await sleep(20);
          if (i < 3) controller.enqueue(`w${i++}`);
          else controller.close();
        },
      });
    });
    const stream = s();
    assert.ok(stream instanceof ReadableStream);
    const got: string[] = [];
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got.push(value);
    }
    assert.deepEqual(got, ['w0', 'w1', 'w2']);
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['ai.agent.output'], 'w0w1w2');
    assert.ok(durationMs(root) >= 60);
  });

  it('records a web stream error', async () => {
    const s = agent('web', () => new ReadableStream<string>({
      start(controller) {
        controller.enqueue('a');
      },
      pull(controller) {
        controller.error(new Error('socket closed'));
      },
    }));
    const reader = s().getReader();
    assert.equal((await reader.read()).value, 'a');
    await assert.rejects(reader.read(), /socket closed/);
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.status.message, 'socket closed');
  });

  it('keeps a Node Readable a Readable, and decodes byte chunks', async () => {
    const s = agent('node', () => Readable.from([Buffer.from('héllo '), Buffer.from('world')], { objectMode: false }));
    const stream = s();
    assert.ok(stream instanceof Readable);
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk as Buffer);
    assert.equal(Buffer.concat(parts).toString('utf8'), 'héllo world');
    assert.equal(only(takeSpans(), 'ai.agent.run').attributes['ai.agent.output'], 'héllo world');
  });

  it('keeps the methods of other async iterables while tracking their iteration', async () => {
    class TokenStream {
      controller = 'kept';
      async *[Symbol.asyncIterator]() {
        yield 't1';
        yield 't2';
      }
    }
    const s = agent('sdk_stream', async () => new TokenStream());
    const stream = await s();
    assert.equal(stream.controller, 'kept');
    const got: string[] = [];
    for await (const t of stream) got.push(t);
    assert.deepEqual(got, ['t1', 't2']);
    assert.equal(only(takeSpans(), 'ai.agent.run').attributes['ai.agent.output'], 't1t2');
  });

  it('tracks a streamed model call the same way', async () => {
    const chunks = await llm({ model: 'gpt-4o-mini', provider: 'openai', inputMessages: 'hi' }, async (call) => {
      call.setUsage({ inputTokens: 3, outputTokens: 2 });
      return (async function* () {
        yield 'Hel';
        await sleep(20);
        yield 'lo';
      })();
    });
    const got: string[] = [];
    for await (const c of chunks) got.push(c);
    const span = only(takeSpans(), 'chat gpt-4o-mini');
    assert.equal(
      span.attributes['gen_ai.output.messages'],
      '[{"role":"assistant","parts":[{"type":"text","content":"Hello"}],"finish_reason":"stop"}]',
    );
    assert.ok(durationMs(span) >= 20);
  });
});
