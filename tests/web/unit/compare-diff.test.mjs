import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffText, diffTokens, lines, words } from '../../../web/js/views/compare-diff.js';

/** The texts a diff's parts join back into: `[a, b]`. */
function sides(parts) {
  return [
    parts.filter((p) => p.op !== '+').map((p) => p.text).join(''),
    parts.filter((p) => p.op !== '-').map((p) => p.text).join(''),
  ];
}

test('texts are cut into words and the whitespace between them, or into lines', () => {
  assert.deepEqual(words('a  b\nc'), ['a', '  ', 'b', '\n', 'c']);
  assert.deepEqual(words(''), []);
  assert.deepEqual(lines('one\ntwo\n\nthree'), ['one\n', 'two\n', '\n', 'three']);
});

test('the same text is one unchanged part', () => {
  assert.deepEqual(diffText('same', 'same'), { parts: [{ op: '=', text: 'same' }], unit: 'word', same: true });
  assert.deepEqual(diffText('', ''), { parts: [], unit: 'word', same: true });
  assert.deepEqual(diffText(null, undefined).same, true);
});

test('changed words read as removed, then added, around what both share', () => {
  const d = diffText('The capital of France is Paris.', 'The capital of France is Lyon.');
  assert.equal(d.unit, 'word');
  assert.deepEqual(d.parts, [{ op: '=', text: 'The capital of France is ' }, { op: '-', text: 'Paris.' }, { op: '+', text: 'Lyon.' }]);
  // A space between two changed words joins them into one change.
  assert.deepEqual(diffText('the cat sat on the mat', 'the dog ran on the mat').parts, [
    { op: '=', text: 'the ' }, { op: '-', text: 'cat sat' }, { op: '+', text: 'dog ran' }, { op: '=', text: ' on the mat' },
  ]);
  assert.deepEqual(diffText('', 'new').parts, [{ op: '+', text: 'new' }]);
  assert.deepEqual(diffText('old', '').parts, [{ op: '-', text: 'old' }]);
});

test('every diff joins back into both texts', () => {
  const pairs = [
    ['a b c d e', 'a x c y e'],
    ['Refunds within 30 days.\nAsk support.', 'Refunds within 14 days.\nAsk support, or the shop.'],
    ['<img src=x onerror=1>', '<img src=x onerror=1> <b>bold</b>'],
    ['one two three', 'three two one'],
  ];
  for (const [a, b] of pairs) assert.deepEqual(sides(diffText(a, b).parts), [a, b], `${a} → ${b}`);
});

test('long texts fall back to lines, then to the differing middle replaced whole', () => {
  const a = Array.from({ length: 400 }, (_, i) => `line ${i} of the answer`).join('\n');
  // Two changes far apart: too many words between them for a word table, few enough lines.
  const b = a.replace('line 100 of', 'row 100 of').replace('line 300 of', 'row 300 of');
  const byLine = diffText(a, b, { maxCells: 200_000 });
  assert.equal(byLine.unit, 'line');
  assert.deepEqual(byLine.parts.filter((p) => p.op !== '='), [
    { op: '-', text: 'line 100 of the answer\n' }, { op: '+', text: 'row 100 of the answer\n' },
    { op: '-', text: 'line 300 of the answer\n' }, { op: '+', text: 'row 300 of the answer\n' },
  ]);
  assert.deepEqual(sides(byLine.parts), [a, b]);
  const x = 'a\nb\n'.repeat(300);
  const y = 'b\na\n'.repeat(300);
  const whole = diffText(x, y, { maxCells: 1000 });
  assert.equal(whole.unit, 'whole');
  assert.deepEqual(sides(whole.parts), [x, y]);
  assert.equal(diffTokens(words(x), words(y), 1000), null, 'too big a table is refused, not built');
});
