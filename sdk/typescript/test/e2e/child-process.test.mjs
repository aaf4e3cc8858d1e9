// A sub-agent in a child process nests under the parent's span through TRACEPARENT / BAGGAGE.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';

import { agent, contextEnv, flush, init, shutdown, tool, withContext } from '@lemma/sdk';

import { LEMMA_URL, agentSpan, outline, spanNamed, waitForRun } from './lemma.mjs';

before(() => init({ url: LEMMA_URL }));
after(() => shutdown());

function runChild(text, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./child.mjs', import.meta.url)), text], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

it("nests the child's spans under the parent span that started it, with the run context", async () => {
  let child;
  const delegate = tool('delegate_translation', async (text) => {
    child = await runChild(text, { ...process.env, ...contextEnv() });
    return child.output;
  });
  const parent = agent('coordinator', async (text) => delegate(text));
  const { output, runId } = await withContext({ threadId: 'thread-child-process', userId: 'u-child' }, () =>
    parent.withRun('hello from the parent'),
  );
  assert.equal(output, 'HELLO FROM THE PARENT');
  assert.equal(child.runId, runId, 'the child reports the same run ID');
  await flush();

  const { run, spans } = await waitForRun(runId, 4);
  assert.equal(
    outline(spans),
    [
      'ai.agent.run (agent)',
      '  execute_tool delegate_translation (tool)',
      '    ai.agent.run (agent)',
      '      execute_tool translate (tool)',
    ].join('\n'),
  );
  const call = spanNamed(spans, 'execute_tool delegate_translation');
  const sub = agentSpan(spans, 'translator_agent');
  assert.equal(sub.parent_span_id, call.span_id);
  assert.equal(sub.resource['service.name'], 'child-worker');
  assert.deepEqual(run.agent_names, ['coordinator', 'translator_agent']);
  for (const s of spans) {
    assert.equal(s.thread_id, 'thread-child-process', `span ${s.name}`);
    assert.equal(s.user_id, 'u-child', `span ${s.name}`);
  }
});
