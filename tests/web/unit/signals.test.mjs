// Signals' pure parts: severity order, which spans are marked, the stats page's reshaping of the
// counts, the thresholds form's body, and completion of signal terms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bySeverity, severityOf, signalLine, signalsBySpan, signalsTitle, worst } from '../../../web/js/components/signals.js';
import { signalCountParams, signalSeries } from '../../../web/js/views/stats-data.js';
import { fieldOfMessage, formValues, settingsBody, SIGNAL_FIELDS } from '../../../web/js/views/settings-signals-data.js';
import { fieldAtCaret, STATIC, staticSource } from '../../../web/js/views/runs-complete.js';
import { parseTerms } from '../../../web/js/views/runs-terms.js';
import { runSignature } from '../../../web/js/views/runs-live.js';

const sig = (kind, severity, more = {}) => ({ kind, severity, explanation: `${kind} happened`, ...more });

test('signals read most severe first, the server order kept within a severity', () => {
  const list = [sig('a', 'info'), sig('b', 'warning'), sig('c', 'critical'), sig('d', 'warning'), sig('old')];
  assert.deepEqual(bySeverity(list).map((s) => s.kind), ['c', 'b', 'd', 'old', 'a']);
  assert.equal(severityOf(sig('old')), 'warning', 'summaries stored before severities are warnings');
  assert.equal(severityOf(sig('x', '<b>')), 'warning', 'an unknown severity is not a class name');
  assert.equal(worst(list).kind, 'c');
  assert.equal(worst([]), null);
});

test('a tooltip line names severity and signal, and a long list is clamped', () => {
  assert.equal(signalLine(sig('error_streak', 'critical')), 'critical · error_streak: error_streak happened');
  assert.equal(signalLine({ kind: 'x', severity: 'info' }), 'info · x');
  assert.ok(signalLine(sig('x', 'info', { explanation: 'y'.repeat(1000) })).length <= 300);
  const title = signalsTitle(Array.from({ length: 20 }, (_, i) => sig(`s${i}`, 'info')));
  assert.equal(title.split('\n').length, 13);
  assert.match(title, /… and 8 more$/);
});

test('marks go on the spans signals point at', () => {
  const marks = signalsBySpan([sig('a', 'critical', { span_id: 's1' }), sig('b', 'warning', { span_id: 's1' }), sig('c', 'info', { span_id: 's2' }), sig('d', 'info')]);
  assert.deepEqual([...marks.keys()], ['s1', 's2']);
  assert.deepEqual(marks.get('s1').map((s) => s.kind), ['a', 'b']);
});

test('a run changes in the list when its signals do, not only their number', () => {
  const base = { run_id: 'r', signals: [sig('loop', 'warning', { span_id: 'a' })] };
  assert.notEqual(runSignature(base), runSignature({ ...base, signals: [sig('error_streak', 'critical', { span_id: 'a' })] }));
});

test('signal counts are asked for in buckets aligned as the stats page aligns its own', () => {
  const params = signalCountParams({ from_time: '2026-11-01T10:07:30Z', to_time: '2026-11-01T12:00:00Z', bucket_seconds: 300 });
  assert.deepEqual(params, { from: '2026-11-01T10:05:00Z', to: '2026-11-01T12:00:00Z', bucket: '300s' });
});

test('counts become one series per name and totals per name and severity', () => {
  const data = signalSeries({
    from_time: '2026-11-01T10:00:00Z', to_time: '2026-11-01T10:30:00Z', bucket_seconds: 600,
    counts: [
      { time: '2026-11-01T10:00:00Z', name: 'loop', severity: 'warning', runs: 2 },
      { time: '2026-11-01T10:20:00Z', name: 'loop', severity: 'warning', runs: 1 },
      { time: '2026-11-01T10:10:00Z', name: 'error_streak', severity: 'critical', runs: 4 },
      { time: '2026-11-01T10:10:00Z', name: 'x', severity: 'info', runs: 1 },
      { time: '2026-11-01T10:20:00Z', name: 'x', severity: 'critical', runs: 1 },
    ],
  }, 2);
  assert.equal(data.times.length, 3);
  assert.equal(data.bucketMs, 600_000);
  assert.equal(data.names, 3);
  assert.deepEqual(data.series.map((s) => [s.name, s.values]), [['error_streak', [0, 4, 0]], ['loop', [2, 0, 1]]]);
  assert.deepEqual(data.totals.map((t) => [t.name, t.severity, t.runs]), [
    ['error_streak', 'critical', 4], ['loop', 'warning', 3], ['x', 'critical', 1], ['x', 'info', 1],
  ]);
});

test('the thresholds form sends numbers as typed, leaves empty fields to their defaults, and stops text', () => {
  const values = formValues({ enabled: true, error_streak: 3, similar_arguments: 0.85 });
  assert.equal(values.error_streak, '3');
  assert.equal(values.similar_arguments, '0.85');
  assert.equal(values.max_fan_out, '');
  assert.deepEqual(settingsBody({ enabled: false, error_streak: ' 1 ', context_share: '0.5', max_fan_out: '' }),
    { body: { enabled: false, error_streak: 1, context_share: 0.5 } });
  const { error, field } = settingsBody({ enabled: true, spike_factor: 'lots' });
  assert.equal(field, 'spike_factor');
  assert.match(error, /^Spike factor: “lots” is not a number\.$/);
  assert.equal(fieldOfMessage('error_streak must be from 2 to 10000, not 1'), 'error_streak');
  assert.equal(fieldOfMessage('expected the signal thresholds as JSON'), null);
  assert.equal(new Set(SIGNAL_FIELDS.map((f) => f.key)).size, 13);
});

test('signal names and severities complete from fixed lists', () => {
  assert.deepEqual(fieldAtCaret('signal:err', 10), { field: 'signal', prefix: 'err', start: 7 });
  assert.deepEqual(fieldAtCaret('-Signal.Severity:cr', 19), { field: 'signal.severity', prefix: 'cr', start: 17 });
  assert.equal(fieldAtCaret('constructor:x', 13), null, 'only the fields listed');
  let answer = null;
  staticSource(STATIC['signal.severity']).request('W', (a) => { answer = a; });
  assert.deepEqual(answer.values.map((v) => v.value), ['warning']);
  staticSource(STATIC.signal).request('error', (a) => { answer = a; });
  assert.deepEqual(answer.values.map((v) => v.value), ['error_streak']);
  assert.deepEqual(parseTerms('signal.severity:critical').map((t) => [t.field, t.value]), [['signal.severity', 'critical']]);
});
