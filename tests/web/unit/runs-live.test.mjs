import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffRuns, runSignature } from '../../../web/js/views/runs-live.js';

const run = (id, more = {}) => ({
  run_id: id, status: 'ok', has_root: true, span_count: 3, error_count: 0, end_time_unix_nano: 10,
  total_tokens: 100, cost_usd: 0.01, name: 'n', agent_name: 'a', thread_id: null, user_id: null, signals: [], ...more,
});

test('the first load marks nothing as new', () => {
  const { added, changed } = diffRuns(null, [run('a'), run('b')]);
  assert.equal(added.size + changed.size, 0);
});

test('runs not shown before are new; runs whose summary moved are changed', () => {
  const before = [run('b'), run('c', { has_root: false, span_count: 2 })];
  const after = [run('a'), run('b'), run('c', { has_root: true, span_count: 5, status: 'error' })];
  const { added, changed } = diffRuns(before, after);
  assert.deepEqual([...added], ['a']);
  assert.deepEqual([...changed], ['c']);
});

test('the signature ignores fields that do not change while spans arrive', () => {
  assert.equal(runSignature(run('a', { input: 'x' })), runSignature(run('a', { input: 'y' })));
  assert.notEqual(runSignature(run('a')), runSignature(run('a', { total_tokens: 101 })));
  assert.notEqual(runSignature(run('a')), runSignature(run('a', { signals: [{ kind: 'loop' }] })));
});
