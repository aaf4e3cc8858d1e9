// The child process of child-process.test.mjs: continues the parent's run from TRACEPARENT /
// BAGGAGE and runs a sub-agent there.
import { agent, continueFrom, init, shutdown, tool } from '@lemma/sdk';

init({ url: process.env.LEMMA_URL, serviceName: 'child-worker' });

const translate = tool('translate', async (text) => text.toUpperCase());
const worker = agent('translator_agent', async (text) => translate(text));

const output = await continueFrom(process.env, () => worker(process.argv[2] ?? ''));
await shutdown();
process.stdout.write(JSON.stringify({ output, runId: worker.lastRunId }) + '\n');
