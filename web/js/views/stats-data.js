// The Stats page's logic that needs no DOM: what the URL asks for, which /stats requests answer
// it, and the API's answer reshaped for the charts.
import { formatRange, parseRange } from '../components/timerange.js';

export const DEFAULT_RANGE = '24h';

/**
 * When the URL names no range and the default one holds no run, the page widens to the first
 * of these that holds one, so a project that was quiet today still opens on its numbers.
 */
export const WIDER_RANGES = ['7d', '30d', 'all'];

/** Whether the URL chose a range (`range`, `from` or `to`) rather than leaving the default. */
export function choseRange(query) {
  return ['range', 'from', 'to'].some((name) => query.get(name));
}

/** For "All time": a first pass over every run in coarse buckets finds where the data starts. */
export const EPOCH = '1970-01-01T00:00:00Z';
export const COARSE_BUCKET = { text: '30d', ms: 30 * 86_400_000 };
export const FINE_BUCKET = { text: '1h', ms: 3_600_000 };

/**
 * The page state a URL query stands for: `{q, range}` with `range` in the time range picker's
 * URL form. Links may also say `from`/`to` (RFC 3339 or relative like `24h`) instead of `range`.
 */
export function readState(query) {
  const q = (query.get('q') || '').trim();
  const from = query.get('from');
  const to = query.get('to');
  if (!query.get('range') && (from || to)) {
    if (from && !to && parseRange(from, '').kind === 'relative') return { q, range: from };
    const custom = parseRange(`${from || ''}..${to || ''}`, DEFAULT_RANGE);
    return { q, range: formatRange(custom) };
  }
  return { q, range: formatRange(parseRange(query.get('range') || DEFAULT_RANGE, DEFAULT_RANGE)) };
}

/**
 * The URL query for a state, leaving out what is the default; a range the user picked is kept
 * even when it is the default (`chosen`), or the page would widen it again (`WIDER_RANGES`).
 */
export function stateQuery({ q, range }, { chosen = false } = {}) {
  return { q: q || null, range: range === DEFAULT_RANGE && !chosen ? null : range };
}

/**
 * How to ask the API for a range: `{from, to}` when the range has a start, or `{open: true, to}`
 * when it has none ("All time", or a custom range with only an end), which needs the start
 * found first (see `firstDataStart`).
 */
export function requestBounds(rangeValue) {
  const range = parseRange(rangeValue, DEFAULT_RANGE);
  if (range.kind === 'relative') return { from: range.value, to: null, open: false };
  if (range.kind === 'custom' && range.from) return { from: range.from, to: range.to, open: false };
  return { from: null, to: range.kind === 'custom' ? range.to : null, open: true };
}

/** The start (unix ms) of the first bucket of a series with a run in it, or null. */
export function firstDataStart(stats) {
  const bucket = (stats.series || []).find((b) => b.runs > 0);
  return bucket ? bucketStartMs(bucket) : null;
}

export function bucketStartMs(bucket) {
  const parsed = Date.parse(bucket.start_time);
  return Number.isNaN(parsed) ? bucket.start / 1e6 : parsed;
}

/**
 * The series as chart input: bucket starts in ms and one array per measure. Latency is null in
 * buckets without runs (a gap, not a zero); sums are zero there.
 */
export function chartSeries(stats) {
  const series = stats.series || [];
  return {
    times: series.map(bucketStartMs),
    bucketMs: stats.bucket_seconds * 1000,
    runs: series.map((b) => b.runs),
    errors: series.map((b) => b.errors),
    p50: series.map((b) => (b.runs ? b.p50_ms ?? null : null)),
    p95: series.map((b) => (b.runs ? b.p95_ms ?? null : null)),
    tokens: series.map((b) => b.total_tokens || 0),
    cost: series.map((b) => b.cost_usd || 0),
  };
}

/** A query term for a field and a value of any shape: `agent:support` or `agent:"a \"b\""`. */
export function term(field, value) {
  const text = String(value);
  if (/^[\w.\-/@]+$/.test(text)) return `${field}:${text}`;
  return `${field}:"${text.replace(/[\\"]/g, '\\$&')}"`;
}

/** ISO time without milliseconds when they are zero, as the range picker writes them. */
export function isoSeconds(ms) {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/**
 * The signal counts' request for the stats shown: the same range and bucket width, its start
 * moved back to a whole bucket from the epoch (as /stats aligns its own), so the buckets of both
 * charts line up.
 */
export function signalCountParams(stats) {
  const bucketMs = stats.bucket_seconds * 1000;
  const from = Math.floor(Date.parse(stats.from_time) / bucketMs) * bucketMs;
  return { from: isoSeconds(from), to: stats.to_time, bucket: `${stats.bucket_seconds}s` };
}

/**
 * `GET /stats/signals`'s answer reshaped: bucket starts (ms), one series of runs per signal name
 * (the `limit` names with most runs; each bucket is runs with that signal, so names are not
 * summed), and the totals per name and severity over the range, most runs first.
 */
export function signalSeries(answer, limit = 6) {
  const bucketMs = answer.bucket_seconds * 1000;
  const from = Date.parse(answer.from_time);
  const to = Date.parse(answer.to_time);
  const n = Math.max(1, Math.ceil((to - from) / bucketMs));
  const times = Array.from({ length: n }, (_, i) => from + i * bucketMs);
  const byName = new Map();
  const totals = new Map();
  for (const c of answer.counts || []) {
    const i = Math.round((Date.parse(c.time) - from) / bucketMs);
    if (i >= 0 && i < n) {
      if (!byName.has(c.name)) byName.set(c.name, { name: c.name, runs: 0, values: new Array(n).fill(0) });
      const series = byName.get(c.name);
      series.values[i] += c.runs;
      series.runs += c.runs;
    }
    const key = `${c.name}\u0000${c.severity}`;
    if (!totals.has(key)) totals.set(key, { name: c.name, severity: c.severity, runs: 0 });
    totals.get(key).runs += c.runs;
  }
  const order = (a, b) => b.runs - a.runs || a.name.localeCompare(b.name);
  const rank = (t) => ['critical', 'warning', 'info'].indexOf(t.severity);
  return {
    times,
    bucketMs,
    series: [...byName.values()].sort(order).slice(0, limit),
    names: byName.size,
    totals: [...totals.values()].sort((a, b) => order(a, b) || rank(a) - rank(b)),
  };
}
