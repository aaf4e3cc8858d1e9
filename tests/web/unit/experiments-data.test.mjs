import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addedCaseId, caseFilter, compareHref, compareSummary, compareValues, datasetNames, detectFormat, exportFileName,
  newestFirst, parseNames, readEditor, scoreDelta, scoreNames, scoreNumber, scoreText, TOTALS, valueText,
} from '../../../web/js/views/experiments-data.js';
import { termValue } from '../../../web/js/views/experiments-values.js';

test('pasted cases are JSON lines when they start with an object, else CSV; a file name decides first', () => {
  assert.equal(detectFormat('\n  {"input": "a"}\n'), 'jsonl');
  assert.equal(detectFormat('id,input\nq1,hello'), 'csv');
  assert.equal(detectFormat(''), 'csv');
  assert.equal(detectFormat('id,input', 'cases.jsonl'), 'jsonl');
  assert.equal(detectFormat('{"input": 1}', 'cases.CSV'), 'csv');
});

test('experiments newest first; the dataset filter lists every dataset named', () => {
  const list = [{ name: 'b', created_at_unix_nano: '100' }, { name: 'a', created_at_unix_nano: '300' }, { name: 'c', created_at_unix_nano: '300' }];
  assert.deepEqual(newestFirst(list).map((e) => e.name), ['a', 'c', 'b']);
  assert.deepEqual(datasetNames([{ name: 'qa' }], [{ dataset: 'zz' }, { dataset: 'qa' }]), ['qa', 'zz']);
});

test('a comparison address names the experiments in order, the first the baseline', () => {
  assert.equal(compareHref(['base', 'cand:2']), '/compare?experiments=base%2Ccand%3A2');
  assert.equal(compareHref(['a', 'b'], { changed: true }), '/compare?experiments=a%2Cb&changed=1');
  assert.deepEqual(parseNames(' a, b,,a ,c'), ['a', 'b', 'c']);
  assert.deepEqual(parseNames(null), []);
});

test('values as text, and back from an editor box', () => {
  assert.equal(valueText('plain'), 'plain');
  assert.equal(valueText(null), '');
  assert.equal(valueText({ q: 1 }), '{\n  "q": 1\n}');
  assert.equal(readEditor('  ', 'x'), undefined);
  assert.equal(readEditor('{"a": 1}', 'was text'), '{"a": 1}', 'text stays text');
  assert.deepEqual(readEditor('{"a": 2}', { a: 1 }), { a: 2 }, 'JSON stays JSON');
  assert.equal(readEditor('not json', { a: 1 }), 'not json');
  assert.equal(readEditor('new', undefined), 'new');
});

test('deltas are coloured by which way is better', () => {
  assert.deepEqual(compareValues(1, 2, 'lower'), { delta: 1, tone: 'worse' });
  assert.deepEqual(compareValues(0.9, 0.7, 'higher').tone, 'worse');
  assert.deepEqual(compareValues(0.5, 0.75, 'higher'), { delta: 0.25, tone: 'better' });
  assert.deepEqual(compareValues(3, 3, 'lower'), { delta: 0, tone: 'same' });
  assert.deepEqual(compareValues(3, 4, null), { delta: 1, tone: null });
  assert.deepEqual(compareValues(null, 4, 'lower'), { delta: null, tone: null });
  const byKey = Object.fromEntries(TOTALS.map((t) => [t.key, t]));
  assert.equal(byKey.failed.better, 'lower');
  assert.equal(byKey.cost_usd.better, 'lower');
  assert.equal(byKey.p50_duration_ms.delta(400), '+400 ms');
  assert.equal(byKey.cost_usd.delta(-0.0021), '−$0.0021');
  assert.equal(byKey.answered.delta(0), '±0');
  assert.equal(scoreDelta(-0.2000000001), '−0.2');
});

test('scores read as numbers and words', () => {
  assert.equal(scoreText(true), 'yes');
  assert.equal(scoreText(0.33333), '0.333');
  assert.equal(scoreText(2), '2');
  assert.equal(scoreText(undefined), '—');
  assert.equal(scoreNumber(false), 0);
  assert.equal(scoreNumber('good'), null);
  const c = { scores: [{ name: 'b' }], cases: [{ results: [{ scores: { a: 1, b: 2 } }, null] }] };
  assert.deepEqual(scoreNames(c), ['b', 'a']);
});

test('the cases shown, the summary, export names and the case added', () => {
  const cases = [{ changed: true, regression: true }, { changed: true, regression: false }, { changed: false, regression: false }];
  assert.equal(cases.filter(caseFilter('all')).length, 3);
  assert.equal(cases.filter(caseFilter('changed')).length, 2);
  assert.equal(cases.filter(caseFilter('regressions')).length, 1);
  assert.equal(compareSummary({ cases, changed: 2, regressions: 1 }), '3 cases · 2 changed · 1 regression');
  assert.equal(exportFileName('qa/set', 3, 'csv'), 'qa_set-v3.csv');
  assert.equal(addedCaseId({ cases: [{ id: 'a' }, { id: 'case-2' }] }), 'case-2');
  assert.equal(addedCaseId({ cases: [] }), null);
});

test('case: completion reads the experiment or dataset the query names', () => {
  assert.equal(termValue('experiment:base case:', 'experiment'), 'base');
  assert.equal(termValue('experiment:"a:b",c status:ok', 'experiment'), 'a:b');
  assert.equal(termValue('-experiment:x dataset:qa', 'experiment'), null);
  assert.equal(termValue('experiment:exp* ', 'experiment'), null);
  assert.equal(termValue('dataset:qa', 'dataset'), 'qa');
});
