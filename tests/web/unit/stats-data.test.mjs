import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chartSeries, firstDataStart, readState, requestBounds, stateQuery, term,
} from '../../../web/js/views/stats-data.js';

const q = (s) => new URLSearchParams(s);

test('the URL state: range by default the last day, from/to accepted too', () => {
  assert.deepEqual(readState(q('')), { q: '', range: '24h' });
  assert.deepEqual(readState(q('q=status:error&range=7d')), { q: 'status:error', range: '7d' });
  assert.deepEqual(readState(q('range=nonsense')), { q: '', range: '24h' });
  assert.deepEqual(readState(q('from=2h')), { q: '', range: '2h' });
  assert.deepEqual(readState(q('from=2026-11-01T10:00:00Z&to=2026-11-01T12:00:00Z')),
    { q: '', range: '2026-11-01T10:00:00Z..2026-11-01T12:00:00Z' });
  assert.deepEqual(readState(q('range=all&from=1h')), { q: '', range: 'all' }, 'range wins over from/to');
});

test('the default range is left out of the URL', () => {
  assert.deepEqual(stateQuery({ q: '', range: '24h' }), { q: null, range: null });
  assert.deepEqual(stateQuery({ q: 'agent:a', range: 'all' }), { q: 'agent:a', range: 'all' });
  // A default range the user picked stays in the URL, or the page would widen it again.
  assert.deepEqual(stateQuery({ q: '', range: '24h' }, { chosen: true }), { q: null, range: '24h' });
});

test('ranges without a start need their start found first', () => {
  assert.deepEqual(requestBounds('1h'), { from: '1h', to: null, open: false });
  assert.deepEqual(requestBounds('2026-11-01T10:00:00Z..2026-11-01T12:00:00Z'),
    { from: '2026-11-01T10:00:00Z', to: '2026-11-01T12:00:00Z', open: false });
  assert.deepEqual(requestBounds('all'), { from: null, to: null, open: true });
  assert.deepEqual(requestBounds('..2026-11-01T12:00:00Z'), { from: null, to: '2026-11-01T12:00:00Z', open: true });
});

const bucket = (start, runs, extra = {}) => ({
  start: Date.parse(start) * 1e6, start_time: start, runs, errors: 0, p50_ms: runs ? 10 : null, p95_ms: runs ? 20 : null,
  total_tokens: runs * 100, cost_usd: runs ? 0.5 : null, ...extra,
});

test('the series for the charts: gaps for latency, zeros for sums', () => {
  const stats = {
    bucket_seconds: 3600,
    series: [bucket('2026-11-01T10:00:00Z', 0), bucket('2026-11-01T11:00:00Z', 2, { errors: 1 })],
  };
  const s = chartSeries(stats);
  assert.deepEqual(s.times, [Date.parse('2026-11-01T10:00:00Z'), Date.parse('2026-11-01T11:00:00Z')]);
  assert.equal(s.bucketMs, 3_600_000);
  assert.deepEqual(s.runs, [0, 2]);
  assert.deepEqual(s.errors, [0, 1]);
  assert.deepEqual(s.p50, [null, 10]);
  assert.deepEqual(s.p95, [null, 20]);
  assert.deepEqual(s.tokens, [0, 200]);
  assert.deepEqual(s.cost, [0, 0.5]);
  assert.equal(firstDataStart(stats), Date.parse('2026-11-01T11:00:00Z'));
  assert.equal(firstDataStart({ series: [bucket('2026-11-01T10:00:00Z', 0)] }), null);
});

test('row filters quote values the query language would misread', () => {
  assert.equal(term('agent', 'support-agent'), 'agent:support-agent');
  assert.equal(term('model', 'gpt-4o-mini'), 'model:gpt-4o-mini');
  assert.equal(term('agent', 'support agent'), 'agent:"support agent"');
  assert.equal(term('agent', 'a,b'), 'agent:"a,b"');
  assert.equal(term('agent', '<img src="x">\\'), 'agent:"<img src=\\"x\\">\\\\"');
});
