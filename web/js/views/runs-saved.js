// Saved views of the runs list: a name for a query, time range, order and columns, kept in this
// browser per project. Pure list operations plus the read and write; the menu is runs-views.js.
import { normalizeColumns, sameColumns } from './runs-columns.js';
import { DEFAULT_SORT, SORTS } from './runs-sort.js';
import { readJson, storageKey, writeJson } from './runs-storage.js';

export const MAX_VIEWS = 50;
export const MAX_NAME = 80;

/** A view as stored, made valid (`null` when it has no usable name). */
export function normalizeView(view) {
  if (!view || typeof view !== 'object') return null;
  const name = typeof view.name === 'string' ? view.name.trim().slice(0, MAX_NAME) : '';
  if (!name) return null;
  const by = SORTS.includes(view.sort?.by) ? view.sort.by : DEFAULT_SORT.by;
  const order = view.sort?.order === 'asc' || view.sort?.order === 'desc' ? view.sort.order : DEFAULT_SORT.order;
  return {
    name,
    q: typeof view.q === 'string' ? view.q : '',
    range: typeof view.range === 'string' ? view.range : '',
    sort: { by, order },
    columns: normalizeColumns(view.columns),
  };
}

export function loadViews(project, storage) {
  const saved = readJson(storageKey('views', project), storage);
  const views = Array.isArray(saved?.views) ? saved.views.map(normalizeView).filter(Boolean) : [];
  return dedupe(views).slice(0, MAX_VIEWS);
}

export function storeViews(views, project, storage) {
  return writeJson(storageKey('views', project), { views }, storage);
}

function dedupe(views) {
  const seen = new Set();
  return views.filter((v) => !seen.has(v.name) && seen.add(v.name));
}

/** `{views, error}`: the view added, or replacing the one of the same name in place. */
export function saveView(views, view) {
  const next = normalizeView(view);
  if (!next) return { views, error: 'Give the view a name.' };
  const i = views.findIndex((v) => v.name === next.name);
  if (i >= 0) return { views: views.map((v, k) => (k === i ? next : v)), error: null };
  if (views.length >= MAX_VIEWS) return { views, error: `At most ${MAX_VIEWS} views: delete one first.` };
  return { views: [...views, next], error: null };
}

/** `{views, error}`: the view renamed, unless the new name is empty or taken. */
export function renameView(views, from, to) {
  const name = String(to || '').trim().slice(0, MAX_NAME);
  if (!name) return { views, error: 'Give the view a name.' };
  if (name === from) return { views, error: null };
  if (views.some((v) => v.name === name)) return { views, error: `A view named “${name}” exists already.` };
  return { views: views.map((v) => (v.name === from ? { ...v, name } : v)), error: null };
}

export function deleteView(views, name) {
  return views.filter((v) => v.name !== name);
}

/** The saved view that is what the page shows now, if any. */
export function currentView(views, { q, range, sort, columns }) {
  return views.find((v) => v.q === (q || '') && v.range === (range || '') && v.sort.by === sort.by
    && v.sort.order === sort.order && sameColumns(v.columns, columns)) || null;
}
