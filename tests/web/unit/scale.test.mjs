import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  areaPath, axisCost, bucketName, durationTicks, isLocalMidnight, isolatedPoints, linePath, linearScale, maxOf,
  nearestIndex, niceStep, niceTicks, segments, shortDuration, timeTicks, isSparse,
} from '../../../web/js/components/scale.js';

const UTC = () => 0;
const MIN = 60_000;
const HOUR = 60 * MIN;

test('steps are 1, 2, 2.5 or 5 times a power of ten, the nearest on a log scale', () => {
  assert.equal(niceStep(0.7), 0.5);
  assert.equal(niceStep(1.3), 1);
  assert.equal(niceStep(1.6), 2);
  assert.equal(niceStep(2.2), 2);
  assert.equal(niceStep(3), 2.5);
  assert.equal(niceStep(3, false), 2);
  assert.equal(niceStep(4), 5);
  assert.equal(niceStep(8), 10);
  assert.equal(niceStep(130), 100);
  assert.equal(niceStep(0.04), 0.05);
  assert.equal(niceStep(0), 1);
  assert.equal(niceStep(NaN), 1);
});

test('ticks cover the data on round values', () => {
  assert.deepEqual(niceTicks(0, 17, 4), { min: 0, max: 20, step: 5, ticks: [0, 5, 10, 15, 20] });
  const t = niceTicks(0, 0.37, 4);
  assert.deepEqual(t.ticks, [0, 0.1, 0.2, 0.3, 0.4], 'no floating point noise');
  assert.equal(niceTicks(0, 4.2, 5).max, 5);
});

test('counts get whole steps, flat series still get an axis', () => {
  assert.deepEqual(niceTicks(0, 3, 5, { integer: true }).ticks, [0, 1, 2, 3]);
  assert.deepEqual(niceTicks(0, 0, 4).ticks.slice(0, 2), [0, 0.25]);
  assert.equal(niceTicks(0, 0, 4).max, 1);
  const flat = niceTicks(40, 40, 4);
  assert.ok(flat.min <= 40 && flat.max > 40, JSON.stringify(flat));
  assert.ok(niceTicks(-5, -5, 4).min < -5);
});

test('a linear scale maps and inverts', () => {
  const s = linearScale([0, 100], [200, 0]);
  assert.equal(s(0), 200);
  assert.equal(s(25), 150);
  assert.equal(s.invert(150), 25);
  assert.equal(linearScale([5, 5], [0, 10])(5), 0, 'a flat domain does not divide by zero');
});

test('time ticks land on round local times', () => {
  const from = Date.UTC(2025, 0, 1, 10, 7);
  const { interval, ticks } = timeTicks(from, from + 6 * HOUR, 6, UTC);
  assert.equal(interval, HOUR);
  assert.equal(ticks.length, 6);
  assert.equal(ticks[0], Date.UTC(2025, 0, 1, 11));
  for (const t of ticks) assert.equal(t % HOUR, 0);
  // In a zone two hours ahead of UTC, 6-hourly ticks fall on local 00:00, 06:00…
  const plus2 = () => -120;
  const day = timeTicks(Date.UTC(2025, 0, 1, 0), Date.UTC(2025, 0, 2, 0), 4, plus2);
  assert.equal(day.interval, 6 * HOUR);
  assert.equal(day.ticks[0], Date.UTC(2025, 0, 1, 4));
  assert.ok(isLocalMidnight(Date.UTC(2025, 0, 1, 22), plus2));
  assert.ok(!isLocalMidnight(Date.UTC(2025, 0, 1, 0), plus2));
  assert.deepEqual(timeTicks(from + 500, from + 500, 5, UTC).ticks, [], 'no tick off a round time');
  assert.deepEqual(timeTicks(from, from, 5, UTC).ticks, [from], 'a single round instant is its own tick');
});

test('bucket widths read as words', () => {
  assert.equal(bucketName(60), 'minute');
  assert.equal(bucketName(300), '5 minutes');
  assert.equal(bucketName(3600), 'hour');
  assert.equal(bucketName(10800), '3 hours');
  assert.equal(bucketName(86400), 'day');
  assert.equal(bucketName(604800), 'week');
  assert.equal(bucketName(45), '45 seconds');
});

test('the nearest bucket to the pointer', () => {
  const xs = [10, 20, 30, 40];
  assert.equal(nearestIndex(xs, 0), 0);
  assert.equal(nearestIndex(xs, 24), 1);
  assert.equal(nearestIndex(xs, 26), 2);
  assert.equal(nearestIndex(xs, 99), 3);
  assert.equal(nearestIndex([], 3), -1);
  assert.equal(nearestIndex([7], 3), 0);
});

test('missing values break lines instead of dropping to zero', () => {
  const pts = [{ x: 0, y: 5 }, { x: 10, y: 6 }, { x: 20, y: null }, { x: 30, y: 7 }, { x: 40, y: null }];
  assert.equal(segments(pts).length, 2);
  assert.equal(linePath(pts), 'M0,5L10,6M30,7');
  assert.deepEqual(isolatedPoints(pts), [{ x: 30, y: 7 }]);
  assert.equal(areaPath(pts.slice(0, 2), 100), 'M0,100L0,5L10,6L10,100Z');
  assert.equal(linePath([]), '');
  assert.equal(maxOf([null, 3, NaN, 9, undefined]), 9);
  assert.equal(maxOf([]), 0);
});

test('axis labels for durations and dollars', () => {
  assert.equal(shortDuration(0), '0');
  assert.equal(shortDuration(850), '850ms');
  assert.equal(shortDuration(1250), '1.25s');
  assert.equal(shortDuration(45_000), '45s');
  assert.equal(shortDuration(210_000), '3.5m');
  assert.equal(shortDuration(2 * HOUR), '2h');
  assert.equal(shortDuration(null), '—');
  assert.equal(axisCost(0), '$0');
  assert.equal(axisCost(0.005), '$0.005');
  assert.equal(axisCost(0.25), '$0.25');
  assert.equal(axisCost(12), '$12');
  assert.equal(axisCost(2500), '$2.5k');
});

test('duration ticks are whole times in the largest unit reached', () => {
  assert.deepEqual(durationTicks(511_200, 4).ticks, [0, 120_000, 240_000, 360_000, 480_000, 600_000]);
  assert.deepEqual(durationTicks(2_600, 4).ticks, [0, 500, 1000, 1500, 2000, 2500, 3000]);
  assert.deepEqual(durationTicks(94, 4).ticks, [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(durationTicks(0.4, 4).ticks, [0, 0.1, 0.2, 0.3, 0.4]);
});

test('few buckets with data are sparse: bars, not lines', () => {
  const series = (values) => [{ values }];
  const dense = Array.from({ length: 20 }, (_, i) => i % 2);
  assert.equal(isSparse(series(dense), 20), false, 'half the buckets');
  assert.equal(isSparse(series([0, 3, 0, 0, 5, 0, 1]), 7), true, 'three buckets');
  const quarter = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? 1 : 0));
  assert.equal(isSparse(series(quarter), 40), true, '8 of 40, under a quarter');
  const nulls = Array.from({ length: 8 }, (_, i) => (i < 6 ? 2 : null));
  assert.equal(isSparse(series(nulls), 8), false, 'nulls and zeros are empty, the rest is data');
  // Any series with a value makes the bucket count.
  assert.equal(isSparse([{ values: [1, 0, 0, 0, 1] }, { values: [0, 1, 1, 0, 0] }], 5), false);
});
