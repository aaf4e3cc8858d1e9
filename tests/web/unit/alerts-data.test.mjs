import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  channelBody, channelForm, conditionWords, deliveryWords, eventsSignature, firingByRule, measureValue,
  queryProblem, queryWords, ruleBody, ruleForm, secondsWords, splitWindow, testWords,
} from '../../../web/js/views/alerts-data.js';

const windowRule = {
  id: 'ar_1', name: 'errors', query: 'env:prod', channels: ['ch_1'], enabled: false,
  condition: { type: 'window', measure: 'error_rate', op: '>', threshold: 0.2, window_secs: 600 },
};

test('a window is typed in the largest unit it fills exactly, and read in it', () => {
  assert.deepEqual(splitWindow(600), { amount: 10, unit: 'min' });
  assert.deepEqual(splitWindow(86400 * 2), { amount: 2, unit: 'd' });
  assert.deepEqual(splitWindow(90), { amount: 90, unit: 's' });
  assert.deepEqual(splitWindow(7200), { amount: 2, unit: 'h' });
  assert.equal(secondsWords(600), '10 min');
  assert.equal(secondsWords(86400), '1 day');
  assert.equal(secondsWords(45), '45 s');
});

test('conditions and queries in words', () => {
  assert.equal(conditionWords({ type: 'each_run' }), 'each matching run');
  assert.equal(conditionWords(windowRule.condition), 'error rate > 20.0% over the last 10 min');
  assert.equal(conditionWords({ type: 'window', measure: 'count', op: '>=', threshold: 5, window_secs: 3600 }), 'runs >= 5 over the last 1 h');
  assert.equal(conditionWords({ type: 'window', measure: 'p95_latency_ms', op: '<', threshold: 1500.4, window_secs: 60 }), 'p95 latency < 1500 ms over the last 1 min');
  assert.equal(conditionWords({ type: 'window', measure: 'cost_usd', op: '>', threshold: 2, window_secs: 86400 }), 'cost > $2.00 over the last 1 day');
  assert.equal(queryWords(''), 'every run');
  assert.equal(queryWords('signal:loop'), 'signal:loop');
  assert.equal(measureValue(null, 0.123456), '0.1235');
  assert.equal(measureValue('count', undefined), '—');
});

test('the rule editor round-trips a rule, and a new one starts as each run, on', () => {
  const f = ruleForm(windowRule);
  assert.deepEqual(f, {
    name: 'errors', query: 'env:prod', type: 'window', measure: 'error_rate', op: '>', threshold: '0.2',
    amount: '10', unit: 'min', channels: ['ch_1'], enabled: false,
  });
  const { id, ...body } = windowRule;
  assert.ok(id);
  assert.deepEqual(ruleBody(f), { body });
  const fresh = ruleForm(null);
  assert.equal(fresh.type, 'each_run');
  assert.equal(fresh.enabled, true);
  assert.deepEqual(ruleBody({ ...fresh, name: 'x', query: '  signal:loop ' }).body,
    { name: 'x', query: 'signal:loop', condition: { type: 'each_run' }, channels: [], enabled: true });
});

test('a rule body leaves ranges to the server, and stops only what JSON cannot carry', () => {
  const f = { ...ruleForm(windowRule), amount: '5', unit: 's' };
  assert.equal(ruleBody(f).body.condition.window_secs, 5, 'the server says 5 s is too short');
  assert.equal(ruleBody({ ...f, threshold: '7' }).body.condition.threshold, 7, 'an error rate over 1 is the server\'s to refuse');
  assert.deepEqual(ruleBody({ ...f, threshold: 'lots' }), { error: 'The threshold “lots” is not a number.', field: 'threshold' });
  assert.deepEqual(ruleBody({ ...f, threshold: ' ' }), { error: 'Enter the threshold.', field: 'threshold' });
  assert.deepEqual(ruleBody({ ...f, amount: '1.5', unit: 's' }), { error: 'A window is a whole number of seconds, not 1.5 seconds.', field: 'window' });
  assert.equal(ruleBody({ ...f, amount: '1.5', unit: 'min' }).body.condition.window_secs, 90);
});

test('a channel\'s secret is sent only when typed, kept on an edit when left empty, removed on request', () => {
  const f = { ...channelForm({ name: 'n', kind: 'slack', url: ' https://x.test/h ', signed: true }) };
  assert.deepEqual(f, { name: 'n', kind: 'slack', url: ' https://x.test/h ', secret: '', removeSecret: false });
  assert.deepEqual(channelBody(f).body, { name: 'n', kind: 'slack', url: 'https://x.test/h' });
  assert.deepEqual(channelBody({ ...f, secret: 's3' }).body.secret, 's3');
  assert.equal(channelBody({ ...f, removeSecret: true }, { editing: true }).body.secret, '');
  assert.equal('secret' in channelBody({ ...f, removeSecret: true }).body, false, 'a new channel has none to remove');
  assert.equal(channelForm(null).kind, 'webhook');
});

test('a rule is firing for each key whose newest event fires', () => {
  const events = [
    { rule_id: 'a', key: 'r1', state: 'resolved' },
    { rule_id: 'a', key: 'r1', state: 'firing' },
    { rule_id: 'a', key: 'r2', state: 'firing' },
    { rule_id: 'b', key: 'window', state: 'firing' },
    { rule_id: 'b', key: 'window', state: 'resolved' },
  ];
  assert.deepEqual([...firingByRule(events)], [['a', 1], ['b', 1]]);
  assert.deepEqual([...firingByRule(undefined)], []);
});

test('a query refusal is marked where the server says; other refusals are not', () => {
  assert.equal(queryProblem("the rule's query is invalid at position 7: status is ok or error"),
    'invalid query at position 7: status is ok or error');
  assert.equal(queryProblem('window_secs must be from 10 to 2592000 (30 days), not 5'), null);
});

test('deliveries and test sends in words', () => {
  assert.equal(deliveryWords({ status: 'delivered', attempts: 1, response_status: 200 }), '1 attempt · HTTP 200');
  assert.equal(deliveryWords({ status: 'pending', attempts: 2, error: 'refused' }), '2 attempts so far');
  assert.equal(deliveryWords({ status: 'failed', attempts: 6, response_status: 500 }), '6 attempts · HTTP 500');
  assert.equal(testWords({ delivered: true, status: 204 }), 'Delivered: the receiver answered HTTP 204.');
  assert.equal(testWords({ delivered: false, status: 500 }), 'Not delivered: the receiver answered HTTP 500.');
  assert.equal(testWords({ delivered: false, error: 'connection refused' }), 'Not delivered: connection refused.');
  assert.equal(testWords({ delivered: false }), 'Not delivered: no answer.');
});

test('the history redraws when a delivery moves on', () => {
  const e = { id: 'ae_1', state: 'firing', deliveries: [{ channel_id: 'c', status: 'pending', attempts: 1 }] };
  const later = { ...e, deliveries: [{ channel_id: 'c', status: 'delivered', attempts: 2, response_status: 200 }] };
  assert.notEqual(eventsSignature([e]), eventsSignature([later]));
  assert.equal(eventsSignature([e]), eventsSignature([{ ...e }]));
});
