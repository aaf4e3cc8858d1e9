// A run's outline (every span's light row in tree pre-order, with its depth and subtree sizes)
// read in pages from GET /runs/{id}/outline and kept in a bounded cache: the views ask for the
// rows in view, pages missing are fetched (the newest wishes first, a few at a time), and the
// pages least recently in view are dropped past MAX_PAGES. A 100k-span run never sits whole in
// the page's memory, and a 20-span run is one page.
import * as api from '../../api.js';

export const PAGE = 1000;
const MAX_PAGES = 40;
const PARALLEL = 2;

/**
 * `first`: the outline's answer for offset 0 (`{run, total, offset, rows}`). `onPage(index)` is
 * called when a page arrives. Returns the source the views read rows from.
 */
export function createOutline(runId, first, onPage) {
  const path = `/runs/${encodeURIComponent(runId)}/outline`;
  const pages = new Map(); // page index → rows; in order of last use
  const positions = new Map(); // span id → position, for the cached rows
  const loading = new Map(); // page index → promise
  const partial = new Set(); // page indexes holding fewer rows than they should
  let wanted = []; // page indexes in view, not cached, not loading
  let inView = new Set();
  let disposed = false;
  const total = first.total;

  const expected = (index) => Math.min(PAGE, total - index * PAGE);

  // A page's rows, from its first position. A window can stop short of its limit (the server
  // bounds an answer's bytes, and long names make rows large): such a page is kept as it is,
  // shown, and completed by the next load.
  function store(index, rows) {
    rows.forEach((row, i) => {
      row.position = index * PAGE + i;
      positions.set(row.span_id, row.position);
    });
    pages.set(index, rows);
    if (rows.length < expected(index)) partial.add(index);
    else partial.delete(index);
    evict();
  }

  async function fetchPage(index, have) {
    let rows = have;
    while (rows.length < expected(index)) {
      const answer = await api.get(path, { offset: index * PAGE + rows.length, limit: expected(index) - rows.length });
      const more = answer.rows || [];
      if (!more.length) break; // the run shrank (deleted meanwhile)
      rows = rows.concat(more);
    }
    return rows;
  }

  function evict() {
    for (const [index, rows] of pages) {
      if (pages.size <= MAX_PAGES) break;
      if (inView.has(index)) continue;
      pages.delete(index);
      partial.delete(index);
      for (const row of rows) if (positions.get(row.span_id) === row.position) positions.delete(row.span_id);
    }
  }

  function load(index) {
    if (pages.has(index) && !partial.has(index)) return Promise.resolve(pages.get(index));
    if (loading.has(index)) return loading.get(index);
    const promise = fetchPage(index, pages.get(index) || [])
      .then((rows) => {
        if (disposed) return [];
        store(index, rows);
        onPage(index);
        return pages.get(index) || [];
      })
      .finally(() => {
        loading.delete(index);
        pump();
      });
    loading.set(index, promise);
    return promise;
  }

  function pump() {
    while (!disposed && loading.size < PARALLEL && wanted.length) load(wanted.shift());
  }

  store(0, first.rows || []);
  if (partial.has(0)) load(0);

  return {
    total,
    /** The row at a position, or null while its page is not loaded. */
    rowAt(p) {
      const rows = pages.get(Math.floor(p / PAGE));
      return rows ? rows[p % PAGE] || null : null;
    },
    /** Asks for the rows in [from, to] (positions): the only pages worth fetching now. */
    want(from, to) {
      const firstPage = Math.max(0, Math.floor(from / PAGE));
      const lastPage = Math.min(Math.floor((total - 1) / PAGE), Math.floor(to / PAGE));
      inView = new Set();
      wanted = [];
      for (let i = firstPage; i <= lastPage; i += 1) {
        inView.add(i);
        const rows = pages.get(i);
        if (rows && !partial.has(i)) {
          // Most recently used last.
          pages.delete(i);
          pages.set(i, rows);
        } else if (!loading.has(i)) wanted.push(i);
      }
      pump();
    },
    /** Resolves to the rows in [from, to) once loaded (for jumps and collapse all). */
    async rows(from, to) {
      const out = [];
      for (let i = Math.floor(from / PAGE); i * PAGE < Math.min(to, total); i += 1) {
        const rows = await load(i);
        for (const row of rows) if (row.position >= from && row.position < to) out.push(row);
      }
      return out;
    },
    /** The row at a position, loading its page when needed. */
    async row(p) {
      return this.rowAt(p) || (await load(Math.floor(p / PAGE)))[p % PAGE] || null;
    },
    /** Where a span is: from the cached rows, else asked of /find (null when not in the run). */
    async positionOf(spanId) {
      if (positions.has(spanId)) return positions.get(spanId);
      if (!/^[0-9a-f]{16}$/i.test(spanId)) return null;
      const answer = await api.get(`/runs/${encodeURIComponent(runId)}/find`, { q: `span:${spanId}`, limit: 1 });
      return answer.matches?.[0]?.position ?? null;
    },
    /** Where a span is, when its row is cached (null when not: no look-up). */
    cachedPosition: (spanId) => positions.get(spanId) ?? null,
    /** Notes where a span is (a search answer says), sparing a look-up when it is selected. */
    remember(spanId, position) {
      if (!positions.has(spanId) && positions.size < 100_000) positions.set(spanId, position);
    },
    /** Whether every row fits in the cache (then collapse all and folds can see the whole run). */
    fitsInCache: () => total <= MAX_PAGES * PAGE,
    /** Cached pages as `[from, to)` blocks of contiguous positions. */
    loadedBlocks() {
      const indexes = [...pages.keys()].sort((a, b) => a - b);
      const blocks = [];
      for (const i of indexes) {
        const from = i * PAGE;
        const to = Math.min(total, from + pages.get(i).length);
        const last = blocks[blocks.length - 1];
        if (last && last[1] === from) last[1] = to;
        else blocks.push([from, to]);
      }
      return blocks;
    },
    dispose() {
      disposed = true;
      wanted = [];
    },
  };
}
