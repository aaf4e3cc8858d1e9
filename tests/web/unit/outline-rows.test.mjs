import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVisibility } from '../../../web/js/views/run/visible.js';
import { findRepeats } from '../../../web/js/views/run/repeats.js';

/** Rows in pre-order from `[depth, name]` pairs, with their subtree sizes, as the outline gives them. */
function outline(pairs) {
  const rows = pairs.map(([depth, name, extra = {}], position) => ({ position, depth, name, kind: 'span', status: 'ok', descendants: 0, ...extra }));
  for (let p = 0; p < rows.length; p += 1) {
    let q = p + 1;
    while (q < rows.length && rows[q].depth > rows[p].depth) q += 1;
    rows[p].descendants = q - p - 1;
  }
  return rows;
}

const shown = (v) => Array.from({ length: v.count }, (_, i) => v.positionAt(i));

test('collapsing hides a subtree by its size; indexes and positions map both ways', () => {
  const v = createVisibility(10);
  assert.deepEqual(shown(v), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  v.collapse(2, 3); // hides 3, 4, 5
  assert.deepEqual(shown(v), [0, 1, 2, 6, 7, 8, 9]);
  assert.equal(v.indexOf(4), -1);
  assert.equal(v.indexOf(6), 3);
  v.collapse(3, 1); // inside the hidden range: changes nothing shown
  v.collapse(7, 2);
  assert.deepEqual(shown(v), [0, 1, 2, 6, 7]);
  for (let i = 0; i < v.count; i += 1) assert.equal(v.indexOf(v.positionAt(i)), i);
  assert.ok(v.reveal(4)); // opens 2 and 3, both hide it
  assert.ok(!v.isCollapsed(2) && !v.isCollapsed(3) && v.isCollapsed(7));
  assert.deepEqual(shown(v), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('a fold shows its first row as the fold and hides the rest; overlapping ranges merge', () => {
  const v = createVisibility(20);
  v.addFold(4, { hidden: 5 }); // 4 shown (as the fold), 5..9 hidden
  v.collapse(8, 4); // reaches past the fold: 9..12 hidden
  assert.deepEqual(shown(v), [0, 1, 2, 3, 4, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(v.foldAt(4).hidden, 5);
  assert.ok(v.inFold(4) && v.inFold(9) && !v.inFold(10));
  v.openFold(4);
  assert.deepEqual(shown(v).slice(0, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 13]);
});

test('repeated sub-trees of one shape fold, keeping the first shown', () => {
  // root; 4 × (step > chat, search); then a different step; then 3 × the same leaf tool
  const rows = outline([
    [0, 'root'],
    [1, 'step'], [2, 'chat'], [2, 'search'],
    [1, 'step'], [2, 'chat'], [2, 'search'],
    [1, 'step'], [2, 'chat'], [2, 'search'],
    [1, 'step'], [2, 'chat'], [2, 'search'],
    [1, 'step'], [2, 'chat'], [2, 'write'],
    [1, 'lookup'], [1, 'lookup'], [1, 'lookup'],
  ]);
  const folds = findRepeats((p) => rows[p], 0, rows.length);
  assert.deepEqual(folds.map((f) => [f.position, f.hidden, f.units, f.unitSpans]), [[4, 8, 3, 3], [17, 1, 2, 1]]);
  assert.deepEqual(folds[0].names, ['step']);
});

test('a repeated pair folds as a pair; a failed repeat breaks the run; a cut sub-tree has no shape', () => {
  const pair = [[1, 'chat', { kind: 'llm' }], [1, 'search', { kind: 'tool' }]];
  const rows = outline([[0, 'root'], ...pair, ...pair, ...pair, [1, 'chat', { kind: 'llm' }], [1, 'search', { kind: 'tool', status: 'error' }]]);
  const folds = findRepeats((p) => rows[p], 0, rows.length);
  assert.deepEqual(folds.map((f) => [f.position, f.hidden, f.units]), [[3, 3, 2]]);
  assert.deepEqual(folds[0].names, ['chat', 'search']);
  // The same rows cut after the second pair: too few repeats seen.
  assert.deepEqual(findRepeats((p) => rows[p], 0, 5), []);
});
