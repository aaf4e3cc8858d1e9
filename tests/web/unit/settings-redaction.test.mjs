import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  afterText, dayTable, exampleHref, formRules, isOff, plural, previewSummary, ruleLabel, rulesBody,
  rulesSummary, sortedCounts,
} from '../../../web/js/views/settings-redaction-data.js';

test('the form starts from the server\'s rules, with every field and copies of them', () => {
  assert.deepEqual(formRules({}), { detectors: [], patterns: [], drop_keys: [] });
  assert.deepEqual(formRules(undefined), { detectors: [], patterns: [], drop_keys: [] });
  const rules = { detectors: ['email'], patterns: [{ name: 'order', regex: 'ORD-\\d+' }], drop_keys: ['password'] };
  const form = formRules(rules);
  assert.deepEqual(form, rules);
  form.detectors.push('card');
  form.patterns[0].name = 'x';
  assert.deepEqual(rules.detectors, ['email'], 'the answer is not changed by the form');
  assert.equal(rules.patterns[0].name, 'order');
});

test('the body sends what the form holds, empty rows left out, and {} turns redaction off', () => {
  assert.deepEqual(rulesBody({}), {});
  assert.deepEqual(rulesBody({ detectors: [], patterns: [{ name: '', regex: '' }, { name: ' ', regex: '  ' }], drop_keys: ['', '  '] }), {});
  assert.deepEqual(rulesBody({
    detectors: ['secret', 'email'],
    patterns: [{ name: ' order ', regex: ' ORD-\\d{6} ' }, { name: '', regex: '' }],
    drop_keys: [' password ', '', 'http.request.header.*'],
  }), {
    detectors: ['secret', 'email'],
    patterns: [{ name: 'order', regex: ' ORD-\\d{6} ' }],
    drop_keys: ['password', 'http.request.header.*'],
  }, 'names and keys trimmed, a regex sent as typed');
  // Half-filled rows go to the server, whose message says what is missing.
  assert.deepEqual(rulesBody({ patterns: [{ name: 'order', regex: '' }] }), { patterns: [{ name: 'order', regex: '' }] });
  assert.deepEqual(rulesBody({ patterns: [{ name: '', regex: 'x+' }] }), { patterns: [{ name: '', regex: 'x+' }] });
  assert.deepEqual(rulesBody({ patterns: [{ name: 'Bad Name', regex: '(' }] }), { patterns: [{ name: 'Bad Name', regex: '(' }] }, 'nothing is checked here');
});

test('rules read as a short summary', () => {
  assert.equal(isOff({}), true);
  assert.equal(isOff({ detectors: [], patterns: [], drop_keys: [] }), true);
  assert.equal(isOff({ drop_keys: ['a'] }), false);
  assert.equal(rulesSummary({}), 'off');
  assert.equal(rulesSummary({ detectors: ['email', 'card'] }), 'email, card');
  assert.equal(rulesSummary({ detectors: ['email'], patterns: [{ name: 'a', regex: 'a' }], drop_keys: ['x', 'y'] }), 'email, 1 pattern, 2 dropped keys');
  assert.equal(rulesSummary({ patterns: [{}, {}], drop_keys: ['x'] }), '2 patterns, 1 dropped key');
  assert.equal(plural(1, 'run'), '1 run');
  assert.equal(plural(1200, 'redaction', 'redactions', (n) => n.toLocaleString('en-US')), '1,200 redactions');
});

test('counts: most first, dropped keys named as such', () => {
  assert.deepEqual(sortedCounts([{ rule: 'card', count: 1 }, { rule: 'email', count: 4 }, { rule: 'drop_keys', count: 1 }]),
    [{ rule: 'email', count: 4 }, { rule: 'card', count: 1 }, { rule: 'drop_keys', count: 1 }]);
  assert.deepEqual(sortedCounts(undefined), []);
  assert.equal(ruleLabel('drop_keys'), 'dropped keys');
  assert.equal(ruleLabel('email'), 'email');
});

test('the per-day counts become a table: rules as columns, newest day first', () => {
  assert.deepEqual(dayTable([]), { rules: [], rows: [] });
  const table = dayTable([
    { day: '2026-12-01', rule: 'email', count: 2 },
    { day: '2026-12-03', rule: 'card', count: 5 },
    { day: '2026-12-03', rule: 'email', count: 1 },
    { day: '2026-12-02', rule: 'drop_keys', count: 0 },
  ]);
  assert.deepEqual(table.rules, ['card', 'email', 'drop_keys']);
  assert.deepEqual(table.rows, [
    { day: '2026-12-03', total: 6, counts: { card: 5, email: 1 } },
    { day: '2026-12-01', total: 2, counts: { email: 2 } },
  ], 'a day that counted nothing has no row');
});

test('a preview reads as one line, and its examples as text and links', () => {
  assert.equal(previewSummary({ spans_checked: 0, spans_changed: 0 }), 'The project has no spans yet: there is nothing to preview.');
  assert.equal(previewSummary({ spans_checked: 200, spans_changed: 0 }), 'These rules would change none of the 200 newest spans.');
  assert.equal(previewSummary({ spans_checked: 200, spans_changed: 3 }), 'These rules would change 3 of the 200 newest spans.');
  assert.equal(previewSummary({ spans_checked: 1, spans_changed: 1 }), 'These rules would change the project\'s only span.');
  assert.equal(previewSummary({ spans_checked: 1, spans_changed: 0 }), 'These rules would not change the project\'s only span.');
  assert.equal(previewSummary({ spans_checked: 2000, spans_changed: 1000 }, (n) => n.toLocaleString('en-US')), 'These rules would change 1,000 of the 2,000 newest spans.');
  assert.equal(afterText(null), 'dropped');
  assert.equal(afterText(undefined), 'dropped');
  assert.equal(afterText(''), '');
  assert.equal(afterText('[REDACTED:email]'), '[REDACTED:email]');
  assert.equal(exampleHref({ run_id: 'abc', span_id: 'def' }), '/runs/abc?span=def');
  assert.equal(exampleHref({ run_id: 'a/b?c', span_id: '' }), '/runs/a%2Fb%3Fc');
});
