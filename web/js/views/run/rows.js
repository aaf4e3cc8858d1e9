// The rows the tree and the timeline show: the outline's rows (outline.js) less what collapses
// and folds hide (visible.js), with repeated sub-trees folded as their pages arrive
// (repeats.js). Both views read one of these, so they agree on what is shown.
import { createVisibility } from './visible.js';
import { findRepeats } from './repeats.js';
import { PAGE } from './outline.js';

/** `outline` from createOutline; `onChange()` when rows arrive or what is shown changes. */
export function createRows(outline, onChange) {
  const shown = createVisibility(outline.total);
  const opened = new Set(); // folds the user opened: never folded again
  const foldRanges = []; // [from, to] of every fold made, to keep new ones from overlapping

  /** Folds the repeats of the cached rows around a page that just arrived. */
  function foldAround(pageIndex) {
    const block = outline.loadedBlocks().find(([from, to]) => from <= pageIndex * PAGE && pageIndex * PAGE < to);
    if (!block) return false;
    // The page and its cached neighbours: repeats across a page boundary are found too.
    const from = Math.max(block[0], (pageIndex - 1) * PAGE);
    const to = Math.min(block[1], (pageIndex + 2) * PAGE);
    let changed = false;
    for (const fold of findRepeats((p) => outline.rowAt(p), from, to)) {
      const end = fold.position + fold.hidden;
      if (opened.has(fold.position)) continue;
      const same = foldRanges.find(([a]) => a === fold.position);
      if (!same && foldRanges.some(([a, b]) => a <= end && fold.position <= b)) continue;
      if (shown.addFold(fold.position, fold)) {
        if (same) same[1] = Math.max(same[1], end);
        else foldRanges.push([fold.position, end]);
        changed = true;
      }
    }
    return changed;
  }

  const api = {
    outline,
    get count() {
      return shown.count;
    },
    positionAt: (i) => shown.positionAt(i),
    indexOf: (p) => shown.indexOf(p),
    /** What index `i` shows: `{position, row (null while loading), fold, collapsed}`. */
    item(i) {
      const position = shown.positionAt(i);
      return { position, row: outline.rowAt(position), fold: shown.foldAt(position), collapsed: shown.isCollapsed(position) };
    },
    /** The rows at shown indexes [first, last] are in view: fetch what is missing. */
    want(first, last) {
      outline.want(shown.positionAt(Math.max(0, first)), shown.positionAt(Math.max(0, Math.min(shown.count - 1, last))));
    },
    pageArrived(pageIndex) {
      foldAround(pageIndex);
      onChange();
    },
    toggle(position) {
      const row = outline.rowAt(position);
      if (!row?.descendants) return;
      if (shown.isCollapsed(position)) shown.expand(position);
      else shown.collapse(position, row.descendants);
      onChange();
    },
    openFold(position) {
      opened.add(position);
      shown.openFold(position);
      onChange();
    },
    /** Opens whatever hides a position; returns its shown index. */
    reveal(position) {
      if (shown.inFold(position)) {
        for (const [a, b] of foldRanges) if (a <= position && position <= b) opened.add(a);
      }
      if (shown.reveal(position)) onChange();
      return shown.indexOf(position);
    },
    expandAll() {
      for (const [a] of foldRanges) opened.add(a);
      shown.clear();
      onChange();
    },
    /**
     * Collapses every span with children. That needs every row: when the run fits in the cache
     * its rows are loaded first; a longer run collapses its top-level spans only.
     */
    async collapseAll() {
      const list = [];
      if (outline.fitsInCache()) {
        for (const row of await outline.rows(0, outline.total)) if (row.descendants) list.push([row.position, row.descendants]);
      } else {
        for (let p = 0; p < outline.total && list.length < 10_000;) {
          const row = await outline.row(p);
          if (!row) break;
          if (row.descendants) list.push([p, row.descendants]);
          p += row.descendants + 1;
        }
      }
      shown.collapseMany(list);
      onChange();
    },
    isCollapsed: (p) => shown.isCollapsed(p),
    /** The spans collapsed whose rows are cached: what a fresh outline of the run collapses again. */
    collapsedSpans() {
      return shown.collapsedPositions().map((p) => outline.rowAt(p)?.span_id).filter(Boolean);
    },
    /** Collapses these spans where their rows are cached (and still have children). */
    collapseSpans(ids) {
      const list = [];
      for (const id of ids) {
        const p = outline.cachedPosition(id);
        const row = p == null ? null : outline.rowAt(p);
        if (row?.descendants) list.push([p, row.descendants]);
      }
      if (list.length) shown.collapseMany(list);
    },
    /** The position of a row's parent: the nearest row before it one level up. */
    async parentOf(position) {
      const row = await outline.row(position);
      if (!row || row.depth === 0) return null;
      for (let p = position - 1; p >= 0; p -= 1) {
        const r = outline.rowAt(p);
        if (!r) break;
        if (r.depth < row.depth) return p;
      }
      return row.parent_span_id ? outline.positionOf(row.parent_span_id) : null;
    },
  };
  foldAround(0);
  return api;
}
