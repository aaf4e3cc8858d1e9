import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NODE_H, NODE_W, edgePath, layout, neighbour } from '../../../web/js/views/run/graph-layout.js';

const node = (id, depth, count = 1) => ({ id, depth, count, label: `n${id}` });

test('layers stack by depth, callers above their calls, wide layers wrap', () => {
  // 0 calls 1..10 (depth 1); 1 calls 11 (depth 2); 11 calls back to 0.
  const nodes = [node(0, 0), ...Array.from({ length: 10 }, (_, i) => node(i + 1, 1, i + 1)), node(11, 2)];
  const edges = [...Array.from({ length: 10 }, (_, i) => ({ from: 0, to: i + 1, count: 1 })), { from: 1, to: 11, count: 1 }, { from: 11, to: 0, count: 1, back: true }];
  const { nodes: placed, order, width, height } = layout({ nodes, edges });
  assert.equal(placed.size, 12);
  assert.equal(order.length, 12);
  const y = (id) => placed.get(id).y;
  // The most called first in a layer: 10 (count 10) down to 3 on the first row, 2 and 1 wrapped.
  assert.deepEqual(order.slice(1, 9), [10, 9, 8, 7, 6, 5, 4, 3]);
  assert.ok(order.slice(1, 9).every((id) => y(id) === y(10) && !placed.get(id).wrapped));
  assert.ok(y(2) > y(10) && placed.get(2).wrapped && placed.get(1).wrapped);
  assert.ok(y(0) < y(10) && y(11) > y(1));
  for (const e of edges.filter((x) => !x.back)) assert.ok(y(e.to) > y(e.from), `${e.from}→${e.to} points down`);
  for (const p of placed.values()) {
    assert.ok(p.x >= 0 && p.x + NODE_W <= width && p.y + NODE_H <= height, 'inside the drawing');
  }
});

test('edges run from the bottom of a caller to the top of its call; back edges and self-calls curve round the right', () => {
  const a = { x: 100, y: 0 };
  const b = { x: 100, y: 200 };
  assert.match(edgePath(a, b, false).d, new RegExp(`^M ${100 + NODE_W / 2} ${NODE_H} C .* ${100 + NODE_W / 2} 200$`));
  const back = edgePath(b, a, true);
  assert.match(back.d, new RegExp(`^M ${100 + NODE_W} ${200 + NODE_H / 2} C `));
  assert.ok(back.label.x > 100 + NODE_W, 'its count sits beside the nodes');
  assert.match(edgePath(a, a, true).d, new RegExp(`^M ${100 + NODE_W} 12 C `));
});

test('arrow keys move along a row and to the nearest node of the next row', () => {
  const { nodes: placed, order } = layout({
    nodes: [node(0, 0), node(1, 1, 3), node(2, 1, 2), node(3, 2)],
    edges: [{ from: 0, to: 1, count: 3 }, { from: 0, to: 2, count: 2 }, { from: 2, to: 3, count: 1 }],
  });
  assert.equal(neighbour(placed, order, 1, 'ArrowRight'), 2);
  assert.equal(neighbour(placed, order, 2, 'ArrowRight'), 2);
  assert.equal(neighbour(placed, order, 2, 'ArrowLeft'), 1);
  assert.equal(neighbour(placed, order, 1, 'ArrowUp'), 0);
  assert.equal(neighbour(placed, order, 0, 'ArrowUp'), 0);
  assert.equal(neighbour(placed, order, 2, 'ArrowDown'), 3);
  assert.equal(neighbour(placed, order, 0, 'End'), 3);
  assert.equal(neighbour(placed, order, 3, 'Home'), 0);
});
