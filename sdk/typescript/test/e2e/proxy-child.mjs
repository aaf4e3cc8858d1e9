// The sub-agent of proxy.test.mjs: a program no Lemma SDK is in. It knows nothing of Lemma;
// the OpenAI SDK reads OPENAI_BASE_URL (a proxy session's URL) and OPENAI_API_KEY from the
// environment. One plain chat completion and one streamed, then the answers as JSON.
import OpenAI from 'openai';

const model = process.argv[2] ?? 'gpt-4o-mini';
const client = new OpenAI();

const plain = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Where is order A-17?' }],
});

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'And when will it arrive?' }],
  stream: true,
  stream_options: { include_usage: true },
});
let streamed = '';
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? '';
}

process.stdout.write(JSON.stringify({ plain: plain.choices[0].message.content, streamed }) + '\n');
