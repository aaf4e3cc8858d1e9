// Datasets, experiments and comparisons as the experiments pages read and write them (pure, for
// the unit tests). The server parses and checks cases (crates/lemma-core/src/experiments) and its
// 400 names the wrong line, row or case, so nothing here second-guesses what is pasted.
import * as format from '../format.js';

/** The formats cases are pasted or uploaded in, as `?format=` names them. */
export const CASE_FORMATS = [
  { value: 'jsonl', label: 'JSON lines', type: 'application/x-ndjson' },
  { value: 'csv', label: 'CSV', type: 'text/csv' },
];

/** JSON lines when the first line that holds anything is an object, else CSV (a header row). */
export function detectFormat(text, fileName = '') {
  const name = String(fileName).toLowerCase();
  if (/\.(jsonl|ndjson|json)$/.test(name)) return 'jsonl';
  if (name.endsWith('.csv')) return 'csv';
  const first = String(text).split('\n').find((line) => line.trim());
  return first && first.trim().startsWith('{') ? 'jsonl' : 'csv';
}

/** Newest first; equal times by name, so the order is stable. */
export function newestFirst(experiments) {
  return [...(experiments || [])].sort((a, b) => (Number(b.created_at_unix_nano) - Number(a.created_at_unix_nano)) || String(a.name).localeCompare(String(b.name)));
}

/** The datasets any experiment or dataset names, sorted: the choices of the dataset filter. */
export function datasetNames(datasets, experiments) {
  return [...new Set([...(datasets || []).map((d) => d.name), ...(experiments || []).map((e) => e.dataset)])].sort();
}

/** `/compare?experiments=a,b`: the first is the baseline. */
export function compareHref(names, { changed = false } = {}) {
  const params = new URLSearchParams({ experiments: names.join(',') });
  if (changed) params.set('changed', '1');
  return `/compare?${params}`;
}

/** The names of `?experiments=`, without blanks or repeats. */
export function parseNames(value) {
  return [...new Set(String(value || '').split(',').map((n) => n.trim()).filter(Boolean))];
}

/** An input, expected answer or output as plain text: text as it is, anything else as indented JSON. */
export function valueText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2);
}

/** What an editor box shows for a value (a run's input, say): the same as `valueText`. */
export const editorText = valueText;

/**
 * A value back from its editor box. Text stays text when it was text; anything else was shown as
 * JSON and is read back as JSON when it still parses (else it is kept as the text typed).
 * Empty is `undefined`.
 */
export function readEditor(text, original) {
  const t = String(text ?? '');
  if (!t.trim()) return undefined;
  if (typeof original === 'string' || original === null || original === undefined) return t;
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

/** Which way is better for each total: `lower`, `higher`, or null (no colour). */
export const TOTALS = [
  { key: 'answered', label: 'Answered', better: null, show: (v) => format.count(v), delta: (d) => signed(d, format.count) },
  { key: 'failed', label: 'Failed', better: 'lower', show: (v) => format.count(v), delta: (d) => signed(d, format.count) },
  { key: 'p50_duration_ms', label: 'p50 latency', better: 'lower', show: (v) => format.duration(v), delta: (d) => signed(d, format.duration) },
  { key: 'mean_duration_ms', label: 'Mean latency', better: 'lower', show: (v) => format.duration(v), delta: (d) => signed(d, format.duration) },
  { key: 'total_tokens', label: 'Tokens', better: null, show: (v) => format.count(v), delta: (d) => signed(d, format.count) },
  { key: 'cost_usd', label: 'Cost', better: 'lower', show: (v) => format.cost(v), delta: (d) => signed(d, format.cost) },
];

/** A score's delta reads like the score (scores are higher-is-better). */
export function scoreDelta(d) {
  return signed(d, scoreText);
}

/** A score for a cell: booleans as yes/no, numbers to three decimals at most. */
export function scoreText(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
  return format.truncate(String(value), 60);
}

/** A score as a number (as the server counts it: booleans are 1 and 0), or null. */
export function scoreNumber(value) {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

/** "+12 ms", "−$0.0021", "±0". */
function signed(d, show) {
  if (d === 0) return '±0';
  return `${d > 0 ? '+' : '−'}${show(Math.abs(d))}`;
}

/**
 * How `value` compares with `base` when `better` is `lower` or `higher`: `{delta, tone}`, where
 * tone is `better`, `worse`, `same` or null (no direction, or a side missing). Differences under
 * a billionth are the same, as on the server.
 */
export function compareValues(base, value, better) {
  if (typeof base !== 'number' || typeof value !== 'number') return { delta: null, tone: null };
  const delta = value - base;
  if (Math.abs(delta) < 1e-9) return { delta: 0, tone: better ? 'same' : null };
  if (!better) return { delta, tone: null };
  const up = delta > 0;
  return { delta, tone: (better === 'higher') === up ? 'better' : 'worse' };
}

/** The cases a toggle leaves: all, the changed ones, or the regressions. */
export function caseFilter(mode) {
  if (mode === 'regressions') return (c) => c.regression;
  if (mode === 'changed') return (c) => c.changed;
  return () => true;
}

/** "1,000 cases · 12 changed · 3 regressions". */
export function compareSummary(c) {
  const n = (c.cases || []).length;
  return `${format.count(n)} ${n === 1 ? 'case' : 'cases'} · ${format.count(c.changed)} changed · ${format.count(c.regressions)} ${c.regressions === 1 ? 'regression' : 'regressions'}`;
}

/** The score names of a comparison's cases, in the order of its `scores` (then any other). */
export function scoreNames(c) {
  const names = (c.scores || []).map((s) => s.name);
  const seen = new Set(names);
  for (const row of c.cases || []) {
    for (const r of row.results || []) {
      for (const name of Object.keys(r?.scores || {})) {
        if (!seen.has(name)) {
          seen.add(name);
          names.push(name);
        }
      }
    }
  }
  return names;
}

/** The file an export is saved as: `name-v3.jsonl`. */
export function exportFileName(name, version, fmt) {
  return `${String(name).replace(/[^A-Za-z0-9_.-]/g, '_')}-v${version}.${fmt}`;
}

/** The case a new case was given: the last of the version the server answered with. */
export function addedCaseId(version) {
  const cases = version?.cases || [];
  return cases.length ? cases[cases.length - 1].id : null;
}
