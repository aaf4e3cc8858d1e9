// Repeated sub-trees in a block of outline rows: an agent looping over the same steps leaves
// runs of sibling sub-trees with one shape (the same kinds, names, tools, models and statuses at
// the same places), one span each (the same tool called again) or a few in turn (model call,
// tool call, model call, …). Each run of at least MIN_REPEATS units becomes a fold that keeps the
// first unit shown and hides the rest. Only the rows of the block are read: a sub-tree that
// reaches past it has no shape. DOM-free, so it is unit tested in node.

export const MIN_REPEATS = 3;
const MAX_PERIOD = 4; // units of up to 4 sibling sub-trees
const MAX_UNIT_ROWS = 200; // larger sub-trees are never compared
const MAX_CHILDREN = 5000; // a parent with more children has no shape of its own

/**
 * `rowAt(p)` gives the row at position p for every p in [from, to) (`depth`, `descendants`,
 * `name`, `kind`, `tool_name`, `model`, `status`). Returns folds, in position order:
 * `{position, hidden, units, unitSpans, names}`: the fold sits at `position` (the first row of
 * the second unit) and hides the `hidden` positions after it; `units` repeats are folded.
 */
export function findRepeats(rowAt, from, to) {
  const ids = new Map(); // shape text → small number
  const shape = new Map(); // position → shape number, -1 when unknown
  const families = []; // sibling lists, as positions
  for (let p = to - 1; p >= from; p -= 1) {
    const row = rowAt(p);
    const end = p + 1 + row.descendants;
    const kids = [];
    for (let c = p + 1; c < Math.min(end, to) && kids.length <= MAX_CHILDREN; c += rowAt(c).descendants + 1) kids.push(c);
    if (kids.length >= MIN_REPEATS) families.push(kids);
    let id = -1;
    if (end <= to && row.descendants <= MAX_UNIT_ROWS && kids.every((c) => shape.get(c) >= 0)) {
      const text = `${label(row)}(${kids.map((c) => shape.get(c)).join(',')})`;
      if (!ids.has(text)) ids.set(text, ids.size);
      id = ids.get(text);
    }
    shape.set(p, id);
  }
  // The block's own top level: the first row and its following siblings.
  const top = [];
  const depth = from < to ? rowAt(from).depth : 0;
  for (let c = from; c < to && rowAt(c).depth === depth; c += rowAt(c).descendants + 1) top.push(c);
  if (top.length >= MIN_REPEATS) families.push(top);

  const folds = [];
  for (const kids of families) folds.push(...repeatsAmong(kids, kids.map((c) => shape.get(c)), rowAt));
  return folds.sort((a, b) => a.position - b.position);
}

function repeatsAmong(kids, shapes, rowAt) {
  const out = [];
  const n = kids.length;
  let i = 0;
  while (i < n) {
    let found = null;
    // The shortest period first: six equal calls are one call six times, not a pair three times.
    for (let k = 1; k <= MAX_PERIOD && !found; k += 1) {
      if (i + k * MIN_REPEATS > n || shapes.slice(i, i + k).some((s) => s < 0)) continue;
      let r = 1;
      while (i + (r + 1) * k <= n && sameUnit(shapes, i, i + r * k, k)) r += 1;
      if (r >= MIN_REPEATS) found = { k, r };
    }
    if (!found) {
      i += 1;
      continue;
    }
    const { k, r } = found;
    const first = kids[i + k];
    const last = kids[i + r * k - 1];
    const end = last + rowAt(last).descendants + 1;
    let unitSpans = 0;
    for (let j = i; j < i + k; j += 1) unitSpans += rowAt(kids[j]).descendants + 1;
    out.push({
      position: first,
      hidden: end - first - 1,
      units: r - 1,
      unitSpans,
      names: kids.slice(i, i + k).map((c) => rowAt(c).tool_name || rowAt(c).name || rowAt(c).kind),
    });
    i += r * k;
  }
  return out;
}

function sameUnit(shapes, a, b, k) {
  for (let j = 0; j < k; j += 1) if (shapes[a + j] !== shapes[b + j]) return false;
  return true;
}

/** What makes two rows the same step, whatever their ids, times and numbers. */
function label(row) {
  return [row.kind, row.name, row.tool_name || '', row.model || '', row.status].join('\u0000');
}
