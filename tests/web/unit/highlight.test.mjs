import { test } from 'node:test';
import assert from 'node:assert/strict';
import { highlight } from '../../../web/js/components/highlight.js';

const kinds = (pieces, kind) => pieces.filter(([k]) => k === kind).map(([, t]) => t);

test('the pieces put back together are the code, unchanged', () => {
  const code = 'import os\nx = f"a {os.environ[\'K\']}"  # note\n<script>alert(1)</script>';
  assert.equal(highlight(code, 'python').map(([, t]) => t).join(''), code);
});

test('python: keywords, strings with other quotes inside, comments', () => {
  const p = highlight('from a import b\nh = {"Authorization": f"Bearer {os.environ[\'K\']}"}  # why', 'python');
  assert.deepEqual(kinds(p, 'keyword'), ['from', 'import']);
  assert.deepEqual(kinds(p, 'string'), ['"Authorization"', '"Bearer {os.environ[\'K\']}"']);
  assert.deepEqual(kinds(p, 'comment'), ['# why']);
});

test('javascript: template strings, line comments, escapes', () => {
  const p = highlight("const a = `x ${y}`; // c\nlet s = 'it\\'s';", 'js');
  assert.deepEqual(kinds(p, 'keyword'), ['const', 'let']);
  assert.deepEqual(kinds(p, 'string'), ['`x ${y}`', "'it\\'s'"]);
  assert.deepEqual(kinds(p, 'comment'), ['// c']);
  assert.deepEqual(kinds(highlight('x = 42', 'js'), 'number'), ['42']);
});

test('shell: commands, variables, and # only as a comment after a space', () => {
  const p = highlight('export KEY="a#b" # set\n  lemma demo --key $LEMMA_API_KEY', 'sh');
  assert.deepEqual(kinds(p, 'command'), ['export', 'lemma']);
  assert.deepEqual(kinds(p, 'variable'), ['$LEMMA_API_KEY']);
  assert.deepEqual(kinds(p, 'string'), ['"a#b"']);
  assert.deepEqual(kinds(p, 'comment'), ['# set']);
});

test('an unclosed string ends with its line', () => {
  const p = highlight('x = "open\ny = 1', 'python');
  assert.deepEqual(kinds(p, 'string'), ['"open']);
  assert.deepEqual(kinds(p, 'number'), ['1']);
});

test('shell arguments such as URLs stay plain', () => {
  const p = highlight('lemma demo --url http://127.0.0.1:4318 --key $K', 'sh');
  assert.deepEqual(kinds(p, 'number'), []);
  assert.deepEqual(kinds(p, 'command'), ['lemma']);
});
