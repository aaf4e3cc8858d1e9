import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addTerm, EXAMPLES, FIELDS, markAt, queryError } from '../../../web/js/components/search.js';

test('the server message is split into position and detail', () => {
  const message = "invalid query at position 9: expected a number after 'duration>': a duration such as 500ms";
  assert.deepEqual(queryError(message), { position: 9, detail: "expected a number after 'duration>': a duration such as 500ms" });
});

test('positions move back by the terms the page put before the user text', () => {
  assert.equal(queryError('invalid query at position 19: x', 10).position, 9);
  // An error inside the page's own terms is not the user's text: no position to mark.
  assert.equal(queryError('invalid query at position 3: x', 10).position, null);
});

test('a message without a position is kept whole', () => {
  assert.deepEqual(queryError('limit must be between 1 and 1000'), { position: null, detail: 'limit must be between 1 and 1000' });
  assert.equal(queryError(undefined).position, null);
});

test('markAt counts characters as the server does, not UTF-16 units', () => {
  assert.deepEqual(markAt('duration>>', 9), { before: 'duration>', at: '>', after: '' });
  assert.deepEqual(markAt('"🙂 x" foo:', 10), { before: '"🙂 x" foo:', at: '', after: '' });
  assert.deepEqual(markAt('é🙂ab', 2), { before: 'é🙂', at: 'a', after: 'b' });
  assert.deepEqual(markAt('abc', 99), { before: 'abc', at: '', after: '' });
});

test('addTerm appends a term once', () => {
  assert.equal(addTerm('', 'status:error'), 'status:error');
  assert.equal(addTerm('agent:a ', 'status:error'), 'agent:a status:error');
  assert.equal(addTerm('status:error agent:a', 'status:error'), 'status:error agent:a');
});

test('the examples cover the language and every field is listed', () => {
  const queries = EXAMPLES.map((e) => e.query);
  for (const q of ['status:error', 'signal:loop', '"return window"', 'meta.plan=plus_monthly', '-tag:canary', 'duration>5s', 'cost>0.01']) {
    assert.ok(queries.includes(q), q);
  }
  const names = FIELDS.map((f) => f.name);
  for (const f of ['agent', 'status', 'model', 'tool', 'thread', 'user', 'since', 'until', 'has', 'meta.<key>']) {
    assert.ok(names.includes(f), f);
  }
});
