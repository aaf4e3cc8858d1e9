import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTerm, isUsableMetaKey, parseTerms, quoteValue, removeTerm, splitWords, withoutField } from '../../../web/js/views/runs-terms.js';

test('plain values stay bare; anything the parser would split or re-read is quoted', () => {
  assert.equal(quoteValue('support-agent'), 'support-agent');
  assert.equal(quoteValue('gpt-4.1'), 'gpt-4.1');
  assert.equal(quoteValue('support agent'), '"support agent"');
  assert.equal(quoteValue('a,b'), '"a,b"', 'a bare comma would mean either value');
  assert.equal(quoteValue('k:v'), '"k:v"');
  assert.equal(quoteValue(''), '""');
  assert.equal(quoteValue('say "hi"'), '"say \\"hi\\""');
  assert.equal(quoteValue('C:\\dir'), '"C:\\\\dir"', 'backslashes are escaped inside quotes');
  assert.equal(quoteValue('<img src=x onerror="a">'), '"<img src=x onerror=\\"a\\">"');
});

test('terms are built with their operator and negation', () => {
  assert.equal(buildTerm({ field: 'agent', value: 'support agent' }), 'agent:"support agent"');
  assert.equal(buildTerm({ field: 'tag', value: 'test', negated: true }), '-tag:test');
  assert.equal(buildTerm({ field: 'meta.tier', value: 'gold' }), 'meta.tier:gold');
  assert.equal(buildTerm({ field: 'duration', op: '>', value: ' 5s ' }), 'duration>5s');
});

test('a built term reads back as the same field and value', () => {
  for (const value of ['plain', 'two words', 'quote " inside', 'back\\slash', 'a,b', '-lead', 'NOT', 'ünï 🙂 code']) {
    const [term] = parseTerms(buildTerm({ field: 'agent', value }));
    assert.deepEqual([term.field, term.op, term.value, term.negated], ['agent', ':', value, false], value);
  }
});

test('words split at whitespace outside quotes, as the server splits them', () => {
  assert.deepEqual(splitWords(' a:"b c"  d ').map((w) => w.text), ['a:"b c"', 'd']);
  assert.deepEqual(splitWords('x:"a \\" b" y').map((w) => w.text), ['x:"a \\" b"', 'y']);
  assert.deepEqual(splitWords('x:"open ended').map((w) => w.text), ['x:"open ended']);
});

test('terms know their field, aliases folded, free text and NOT included', () => {
  const terms = parseTerms('environment:prod "refund policy" NOT status:error -Tags:x meta.Tier=gold cost>0.5 https://a.b/c');
  assert.deepEqual(terms.map((t) => [t.field, t.negated, t.value]), [
    ['env', false, 'prod'], [null, false, 'refund policy'], ['status', true, 'error'], ['tag', true, 'x'],
    ['meta.Tier', false, 'gold'], ['cost', false, '0.5'], [null, false, 'https://a.b/c'],
  ]);
  assert.equal(terms[2].text, 'NOT status:error');
});

test('removing a term keeps the rest of the query as typed', () => {
  const q = 'agent:"a  b" NOT status:error  "x  y"';
  const terms = parseTerms(q);
  assert.equal(removeTerm(q, terms[1]), 'agent:"a  b" "x  y"');
  assert.equal(removeTerm(q, terms[0]), 'NOT status:error  "x  y"');
  assert.equal(removeTerm('only:one', parseTerms('only:one')[0]), '');
  assert.equal(withoutField('agent:a model:m agent:b', 'agent'), 'model:m');
});

test('metadata keys that a field name cannot hold are refused', () => {
  assert.equal(isUsableMetaKey('tier'), true);
  assert.equal(isUsableMetaKey('model_parameters.temperature'), true);
  for (const key of ['', 'two words', 'a:b', 'a=b', 'a/b', 'a"b', 'a>b', 'a!b']) assert.equal(isUsableMetaKey(key), false, key);
});

test('the query box completes the value of the field at the caret', async () => {
  const { fieldAtCaret } = await import('../../../web/js/views/runs-complete.js');
  assert.deepEqual(fieldAtCaret('status:error agent:sup', 22), { field: 'agent', prefix: 'sup', start: 19 });
  assert.deepEqual(fieldAtCaret('-Environment:', 13), { field: 'env', prefix: '', start: 13 });
  assert.deepEqual(fieldAtCaret('meta.tier:go', 12), { field: 'meta.tier', prefix: 'go', start: 10 });
  assert.equal(fieldAtCaret('agent:sup more', 8), null, 'not in the middle of a word');
  assert.deepEqual(fieldAtCaret('agent:sup more', 9), { field: 'agent', prefix: 'sup', start: 6 }, 'at the end of a word before others');
  assert.equal(fieldAtCaret('status:er', 9), null, 'no suggestions for that field');
  assert.equal(fieldAtCaret('agent:"sup', 10), null, 'a quoted value is left alone');
  assert.equal(fieldAtCaret('agent:sup ', 10), null);
});
