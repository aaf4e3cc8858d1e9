// What exporting and deleting the runs of a query do, without the page: paging through the runs,
// reading each run's spans a window at a time, counting them against the run's `span_count` as
// `lemma export` does, and deleting runs one by one. `get(path, params, {signal})` and
// `del(path, {signal})` are the API calls (injected, so the unit tests need no server).

/** Runs per page while listing; spans per window (the spans route's maximum). */
export const RUN_PAGE = 200;
export const SPAN_WINDOW = 500;

/** Every page of runs matching `q`, newest first; `onPage(runs, more)` after each. */
export async function forEachRunPage(get, q, onPage, { signal, limit = RUN_PAGE } = {}) {
  let cursor = null;
  do {
    const body = await get('/runs', { q, limit, cursor }, { signal });
    cursor = body.next_cursor || null;
    await onPage(body.runs || [], Boolean(cursor));
  } while (cursor);
}

/** The ids of the runs matching `q`; `onProgress(n)` as pages come in. */
export async function collectRunIds(get, q, { signal, onProgress } = {}) {
  const ids = [];
  await forEachRunPage(get, q, (runs) => {
    for (const run of runs) ids.push(run.run_id);
    onProgress?.(ids.length);
  }, { signal, limit: 1000 });
  return ids;
}

/**
 * The ids of the runs holding a span matching `q` (`GET /spans`, every page), each once, in the
 * order found; `onProgress(n, ids)` as pages come in (`ids`: the Set so far).
 */
export async function collectSpanRunIds(get, q, { signal, onProgress } = {}) {
  const ids = new Set();
  let cursor = null;
  do {
    const body = await get('/spans', { q, limit: 1000, cursor }, { signal });
    for (const span of body.spans || []) if (span.trace_id) ids.add(span.trace_id);
    onProgress?.(ids.size, ids);
    cursor = body.next_cursor || null;
  } while (cursor);
  return [...ids];
}

/**
 * The spans of the runs matching `q` as JSONL: `{parts, runs, spans, short}` where `parts` are
 * the file's lines (each ending in a newline) and `short` lists the runs that came out with
 * fewer (or more) spans than their summary counts, as `{runId, written, expected}`.
 * `onProgress({runs, known, more, spans})` after each run.
 */
export async function exportRuns(get, q, { signal, onProgress, window = SPAN_WINDOW } = {}) {
  const tally = { parts: [], runs: 0, spans: 0, short: [] };
  let known = 0;
  await forEachRunPage(get, q, async (runs, more) => {
    known += runs.length;
    for (const run of runs) {
      const written = await exportRun(get, run.run_id, tally.parts, { signal, window });
      tally.runs += 1;
      tally.spans += written;
      const expected = run.span_count ?? 0;
      if (written !== expected) tally.short.push({ runId: run.run_id, written, expected });
      onProgress?.({ runs: tally.runs, known, more, spans: tally.spans });
    }
  }, { signal });
  return tally;
}

async function exportRun(get, runId, parts, { signal, window }) {
  let offset = 0;
  let written = 0;
  for (;;) {
    const body = await get(`/runs/${encodeURIComponent(runId)}/spans`, { offset, limit: window }, { signal });
    const spans = body.spans || [];
    for (const span of spans) parts.push(`${JSON.stringify(span)}\n`);
    written += spans.length;
    offset += spans.length;
    // An empty window ends it too: a run shrinking under us must not loop forever.
    if (spans.length === 0 || offset >= (body.total ?? 0)) return written;
  }
}

/**
 * Deletes the runs one by one: `{deleted, gone}` (`gone`: already deleted by someone else, a 404).
 * Stops at the first other failure, which is thrown with `deleted` set on it.
 */
export async function deleteRuns(del, ids, { signal, onProgress } = {}) {
  let deleted = 0;
  let gone = 0;
  for (const id of ids) {
    try {
      await del(`/runs/${encodeURIComponent(id)}`, { signal });
      deleted += 1;
    } catch (err) {
      if (err.status !== 404) {
        err.deleted = deleted;
        throw err;
      }
      gone += 1;
    }
    onProgress?.(deleted + gone);
  }
  return { deleted, gone };
}

/** "3 runs", "1 run". */
export function runsNoun(n, fmt = String) {
  return `${fmt(n)} ${n === 1 ? 'run' : 'runs'}`;
}

/** The download's file name: `lemma-runs-2026-12-06T14-43-34.jsonl` in UTC. */
export function exportFileName(now = new Date()) {
  return `lemma-runs-${now.toISOString().slice(0, 19).replace(/:/g, '-')}.jsonl`;
}
