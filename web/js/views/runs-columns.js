// Which columns the runs list shows: the built-in ones (some hidden until chosen) and any
// metadata key (`meta.<key>`). The choice is a list of keys, remembered per project; this module
// keeps it valid, whatever localStorage holds. Pure apart from `loadColumns`/`saveColumns`.
import { readJson, storageKey, writeJson } from './runs-storage.js';

export const META = 'meta.';
const MAX_META_COLUMNS = 12;
const MAX_KEY_CHARS = 200;

/** Built-in columns in display order. `sort` is the API order a header click asks for. */
export const BUILT_IN = [
  { key: 'time', label: 'Started', sort: 'start_time', fixed: true },
  { key: 'agent', label: 'Agent' },
  { key: 'status', label: 'Status' },
  { key: 'input', label: 'Input' },
  { key: 'output', label: 'Output', optional: true },
  { key: 'models', label: 'Models', optional: true },
  { key: 'duration', label: 'Duration', num: true, sort: 'duration' },
  { key: 'tokens', label: 'Tokens', num: true, sort: 'tokens' },
  { key: 'cost', label: 'Cost', num: true, sort: 'cost' },
  { key: 'spans', label: 'Spans', num: true, sort: 'spans' },
  { key: 'errors', label: 'Errors', num: true, sort: 'errors' },
  { key: 'signals', label: 'Signals' },
  { key: 'tags', label: 'Tags', optional: true },
  { key: 'thread', label: 'Thread' },
  { key: 'user', label: 'User' },
  { key: 'env', label: 'Environment', optional: true },
];
const BY_KEY = new Map(BUILT_IN.map((c) => [c.key, c]));

export function defaultColumns() {
  return BUILT_IN.filter((c) => !c.optional).map((c) => c.key);
}

export function metaColumn(key) {
  return `${META}${key}`;
}

/**
 * A valid list of column keys: known built-ins in their display order, then metadata columns
 * in the order they were added; `time` (which holds the row's link) always; no duplicates.
 * Anything that is not a list of keys is the default.
 */
export function normalizeColumns(keys) {
  if (!Array.isArray(keys)) return defaultColumns();
  const wanted = new Set(keys.filter((k) => typeof k === 'string'));
  const builtIn = BUILT_IN.filter((c) => c.fixed || wanted.has(c.key)).map((c) => c.key);
  const meta = [...wanted]
    .filter((k) => k.startsWith(META) && k.length > META.length && k.length <= META.length + MAX_KEY_CHARS)
    .slice(0, MAX_META_COLUMNS);
  return [...builtIn, ...meta];
}

/** The keys with `key` shown (`on`) or hidden. */
export function toggleColumn(keys, key, on) {
  const rest = keys.filter((k) => k !== key);
  return normalizeColumns(on ? [...rest, key] : rest);
}

/** Column definitions for keys: `{key, label, num, sort, metaKey}`. */
export function columnDefs(keys) {
  return normalizeColumns(keys).map((key) => BY_KEY.get(key) || { key, label: key.slice(META.length), metaKey: key.slice(META.length) });
}

export function sameColumns(a, b) {
  const x = normalizeColumns(a);
  const y = normalizeColumns(b);
  return x.length === y.length && x.every((k, i) => k === y[i]);
}

export function loadColumns(project, storage) {
  const saved = readJson(storageKey('columns', project), storage);
  return normalizeColumns(saved?.columns);
}

export function saveColumns(keys, project, storage) {
  return writeJson(storageKey('columns', project), { columns: normalizeColumns(keys) }, storage);
}
