import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { SpanStatusCode } from '@opentelemetry/api';
import {
  agent,
  currentRun,
  startAgent,
  tool,
  withAgent,
  wrapAgent,
  type AgentRun,
} from '@lemma/sdk';

import { attrs, only, parentId, spanId, takeSpans, traceId } from './harness.js';

beforeEach(() => void takeSpans());

describe('agent()', () => {
  it('writes the root span of a run with the agent attributes, input and output', async () => {
    const support = agent('support_agent', async (question: string) => `answer to ${question}`);
    const output = await support('Where is my order?');
    assert.equal(output, 'answer to Where is my order?');
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(parentId(root), undefined);
    assert.deepEqual(attrs(root, 'lemma.', 'gen_ai.', 'ai.'), {
      'lemma.span.kind': 'agent',
      'lemma.agent.name': 'support_agent',
      'lemma.environment': 'test-default',
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'support_agent',
      'ai.agent.input': 'Where is my order?',
      'ai.agent.output': 'answer to Where is my order?',
    });
    assert.equal(root.status.code, SpanStatusCode.UNSET);
  });

  it('JSON-encodes input and output that are not text; several arguments are a list', async () => {
    const plan = agent('planner', (goal: { city: string }, days: number) => ({ steps: days, city: goal.city }));
    const output = plan({ city: 'Lyon' }, 2);
    assert.deepEqual(output, { steps: 2, city: 'Lyon' }, 'a sync function stays sync');
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['ai.agent.input'], '[{"city":"Lyon"},2]');
    assert.equal(root.attributes['ai.agent.output'], '{"steps":2,"city":"Lyon"}');
  });

  it('records no output for a function that returns nothing', async () => {
    await agent('quiet', async (_x: string) => undefined)('in');
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['ai.agent.input'], 'in');
    assert.equal('ai.agent.output' in root.attributes, false);
  });

  it('exposes the run ID: lastRunId, withRun, and the run handle, all equal to the trace id', async () => {
    let seen: string | undefined;
    const support = agent('support_agent', async (q: string, run: AgentRun) => {
      seen = run.runId;
      assert.equal(currentRun(), run);
      return q.toUpperCase();
    });
    const result = await support.withRun('hi');
    assert.deepEqual(result.output, 'HI');
    await support('again');
    const [first, second] = takeSpans();
    assert.ok(first && second);
    assert.match(result.runId, /^[0-9a-f]{32}$/);
    assert.equal(result.runId, traceId(first));
    assert.equal(result.spanId, spanId(first));
    assert.equal(support.lastRunId, traceId(second));
    assert.equal(seen, traceId(second));
    assert.notEqual(traceId(first), traceId(second), 'each call is its own run');
    assert.equal(support.agentName, 'support_agent');
  });

  it('passes the run only in place of a parameter the caller left out', async () => {
    const got: unknown[][] = [];
    const two = agent('two', (a: string, b?: string) => void got.push([a, b]));
    two('x', 'y');
    const withRun = agent('with_run', (a: string, b: string | undefined, run: AgentRun) => void got.push([a, b, run.name]));
    withRun('x', undefined);
    const rest = agent('rest', (...items: string[]) => void got.push(items));
    rest('p', 'q');
    assert.deepEqual(got, [['x', 'y'], ['x', undefined, 'with_run'], ['p', 'q']]);
  });

  it('keeps `this` for methods', async () => {
    const bot = {
      greeting: 'hello',
      reply: agent('bot', async function (this: { greeting: string }, name: string) {
        return `${this.greeting} ${name}`;
      }),
    };
    assert.equal(await bot.reply('Ada'), 'hello Ada');
  });

  it('lets the function set the output, attributes and metadata', async () => {
    const a = agent('a', async (_q: string, run: AgentRun) => {
      run.setOutput({ answer: 42 }).setAttribute('app.step', 3).setAttribute('app.list', ['x', 'y']);
      run.setMetadata('plan', 'gold').setMetadata({ retries: 2, flags: { beta: true } });
      return 'ignored';
    });
    await a('q');
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['ai.agent.output'], '{"answer":42}');
    assert.equal(root.attributes['app.step'], 3);
    assert.deepEqual(root.attributes['app.list'], ['x', 'y']);
    assert.equal(root.attributes['lemma.metadata.plan'], 'gold');
    assert.equal(root.attributes['lemma.metadata.retries'], '2');
    assert.equal(root.attributes['lemma.metadata.flags'], '{"beta":true}');
  });

  it('records a thrown error as an exception event and error status, and rethrows it', async () => {
    class PaymentDeclined extends Error {}
    const pay = agent('pay', async (_amount: number) => {
      throw new PaymentDeclined('card declined');
    });
    await assert.rejects(pay(10), PaymentDeclined);
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.status.message, 'card declined');
    assert.equal(root.events.length, 1);
    const event = root.events[0];
    assert.equal(event?.name, 'exception');
    assert.equal(event?.attributes?.['exception.type'], 'PaymentDeclined');
    assert.equal(event?.attributes?.['exception.message'], 'card declined');
    assert.match(String(event?.attributes?.['exception.stacktrace']), /card declined\n\s+at /);
  });

  it('records a synchronous throw too, with the error name of built-in errors', () => {
    const parse = agent('parse', (text: string) => JSON.parse(text) as unknown);
    assert.throws(() => parse('{nope'), SyntaxError);
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.events[0]?.attributes?.['exception.type'], 'SyntaxError');
  });

  it('run.fail() records the error without throwing or ending the run: the return value is the output', async () => {
    const a = agent('a', async (_q: string, run: AgentRun) => {
      run.fail(new Error('no stock'));
      assert.equal(run.ended, false);
      run.setAttribute('app.after_fail', true);
      return 'sorry';
    });
    assert.equal(await a('q'), 'sorry');
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.status.message, 'no stock');
    assert.equal(root.events.length, 1);
    assert.equal(root.attributes['ai.agent.output'], 'sorry');
    assert.equal(root.attributes['app.after_fail'], true);
  });

  it('an error failed by hand and then thrown is recorded once', async () => {
    const a = agent('a', async (_q: string, run: AgentRun) => {
      const error = new Error('gave up');
      run.fail(error);
      throw error;
    });
    await assert.rejects(a('q'), /gave up/);
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.events.length, 1);
    assert.equal(root.status.message, 'gave up');
  });

  it('withAgent: run.fail() leaves ending to the helper too', () => {
    const out = withAgent('w', 'q', (run) => {
      run.fail('no answer');
      return 'fallback';
    });
    assert.equal(out, 'fallback');
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.attributes['ai.agent.output'], 'fallback');
  });

  it('nests agents called inside a run as sub-agents of the same run', async () => {
    const lookup = tool('lookup', async (id: string) => ({ id }));
    const researcher = agent('researcher', async (topic: string) => {
      await lookup(topic);
      return `notes on ${topic}`;
    });
    const writer = agent('writer', async (topic: string) => `report: ${await researcher(topic)}`);
    assert.equal(await writer('otters'), 'report: notes on otters');
    const spans = takeSpans();
    const root = spans.find((s) => s.attributes['lemma.agent.name'] === 'writer');
    const sub = spans.find((s) => s.attributes['lemma.agent.name'] === 'researcher');
    const call = only(spans, 'execute_tool lookup');
    assert.ok(root && sub);
    assert.equal(sub.name, 'ai.agent.run');
    assert.equal(parentId(root), undefined);
    assert.equal(parentId(sub), spanId(root));
    assert.equal(parentId(call), spanId(sub));
    assert.equal(new Set(spans.map(traceId)).size, 1);
  });

  it('wrapAgent is agent', () => {
    assert.equal(wrapAgent, agent);
  });

  it('startAgent opens a run to end by hand; run.with nests code under it', async () => {
    const run = startAgent({ name: 'manual', threadId: 'th-manual' }, 'hello');
    const step = tool('step', (n: number) => n * 2);
    assert.equal(run.with(() => step(21)), 42);
    assert.equal(takeSpans().length, 1, 'only the tool has ended');
    run.complete('bye');
    run.complete('again'); // a second end does nothing
    const spans = takeSpans();
    const root = only(spans, 'ai.agent.run');
    assert.equal(root.attributes['ai.agent.input'], 'hello');
    assert.equal(root.attributes['ai.agent.output'], 'bye');
    assert.equal(root.attributes['lemma.thread_id'], 'th-manual');
    assert.equal(run.ended, true);
  });

  it('withAgent runs a block as a run and records what it returns', async () => {
    const out = await withAgent('block', { q: 1 }, async (run) => {
      run.setAttribute('app.x', 'y');
      return 'done';
    });
    assert.equal(out, 'done');
    const root = only(takeSpans(), 'ai.agent.run');
    assert.equal(root.attributes['ai.agent.input'], '{"q":1}');
    assert.equal(root.attributes['ai.agent.output'], 'done');
    assert.equal(root.attributes['app.x'], 'y');
  });
});
