import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentSide, asMessages, chatMessages, plainSide, userSide } from '../../../web/js/views/thread-turns.js';

const msg = (role, text) => ({ role, parts: [{ type: 'text', content: text }] });

test('a chat input is reduced to its newest user messages', () => {
  const input = [msg('system', 'be brief'), msg('user', 'first'), msg('assistant', 'answer'), msg('user', 'second'), msg('user', 'and third')];
  assert.deepEqual(userSide(input), { kind: 'messages', messages: [msg('user', 'second'), msg('user', 'and third')] });
});

test('when the conversation ends with a tool result, the last user message is the turn', () => {
  const input = [msg('user', 'look it up'), { role: 'assistant', parts: [{ type: 'tool_call', id: '1', name: 't' }] }, { role: 'tool', parts: [{ type: 'tool_call_response', id: '1', response: 'x' }] }];
  assert.deepEqual(userSide(input).messages, [msg('user', 'look it up')]);
});

test('chat inputs as JSON strings and {messages} objects are read too', () => {
  assert.equal(chatMessages(JSON.stringify([msg('user', 'hi')])).length, 1);
  assert.equal(chatMessages({ messages: [{ role: 'user', content: 'hi' }] }).length, 1);
  assert.equal(chatMessages([{ content: 'no role' }]), null);
  assert.equal(chatMessages([]), null);
});

test('non-chat payloads: text, an obvious text field, or the payload itself', () => {
  assert.deepEqual(plainSide('hello'), { kind: 'text', text: 'hello' });
  assert.deepEqual(plainSide({ prompt: 'Where is A-17?', system: 's' }), { kind: 'text', text: 'Where is A-17?' });
  assert.deepEqual(plainSide({ args: [1, 2] }), { kind: 'payload', value: { args: [1, 2] } });
  assert.deepEqual(plainSide(null), { kind: 'none' });
  assert.deepEqual(plainSide(''), { kind: 'none' });
  assert.deepEqual(plainSide(42), { kind: 'text', text: '42' });
});

test('the agent side drops system messages and keeps the rest', () => {
  const output = [msg('system', 's'), msg('assistant', 'done')];
  assert.deepEqual(agentSide(output), { kind: 'messages', messages: [msg('assistant', 'done')] });
  assert.deepEqual(agentSide('plain answer'), { kind: 'text', text: 'plain answer' });
});

test('every side becomes canonical messages for rendering', () => {
  assert.deepEqual(asMessages({ kind: 'text', text: 'hi' }, 'user'), [msg('user', 'hi')]);
  assert.deepEqual(asMessages({ kind: 'payload', value: { a: 1 } }, 'assistant', 'bot'),
    [{ role: 'assistant', name: 'bot', parts: [{ type: 'text', content: { a: 1 } }] }]);
  assert.deepEqual(asMessages({ kind: 'none' }, 'user'), []);
});
