import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatRange, fromLocalInput, parseRange, rangeBounds, rangeLabel, rangeTerms, toLocalInput, withRange,
} from '../../../web/js/components/timerange.js';

test('presets and relative spans read back as what they were written as', () => {
  for (const value of ['all', '15m', '1h', '24h', '7d', '30d', '2w']) {
    assert.equal(formatRange(parseRange(value)), value);
  }
  assert.deepEqual(parseRange('1h'), { kind: 'relative', value: '1h' });
});

test('a custom range keeps normalised RFC 3339 times, either side may be open', () => {
  const range = parseRange('2026-11-01T10:00:00.000Z..2026-11-02T00:00:00Z');
  assert.deepEqual(range, { kind: 'custom', from: '2026-11-01T10:00:00Z', to: '2026-11-02T00:00:00Z' });
  assert.equal(formatRange(range), '2026-11-01T10:00:00Z..2026-11-02T00:00:00Z');
  assert.deepEqual(parseRange('..2026-11-02T00:00:00Z'), { kind: 'custom', from: null, to: '2026-11-02T00:00:00Z' });
});

test('anything unreadable falls back to the default range', () => {
  assert.deepEqual(parseRange('', '24h'), { kind: 'relative', value: '24h' });
  assert.deepEqual(parseRange('yesterday', '24h'), { kind: 'relative', value: '24h' });
  assert.deepEqual(parseRange('nonsense..garbage'), { kind: 'all' });
  assert.deepEqual(parseRange(null, 'bogus'), { kind: 'all' });
  assert.deepEqual(parseRange('1h; drop', 'all'), { kind: 'all' });
});

test('ranges become since:/until: terms of the query language', () => {
  assert.equal(rangeTerms(parseRange('all')), '');
  assert.equal(rangeTerms(parseRange('7d')), 'since:7d');
  assert.equal(rangeTerms(parseRange('2026-11-01T10:00:00Z..2026-11-02T00:00:00Z')), 'since:2026-11-01T10:00:00Z until:2026-11-02T00:00:00Z');
  assert.equal(rangeTerms(parseRange('..2026-11-02T00:00:00Z')), 'until:2026-11-02T00:00:00Z');
});

test('withRange puts the range first and reports how far the user text moved', () => {
  assert.deepEqual(withRange('status:error', parseRange('all')), { q: 'status:error', offset: 0 });
  assert.deepEqual(withRange('  ', parseRange('1h')), { q: 'since:1h', offset: 0 });
  const { q, offset } = withRange('duration>>', parseRange('24h'));
  assert.equal(q, 'since:24h duration>>');
  assert.equal(q.slice(offset), 'duration>>');
});

test('rangeBounds gives the stats endpoint its from/to', () => {
  assert.deepEqual(rangeBounds(parseRange('1h')), { from: '1h', to: null });
  assert.deepEqual(rangeBounds(parseRange('all')), { from: null, to: null });
  assert.deepEqual(rangeBounds(parseRange('2026-11-01T00:00:00Z..')), { from: '2026-11-01T00:00:00Z', to: null });
});

test('labels name the range', () => {
  assert.equal(rangeLabel(parseRange('all')), 'All time');
  assert.equal(rangeLabel(parseRange('24h')), 'Last 24 hours');
  assert.equal(rangeLabel(parseRange('3h')), 'Last 3h');
  assert.match(rangeLabel(parseRange('..2026-11-02T00:00:00Z')), /^Until .*2026/);
  assert.match(rangeLabel(parseRange('2026-11-01T00:00:00Z..')), /^Since .*2026/);
  assert.match(rangeLabel(parseRange('2026-11-01T00:00:00Z..2026-11-02T00:00:00Z')), /2026.* → .*2026/);
});

test('datetime-local values round-trip through ISO times', () => {
  const iso = fromLocalInput('2026-11-01T10:30');
  assert.equal(toLocalInput(iso), '2026-11-01T10:30');
  assert.equal(fromLocalInput(''), null);
  assert.equal(toLocalInput(null), '');
});
