import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTree, placement, ticks } from '../../../web/js/views/run/spantree.js';

const ms = 1e6;
function span(id, parent, start, end, extra = {}) {
  return { span_id: id, parent_span_id: parent, name: id, start_time_unix_nano: start * ms, end_time_unix_nano: end * ms, ...extra };
}

test('children hang under their parent, ordered by start time', () => {
  const tree = buildTree([span('c2', 'root', 50, 60), span('root', null, 0, 100), span('c1', 'root', 10, 20), span('g', 'c1', 12, 15)]);
  assert.deepEqual(tree.roots.map((n) => n.id), ['root']);
  assert.deepEqual(tree.order.map((n) => [n.id, n.depth]), [['root', 0], ['c1', 1], ['g', 2], ['c2', 1]]);
  assert.equal(tree.start, 0);
  assert.equal(tree.end, 100 * ms);
});

test('a span whose parent is missing is shown at the top level, marked as an orphan', () => {
  const tree = buildTree([span('root', null, 0, 100), span('lost', 'never-arrived', 5, 6), span('early', 'gone', -5, 1)]);
  assert.deepEqual(tree.roots.map((n) => n.id), ['early', 'root', 'lost']);
  assert.equal(tree.nodes.get('lost').orphan, true);
  assert.equal(tree.nodes.get('root').orphan, false);
});

test('self-parents and parent cycles do not lose or loop on spans', () => {
  const tree = buildTree([span('self', 'self', 0, 1), span('a', 'b', 2, 3), span('b', 'a', 4, 5)]);
  assert.equal(tree.order.length, 3);
  assert.deepEqual(tree.roots.map((n) => n.id).sort(), ['a', 'self']);
  assert.equal(tree.nodes.get('b').parent.id, 'a');
});

test('a very deep chain builds without recursion', () => {
  const spans = [span('s0', null, 0, 10000)];
  for (let i = 1; i < 5000; i += 1) spans.push(span(`s${i}`, `s${i - 1}`, i, 10000 - i));
  const tree = buildTree(spans);
  assert.equal(tree.order.length, 5000);
  assert.equal(tree.nodes.get('s4999').depth, 4999);
});

test('placement is the fraction of the run a span covers', () => {
  const tree = buildTree([span('r', null, 0, 200), span('x', 'r', 50, 100)]);
  assert.deepEqual(placement(tree.nodes.get('x').span, tree), { left: 0.25, width: 0.25 });
  const flat = buildTree([span('r', null, 5, 5)]);
  assert.deepEqual(placement(flat.nodes.get('r').span, flat), { left: 0, width: 1 });
});

test('ticks are round numbers covering the run', () => {
  assert.deepEqual(ticks(1000, 5).map((t) => t.ms), [0, 200, 400, 600, 800, 1000]);
  const t = ticks(7300, 6);
  assert.equal(t[1].ms, 2000);
  assert.ok(t[t.length - 1].ms <= 7300);
  assert.deepEqual(ticks(0), [{ ms: 0, fraction: 0 }]);
});
