import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSteps, countSteps, errorOf, foldRepeats, stableStringify } from '../../../web/js/views/run/fold.js';
import { buildTree } from '../../../web/js/views/run/spantree.js';

let clock = 0;
function span(id, parent, kind, extra = {}) {
  clock += 10;
  return { span_id: id, parent_span_id: parent, kind, name: id, start_time_unix_nano: clock * 1e6, end_time_unix_nano: (clock + 5) * 1e6, status: 'unset', events: [], ...extra };
}
const text = (role, content) => ({ role, parts: [{ type: 'text', content }] });
const call = (id, name, args) => ({ role: 'assistant', parts: [{ type: 'tool_call', id, name, arguments: args }] });
const result = (id, response) => ({ role: 'tool', parts: [{ type: 'tool_call_response', id, response }] });

function steps(run, spans) {
  return buildSteps(run, buildTree(spans));
}

test('a model step shows only messages not shown before, and the tool span stands for its call', () => {
  const user = text('user', 'Where is A-17?');
  const sys = text('system', 'Be helpful.');
  const answer = text('assistant', 'Shipped.');
  const out = steps({ input: [user], output: [answer] }, [
    span('root', null, 'agent', { input: [user], output: [answer] }),
    span('llm1', 'root', 'llm', { input_messages: [sys, user], output_messages: [call('c1', 'lookup', { id: 'A-17' })] }),
    span('tool', 'root', 'tool', { tool_name: 'lookup', tool_call_id: 'c1', tool_args: { id: 'A-17' }, output: { status: 'shipped' } }),
    span('llm2', 'root', 'llm', { input_messages: [sys, user, call('c1', 'lookup', { id: 'A-17' }), result('c1', 'shipped')], output_messages: [answer], output: [answer] }),
  ]);
  assert.deepEqual(out.map((s) => s.type), ['input', 'model', 'tool', 'model']);
  assert.deepEqual(out[1].messages, [sys]);
  assert.deepEqual(out[2].args, { id: 'A-17' });
  assert.deepEqual(out[2].result, { status: 'shipped' });
  assert.deepEqual(out[3].messages, [answer]);
});

test('a tool call without a tool span stays in the model message; the run output is added when unseen', () => {
  const out = steps({ input: 'hi', output: 'final words' }, [
    span('root', null, 'agent'),
    span('llm', 'root', 'llm', { input_messages: [text('user', 'hi')], output_messages: [call('x', 'search', { q: 1 })] }),
  ]);
  assert.deepEqual(out.map((s) => s.type), ['input', 'model', 'output']);
  assert.equal(out[1].messages[0].parts[0].type, 'tool_call');
});

test('identical consecutive tool calls fold, ignoring the model calls between them', () => {
  const spans = [span('root', null, 'agent')];
  spans.push(span('t0', 'root', 'tool', { tool_name: 'search', tool_args: { q: 'x' } }));
  for (let i = 0; i < 12; i += 1) {
    spans.push(span(`m${i}`, 'root', 'llm', { output_messages: [] }));
    spans.push(span(`r${i}`, 'root', 'tool', { tool_name: 'read_file', tool_args: i % 2 ? { path: 'a', n: 1 } : { n: 1, path: 'a' } }));
  }
  spans.push(span('t1', 'root', 'tool', { tool_name: 'read_file', tool_args: { path: 'b', n: 1 } }));
  const out = steps({}, spans);
  assert.deepEqual(out.map((s) => s.type), ['tool', 'model', 'fold', 'tool']);
  const fold = out[2];
  assert.equal(fold.count, 12);
  assert.equal(fold.name, 'read_file');
  assert.equal(fold.steps.length, 23); // 12 tool calls and the 11 model calls between them
  assert.equal(fold.steps[0].spanId, 'r0');
  assert.equal(countSteps(out), 26);
});

test('two repeats do not fold; different arguments or another step break a run', () => {
  const a = { type: 'tool', name: 'f', args: { x: 1 } };
  const b = { type: 'tool', name: 'f', args: { x: 2 } };
  const m = { type: 'model', messages: [] };
  const e = { type: 'span' };
  assert.deepEqual(foldRepeats([a, m, a]).map((s) => s.type), ['tool', 'model', 'tool']);
  assert.deepEqual(foldRepeats([a, a, b, a, a]).map((s) => s.type), ['tool', 'tool', 'tool', 'tool', 'tool']);
  assert.deepEqual(foldRepeats([a, a, e, a, a, a]).map((s) => s.type), ['tool', 'tool', 'span', 'fold']);
});

test('sub-agents are sections with their own steps and conversation', () => {
  const ask = text('user', 'summarise');
  const out = steps({ input: [ask] }, [
    span('root', null, 'agent'),
    span('llm', 'root', 'llm', { input_messages: [ask], output_messages: [text('assistant', 'delegating')] }),
    span('sub', 'root', 'agent', { agent_name: 'researcher', input: [ask] }),
    span('subllm', 'sub', 'llm', { input_messages: [ask, text('user', 'more')], output_messages: [text('assistant', 'done')] }),
  ]);
  assert.deepEqual(out.map((s) => s.type), ['input', 'model', 'agent']);
  assert.equal(out[2].name, 'researcher');
  assert.deepEqual(out[2].steps.map((s) => s.type), ['model']);
  assert.deepEqual(out[2].steps[0].messages.map((m) => m.parts[0].content), ['more', 'done']);
});

test('errors carry the status message and the exceptions of the events', () => {
  const failed = span('tool', 'root', 'tool', {
    status: 'error', status_message: 'boom',
    events: [{ name: 'exception', attributes: { 'exception.type': 'KeyError', 'exception.message': 'k', 'exception.stacktrace': 'at x' } }],
  });
  assert.deepEqual(errorOf(failed), { message: 'boom', exceptions: [{ type: 'KeyError', message: 'k', stacktrace: 'at x' }] });
  assert.equal(errorOf(span('ok', null, 'tool')), null);
  const out = steps({}, [span('root', null, 'agent', { status: 'error', status_message: 'run failed' }), failed, span('chain', 'root', 'chain', { status: 'error' })]);
  assert.deepEqual(out.map((s) => [s.type, s.spanId]), [['tool', 'tool'], ['span', 'chain'], ['span', 'root']]);
  assert.equal(out[2].error.message, 'run failed');
});

test('stable stringify ignores key order', () => {
  assert.equal(stableStringify({ b: 1, a: [{ d: 1, c: 2 }] }), stableStringify({ a: [{ c: 2, d: 1 }], b: 1 }));
  assert.notEqual(stableStringify({ a: 1 }), stableStringify({ a: '1' }));
});

test('an agent under a chain root frames the transcript; its input is not repeated', () => {
  const ask = { args: ['Where is A-17?'] };
  const out = steps({ input: ask }, [
    span('wf', null, 'chain', { input: ask }),
    span('agent', 'wf', 'agent', { input: ask }),
    span('llm', 'agent', 'llm', { input_messages: [text('user', 'Where is A-17?')], output_messages: [text('assistant', 'Shipped')] }),
  ]);
  assert.deepEqual(out.map((s) => s.type), ['input', 'model']);
});

test('tool spans without a call id are matched to the model tool calls by name', () => {
  const out = steps({}, [
    span('root', null, 'agent'),
    span('llm1', 'root', 'llm', { output_messages: [call('c1', 'lookup', { id: 1 })] }),
    span('tool', 'root', 'tool', { tool_name: 'lookup', tool_args: { id: 1 } }),
    span('llm2', 'root', 'llm', { input_messages: [call('c1', 'lookup', { id: 1 }), result('c1', 'ok'), text('user', 'thanks')], output_messages: [call('c2', 'other', {})] }),
  ]);
  assert.deepEqual(out.map((s) => s.type), ['model', 'tool', 'model']);
  assert.deepEqual(out[0].messages, []);
  // the result is the tool step's; the unmatched call to "other" stays in the message
  assert.deepEqual(out[2].messages.map((m) => m.parts[0].type), ['text', 'tool_call']);
});

test('a one-field output object already said by the model is not repeated', () => {
  const build = (output) => steps({ output }, [
    span('root', null, 'chain'),
    span('llm', 'root', 'llm', { output_messages: [text('assistant', 'Shipped Friday')] }),
  ]).map((s) => s.type);
  assert.deepEqual(build({ answer: 'Shipped Friday' }), ['model']);
  assert.deepEqual(build({ answer: 'Shipped Friday', sent: false }), ['model', 'output']);
  assert.deepEqual(build('Something else'), ['model', 'output']);
});
