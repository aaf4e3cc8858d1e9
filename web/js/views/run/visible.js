// Which outline rows are shown. The outline gives every row's subtree size, so hiding a subtree
// is one range of positions, known before its rows are loaded: a collapsed row hides the
// `descendants` positions after it, a fold (repeated sub-trees, see repeats.js) hides all but its
// first row. Shown rows are then every position outside the outermost ranges, and mapping a shown
// index to a position (or back) is a binary search, whatever the run's size. DOM-free.

/** `total` positions; `{count, positionAt(i), indexOf(p), ...}` over them. */
export function createVisibility(total) {
  // position → entry; a collapse and a fold can sit at one position, so two maps.
  const collapsed = new Map(); // position → descendants
  const folds = new Map(); // position → {hidden, units, unitRows, label}
  let starts = []; // first hidden position of each outermost range
  let lens = [];
  let before = []; // positions hidden by the ranges before this one
  let hiddenTotal = 0;

  function rebuild() {
    const entries = [];
    for (const [p, d] of collapsed) if (d > 0) entries.push([p, d]);
    for (const [p, f] of folds) if (f.hidden > 0) entries.push([p, f.hidden]);
    entries.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    starts = [];
    lens = [];
    before = [];
    hiddenTotal = 0;
    let end = -1; // exclusive end of the last kept range
    for (const [p, d] of entries) {
      const from = p + 1;
      const to = Math.min(total, p + 1 + d);
      if (from < end) {
        // Inside a kept range, or overlapping its tail (a fold reaching past a collapse).
        if (to > end) {
          lens[lens.length - 1] += to - end;
          hiddenTotal += to - end;
          end = to;
        }
        continue;
      }
      if (to <= from) continue;
      starts.push(from);
      lens.push(to - from);
      before.push(hiddenTotal);
      hiddenTotal += to - from;
      end = to;
    }
  }

  /** The last range starting at or before position `p`, or -1. */
  function rangeAtOrBefore(p) {
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= p) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  return {
    get count() {
      return total - hiddenTotal;
    },
    get total() {
      return total;
    },
    /** The position shown at index `i`. */
    positionAt(i) {
      // The range whose first hidden position would sit at shown index starts[k] - before[k].
      let lo = 0;
      let hi = starts.length - 1;
      let k = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid] - before[mid] <= i) {
          k = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return k < 0 ? i : i + before[k] + lens[k];
    },
    /** The shown index of position `p`, or -1 when a collapse or fold hides it. */
    indexOf(p) {
      const k = rangeAtOrBefore(p);
      if (k < 0) return p;
      if (p < starts[k] + lens[k]) return -1;
      return p - before[k] - lens[k];
    },
    isCollapsed: (p) => collapsed.has(p),
    foldAt: (p) => folds.get(p) || null,
    collapsedCount: () => collapsed.size,
    collapsedPositions: () => [...collapsed.keys()],
    /** Hides the `descendants` rows after `p`. */
    collapse(p, descendants) {
      collapsed.set(p, descendants);
      rebuild();
    },
    expand(p) {
      collapsed.delete(p);
      rebuild();
    },
    /** Replaces every collapse at once (collapse all): `[[position, descendants]]`. */
    collapseMany(list) {
      for (const [p, d] of list) collapsed.set(p, d);
      rebuild();
    },
    /** A fold at `p` hiding the `fold.hidden` positions after it; false when one is there. */
    addFold(p, fold) {
      const old = folds.get(p);
      if (old && old.hidden >= fold.hidden) return false;
      folds.set(p, fold);
      rebuild();
      return true;
    },
    openFold(p) {
      folds.delete(p);
      rebuild();
    },
    /** Opens whatever hides position `p` (collapsed ancestors, folds). True when any did. */
    reveal(p) {
      let changed = false;
      for (const [q, d] of collapsed) {
        if (q < p && p <= q + d) {
          collapsed.delete(q);
          changed = true;
        }
      }
      for (const [q, f] of folds) {
        // A fold's own row shows the fold, not the span: opening it shows the span.
        if (q <= p && p <= q + f.hidden) {
          folds.delete(q);
          changed = true;
        }
      }
      if (changed) rebuild();
      return changed;
    },
    /** Whether position `p` lies inside a fold (shown as the fold, or hidden by it). */
    inFold(p) {
      for (const [q, f] of folds) if (q <= p && p <= q + f.hidden) return true;
      return false;
    },
    clear() {
      collapsed.clear();
      folds.clear();
      rebuild();
    },
  };
}
