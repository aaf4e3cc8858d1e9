import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { toGenAiMessages } from '@lemma/sdk';

describe('toGenAiMessages', () => {
  it('turns plain text into one message of the given role', () => {
    assert.deepEqual(toGenAiMessages('hi'), [{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]);
    assert.deepEqual(toGenAiMessages('ok', 'assistant'), [{ role: 'assistant', parts: [{ type: 'text', content: 'ok' }] }]);
    assert.deepEqual(toGenAiMessages(undefined), []);
  });

  it('converts OpenAI chat messages: text, content parts, tool calls and tool results', () => {
    assert.deepEqual(
      toGenAiMessages([
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          name: 'ada',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'https://example.test/cat.png' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"id":"A-17"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"status":"shipped"}' },
      ]),
      [
        { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
        {
          role: 'user',
          name: 'ada',
          parts: [
            { type: 'text', content: 'What is this?' },
            { type: 'uri', modality: 'image', uri: 'https://example.test/cat.png' },
          ],
        },
        { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'lookup', arguments: { id: 'A-17' } }] },
        { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: '{"status":"shipped"}' }] },
      ],
    );
  });

  it('keeps arguments that are not JSON as text', () => {
    const [m] = toGenAiMessages({ role: 'assistant', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{cut' } }] });
    assert.deepEqual(m?.parts, [{ type: 'tool_call', id: 'c', name: 'f', arguments: '{cut' }]);
  });

  it('converts OpenAI choices with their finish reason', () => {
    assert.deepEqual(toGenAiMessages([{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Done.' } }], 'assistant'), [
      { role: 'assistant', parts: [{ type: 'text', content: 'Done.' }], finish_reason: 'stop' },
    ]);
  });

  it('converts Anthropic content blocks', () => {
    assert.deepEqual(
      toGenAiMessages([
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'look it up' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'tu_1', name: 'lookup', input: { id: 'A-17' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: [{ type: 'text', text: 'shipped' }] }] },
      ]),
      [
        {
          role: 'assistant',
          parts: [
            { type: 'reasoning', content: 'look it up' },
            { type: 'text', content: 'Checking.' },
            { type: 'tool_call', id: 'tu_1', name: 'lookup', arguments: { id: 'A-17' } },
          ],
        },
        { role: 'user', parts: [{ type: 'tool_call_response', id: 'tu_1', response: 'shipped' }] },
      ],
    );
  });

  it('passes GenAI messages through', () => {
    const genai = [{ role: 'user', parts: [{ type: 'text' as const, content: 'x' }] }];
    assert.deepEqual(toGenAiMessages(genai), genai);
  });
});
