// A diff of two texts for the comparison page: which words (or lines) one experiment's output
// removed from and added to the baseline's. Pure, for the unit tests.
//
// The common start and end are set aside first (outputs that differ usually differ in a small
// part), then the longest common subsequence of what is left is found with a table. The table
// grows with the product of the two lengths, so past `maxCells` the words are retried as lines,
// and past that too the middle is shown as replaced whole: a page of 1,000 cases must not stall
// on one pair of long outputs.

const MAX_CELLS = 250_000;

/** Words and the whitespace between them (kept, so the parts join back into the texts). */
export function words(text) {
  return String(text).match(/\s+|[^\s]+/g) || [];
}

/** Lines, each with its line break. */
export function lines(text) {
  return String(text).match(/[^\n]*\n|[^\n]+/g) || [];
}

/**
 * `{parts: [{op, text}], unit, same}`: `op` is `=` (in both), `-` (only in `a`) or `+` (only in
 * `b`); `unit` is how it was cut (`word`, `line`, or `whole` when too long for either).
 */
export function diffText(a, b, { maxCells = MAX_CELLS } = {}) {
  const left = String(a ?? '');
  const right = String(b ?? '');
  if (left === right) return { parts: left ? [{ op: '=', text: left }] : [], unit: 'word', same: true };
  for (const [unit, cut] of [['word', words], ['line', lines]]) {
    const parts = diffTokens(cut(left), cut(right), maxCells);
    if (parts) return { parts: unit === 'word' ? tidy(parts) : parts, unit, same: false };
  }
  return { parts: diffTokens(lines(left), lines(right), Infinity, true), unit: 'whole', same: false };
}

/** The diff of two token lists, or null when the table would exceed `maxCells`. */
export function diffTokens(a, b, maxCells = MAX_CELLS, whole = false) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const n = endA - start;
  const m = endB - start;
  const out = [];
  push(out, '=', a.slice(0, start).join(''));
  if (whole) {
    push(out, '-', a.slice(start, endA).join(''));
    push(out, '+', b.slice(start, endB).join(''));
  } else {
    if ((n + 1) * (m + 1) > maxCells) return null;
    middle(a.slice(start, endA), b.slice(start, endB), out);
  }
  push(out, '=', a.slice(endA).join(''));
  return out;
}

/** The LCS table walked from the start: at each step keep a common token, or drop the side that loses less. */
function middle(a, b, out) {
  const n = a.length;
  const m = b.length;
  const width = m + 1;
  // lcs[i * width + j]: the longest common subsequence of a[i..] and b[j..].
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lcs[i * width + j] = a[i] === b[j]
        ? lcs[(i + 1) * width + j + 1] + 1
        : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      push(out, '=', a[i]);
      i += 1;
      j += 1;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      push(out, '-', a[i]);
      i += 1;
    } else {
      push(out, '+', b[j]);
      j += 1;
    }
  }
  while (i < n) push(out, '-', a[i++]);
  while (j < m) push(out, '+', b[j++]);
}

/** Appends, joining a part to the previous one of the same kind. */
function push(out, op, text) {
  if (!text) return;
  const last = out[out.length - 1];
  if (last && last.op === op) last.text += text;
  else out.push({ op, text });
}

/**
 * Reads better: a lone space kept between two changes ("-cat +dog ␣ -sat +ran") joins them, and
 * each run of changes reads as what was removed, then what was added.
 */
function tidy(parts) {
  const out = [];
  let removed = '';
  let added = '';
  const flush = () => {
    push(out, '-', removed);
    push(out, '+', added);
    removed = '';
    added = '';
  };
  for (let k = 0; k < parts.length; k += 1) {
    const p = parts[k];
    const changing = removed || added;
    if (p.op === '-') removed += p.text;
    else if (p.op === '+') added += p.text;
    else if (changing && /^\s+$/.test(p.text) && k + 1 < parts.length && parts[k + 1].op !== '=') {
      removed += p.text;
      added += p.text;
    } else {
      flush();
      push(out, '=', p.text);
    }
  }
  flush();
  return out;
}
