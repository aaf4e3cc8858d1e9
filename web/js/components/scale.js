// The arithmetic behind the charts, kept apart from the DOM so it can be tested on its own:
// linear scales, "nice" axis ticks, time ticks on round local times, and SVG path strings.

/**
 * The round step (1, 2, 2.5 or 5 × 10ⁿ; without 2.5 when `quarter` is false) nearest to
 * `rough` on a log scale, so the tick count lands as close as it can to the one asked for.
 */
export function niceStep(rough, quarter = true) {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  const candidates = (quarter ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10]).map((c) => c * power);
  let best = candidates[0];
  for (const c of candidates) {
    if (Math.abs(Math.log(c / rough)) < Math.abs(Math.log(best / rough))) best = c;
  }
  return best;
}

/**
 * Axis ticks covering `[min, max]` with about `count` round steps. The domain widens to the
 * outer ticks so the data never touches the frame. `integer` keeps steps whole (counts);
 * `quarter: false` avoids steps of 2.5 (which read badly as minutes or hours).
 * Returns `{min, max, step, ticks}`.
 */
export function niceTicks(min, max, count = 5, { integer = false, quarter = true } = {}) {
  let lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : 0;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    // A flat series still needs an axis: put its value inside a unit (or its own size) range.
    const pad = lo === 0 ? 1 : Math.abs(lo);
    hi = lo >= 0 ? hi + pad : hi;
    lo = lo >= 0 ? Math.max(0, lo - pad) : lo - pad;
  }
  let step = niceStep((hi - lo) / Math.max(1, count), quarter);
  if (integer) step = Math.max(1, Math.round(step));
  const decimals = decimalsOf(step);
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks = [];
  for (let i = 0, t = first; t <= last + step / 2; i += 1, t = first + i * step) {
    ticks.push(round(t, decimals));
  }
  return { min: ticks[0], max: ticks[ticks.length - 1], step, ticks };
}

function decimalsOf(step) {
  for (let d = 0; d < 15; d += 1) {
    if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-9) return d;
  }
  return 15;
}

function round(value, decimals) {
  const r = Number(value.toFixed(decimals));
  return Object.is(r, -0) ? 0 : r;
}

const DURATION_UNITS = [1, 1000, 60_000, 3_600_000];

/**
 * Ticks for durations in ms up to `max`, round in the largest unit the range reaches (0, 2m,
 * 4m… rather than 0, 3.3m, 6.7m), so the axis labels read as whole times.
 */
export function durationTicks(max, count = 5) {
  const unit = [...DURATION_UNITS].reverse().find((u) => max / u >= 1) || 1;
  const t = niceTicks(0, max / unit, count, { quarter: false });
  const ticks = t.ticks.map((v) => Number((v * unit).toFixed(6)));
  return { min: ticks[0], max: ticks[ticks.length - 1], step: t.step * unit, ticks };
}

/** Maps `domain` onto `range` linearly; `scale.invert(y)` goes back. A flat domain maps to the range's start. */
export function linearScale([d0, d1], [r0, r1]) {
  const span = d1 - d0;
  const scale = (value) => (span === 0 ? r0 : r0 + ((value - d0) / span) * (r1 - r0));
  scale.invert = (pixel) => (r1 === r0 ? d0 : d0 + ((pixel - r0) / (r1 - r0)) * span);
  return scale;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Round intervals a time axis may step by, smallest first. */
export const TIME_INTERVALS = [
  SECOND, 5 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
  DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY, 365 * DAY,
];

/** Minutes to subtract from UTC to get local time, as `Date#getTimezoneOffset` says. */
const localOffset = (ms) => new Date(ms).getTimezoneOffset();

/**
 * Ticks for a time axis over `[from, to]` (unix ms): at most about `count` of them, on round
 * local times (every 15 minutes, every 6 hours, at midnight…). `offsetOf(ms)` gives the local
 * offset like `getTimezoneOffset` (a parameter so tests can fix the zone).
 * Returns `{interval, ticks}` with ticks in unix ms.
 */
export function timeTicks(from, to, count = 6, offsetOf = localOffset) {
  const span = Math.max(0, to - from);
  const interval = TIME_INTERVALS.find((i) => span / i <= count) || TIME_INTERVALS[TIME_INTERVALS.length - 1];
  const ticks = [];
  // Step in local time so "every 6 hours" lands on 00:00, 06:00… of the viewer's clock.
  const toLocal = (ms) => ms - offsetOf(ms) * MINUTE;
  const toUtc = (local) => local + offsetOf(local) * MINUTE;
  for (let local = Math.ceil(toLocal(from) / interval) * interval; ; local += interval) {
    const t = toUtc(local);
    if (t > to) break;
    if (t >= from) ticks.push(t);
  }
  return { interval, ticks };
}

/** Whether `ms` is a local midnight (a tick that deserves a date rather than a time). */
export function isLocalMidnight(ms, offsetOf = localOffset) {
  const local = ms - offsetOf(ms) * MINUTE;
  return ((local % DAY) + DAY) % DAY === 0;
}

/** "minute", "5 minutes", "hour", "day"…: the width of a bucket in words. */
export function bucketName(seconds) {
  const units = [[604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  for (const [size, unit] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? unit : `${n} ${unit}s`;
    }
  }
  return `${seconds} seconds`;
}

/** The index of the value in ascending `xs` closest to `x` (-1 when empty). */
export function nearestIndex(xs, x) {
  if (!xs.length) return -1;
  let lo = 0;
  let hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  return Math.abs(xs[hi] - x) < Math.abs(xs[lo] - x) ? hi : lo;
}

/** The largest finite value (0 when there is none). */
export function maxOf(values) {
  let max = 0;
  for (const v of values) if (Number.isFinite(v) && v > max) max = v;
  return max;
}

/**
 * Runs of consecutive points with a value: a missing value (null) breaks a line rather than
 * pretending to be zero (an empty bucket has no latency).
 */
export function segments(points) {
  const out = [];
  let current = [];
  for (const p of points) {
    if (p.y === null || p.y === undefined || !Number.isFinite(p.y)) {
      if (current.length) out.push(current);
      current = [];
    } else {
      current.push(p);
    }
  }
  if (current.length) out.push(current);
  return out;
}

const fmt = (n) => String(Math.round(n * 10) / 10);

/** An SVG path through `points` ({x, y} in pixels), one `M` per segment, one `L` per further point. */
export function linePath(points) {
  return segments(points)
    .map((seg) => seg.map((p, i) => `${i ? 'L' : 'M'}${fmt(p.x)},${fmt(p.y)}`).join(''))
    .join('');
}

/** The filled area between `points` and the horizontal line at `baseline`, per segment. */
export function areaPath(points, baseline) {
  return segments(points)
    .map((seg) => {
      const first = seg[0];
      const last = seg[seg.length - 1];
      const top = seg.map((p) => `L${fmt(p.x)},${fmt(p.y)}`).join('');
      return `M${fmt(first.x)},${fmt(baseline)}${top}L${fmt(last.x)},${fmt(baseline)}Z`;
    })
    .join('');
}

/** Points of a segment of one: a line cannot show them, so the chart draws a dot. */
export function isolatedPoints(points) {
  return segments(points).filter((seg) => seg.length === 1).map((seg) => seg[0]);
}

/**
 * Whether buckets with data are too few for lines: a line between two busy buckets far apart
 * draws a slope through empty time, and a handful of spikes reads better as bars. Sparse means
 * at most 3 buckets hold a value (other than 0), or fewer than a quarter of them.
 */
export function isSparse(series, count) {
  let withData = 0;
  for (let i = 0; i < count; i += 1) {
    if (series.some((s) => s.values[i])) withData += 1;
  }
  return withData <= 3 || withData < count / 4;
}

/** A compact duration for axes and tiles: 850ms, 1.2s, 45s, 3.5m, 2h. */
export function shortDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms === 0) return '0';
  if (ms < 1000) return `${trim(ms, ms < 10 ? 1 : 0)}ms`;
  if (ms < MINUTE) return `${trim(ms / SECOND, ms < 10 * SECOND ? 2 : 1)}s`;
  if (ms < HOUR) return `${trim(ms / MINUTE, 1)}m`;
  return `${trim(ms / HOUR, 1)}h`;
}

function trim(value, decimals) {
  return String(Number(value.toFixed(decimals)));
}

/** Dollars for an axis: enough digits to tell ticks apart ($0.005, $0.25, $12). */
export function axisCost(usd) {
  if (usd === 0) return '$0';
  const abs = Math.abs(usd);
  if (abs >= 1000) return `$${trim(usd / 1000, 1)}k`;
  if (abs >= 1) return `$${trim(usd, 2)}`;
  return `$${usd.toLocaleString('en-US', { maximumSignificantDigits: 2 })}`;
}
