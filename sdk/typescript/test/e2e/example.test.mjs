// examples/support-agent.mjs runs against a real server and its runs show up.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';

import { get, outline, waitForRun } from './lemma.mjs';

it('examples/support-agent.mjs records two turns of a thread and a streamed run', async () => {
  const script = fileURLToPath(new URL('../../examples/support-agent.mjs', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env: process.env, timeout: 60_000 });
  const runIds = [...stdout.matchAll(/^run ([0-9a-f]{32}): (.*)$/gm)].map((m) => m[1]);
  assert.equal(runIds.length, 3, stdout);
  const threadId = /^thread (\S+)$/m.exec(stdout)?.[1];
  assert.ok(threadId, stdout);

  const first = await waitForRun(runIds[0], 4);
  assert.equal(
    outline(first.spans),
    [
      'ai.agent.run (agent)',
      '  retrieval help-center (retrieval)',
      '  execute_tool lookup_order (tool)',
      '  chat gpt-4o-mini (llm)',
    ].join('\n'),
  );
  // Against the fake LLM, the answer and the tokens are the model's.
  assert.equal(first.run.output, 'Order A-17 has shipped and will arrive on Friday.');
  assert.equal(first.run.input_tokens, 50);
  const streamed = await waitForRun(runIds[2], 2);
  assert.equal(streamed.run.output, 'Order B-2 is packing. ');
  const { body } = await get(`/api/v1/threads/${threadId}`);
  assert.deepEqual(
    body.runs.map((r) => r.run_id),
    runIds.slice(0, 2),
  );
});
