import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { context, trace } from '@opentelemetry/api';
import { agent, continueFrom, contextEnv, injectHeaders, tool, withContext } from '@lemma/sdk';

import { only, parentId, spanId, takeSpans, traceId } from './harness.js';

beforeEach(() => void takeSpans());

describe('across processes', () => {
  it('injectHeaders writes traceparent and the run context as baggage', async () => {
    let headers: Record<string, string> = {};
    let ids = { trace: '', span: '' };
    await withContext({ threadId: 'th 1', tags: ['a'], metadata: { plan: 'gold' } }, () =>
      agent('caller', async () => {
        const current = trace.getSpan(context.active())!.spanContext();
        ids = { trace: current.traceId, span: current.spanId };
        headers = injectHeaders({ accept: 'application/json' });
      })(),
    );
    assert.equal(headers['accept'], 'application/json');
    assert.equal(headers['traceparent'], `00-${ids.trace}-${ids.span}-01`);
    const baggage = decodeURIComponent(headers['baggage'] ?? '');
    assert.match(baggage, /lemma\.thread_id=th 1/);
    assert.match(baggage, /lemma\.tags=\["a"\]/);
    assert.match(baggage, /lemma\.metadata\.plan=gold/);
  });

  it('round trip: spans continued from headers or env nest under the caller span with its context', async () => {
    let env: Record<string, string> = {};
    let headers: Record<string, string> = {};
    await withContext({ threadId: 'conv-2', userId: 'u-2' }, () =>
      agent('parent', async () => {
        await tool('spawn_child', async () => {
          env = contextEnv();
          headers = injectHeaders();
        })();
      })(),
    );
    assert.deepEqual(Object.keys(env).sort(), ['BAGGAGE', 'TRACEPARENT']);
    const parentSpans = takeSpans();
    const call = only(parentSpans, 'execute_tool spawn_child');

    // "The other process": nothing active, only the carrier.
    const child = agent('child', async (x: string) => x);
    await context.with(context.active(), () => continueFrom({ ...env, PATH: '/bin' }, () => child('from env')));
    await continueFrom(
      { Traceparent: headers['traceparent'], baggage: headers['baggage'] } as Record<string, string>,
      () => child('from headers'),
    );
    await continueFrom(new Headers(headers), () => child('from a Headers object'));
    const children = takeSpans();
    assert.equal(children.length, 3);
    for (const s of children) {
      assert.equal(traceId(s), traceId(call), 'same run');
      assert.equal(parentId(s), spanId(call), 'under the caller span');
      assert.equal(s.attributes['lemma.thread_id'], 'conv-2');
      assert.equal(s.attributes['lemma.user_id'], 'u-2');
    }
  });

  it('continueFrom without a traceparent just runs the function', async () => {
    const out = await continueFrom({}, () => agent('solo', async () => 'alone')());
    assert.equal(out, 'alone');
    assert.equal(parentId(only(takeSpans(), 'ai.agent.run')), undefined);
  });

  it('outside any span, injectHeaders adds nothing', () => {
    assert.deepEqual(injectHeaders(), {});
    assert.deepEqual(contextEnv(), {});
  });
});
