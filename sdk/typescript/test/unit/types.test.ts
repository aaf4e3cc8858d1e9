// Compile-time checks of the public types (this file fails to build if they regress), run once
// so the calls are real.
import assert from 'node:assert/strict';
import { it } from 'node:test';

import { agent, tool, withTool, type AgentRun, type ToolCall } from '@lemma/sdk';

import { takeSpans } from './harness.js';

it('wrappers keep the signature of the wrapped function, less its handle parameter', async () => {
  const plain = agent('a', async (q: string) => q.length);
  const n: Promise<number> = plain('x');

  const withRun = agent('a', async (q: string, run: AgentRun) => `${q}${run.runId.length}`);
  const s: Promise<string> = withRun('x');
  const misuse = (): unknown =>
    // @ts-expect-error the run is not the caller's to pass
    withRun('x', 1);
  void misuse;

  const optionalRun = agent('a', async (q: string, run?: AgentRun) => (run ? q : ''));
  void optionalRun('x');

  const options = agent('a', async (q: string, opts?: { n: number }) => q + String(opts?.n));
  void options('x', { n: 1 });

  const generator = agent('a', async function* (q: string) {
    yield q;
  });
  const g: AsyncGenerator<string> = generator('x');
  for await (const _ of g);

  const anything = agent('a', async (x: any) => x as number);
  void anything(3);
  const unknownInput = agent('a', async (x: unknown) => String(x));
  void unknownInput({});

  const syncTool = tool('t', (args: { city: string }, call: ToolCall) => args.city.length + call.toolName.length);
  const len: number = syncTool({ city: 'Lyon' });

  const result = await withRun.withRun('y');
  const out: string = result.output;
  const id: string = result.runId;

  const block: number = withTool('b', {}, (call) => call.callId?.length ?? 0);

  assert.equal(await n, 1);
  assert.equal(await s, 'x32');
  assert.equal(len, 5);
  assert.equal(out, 'y32');
  assert.equal(id.length, 32);
  assert.equal(block, 0);
  takeSpans();
});
