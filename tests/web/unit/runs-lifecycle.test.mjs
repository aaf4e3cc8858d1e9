import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectRunIds, deleteRuns, exportFileName, exportRuns, runsNoun } from '../../../web/js/views/runs-lifecycle.js';
import { retentionBody, retentionLabel } from '../../../web/js/views/settings-data.js';

/** A fake API over `runs` (each `{run_id, span_count, spans}`), paging as the server does. */
function fakeApi(runs, calls = []) {
  return async (path, params) => {
    calls.push([path, { ...params }]);
    if (path === '/runs') {
      const from = params.cursor ? Number(params.cursor) : 0;
      const page = runs.slice(from, from + params.limit);
      const next = from + params.limit < runs.length ? String(from + params.limit) : null;
      return { runs: page.map(({ run_id, span_count }) => ({ run_id, span_count })), next_cursor: next };
    }
    const id = decodeURIComponent(path.split('/')[2]);
    const run = runs.find((r) => r.run_id === id);
    return { total: run.spans.length, offset: params.offset, spans: run.spans.slice(params.offset, params.offset + params.limit) };
  };
}

const spans = (id, n) => Array.from({ length: n }, (_, i) => ({ trace_id: id, span_id: `${id}-${i}`, name: `s${i}` }));

test('export pages through runs and span windows, a line per span, in order', async () => {
  const runs = [
    { run_id: 'a', span_count: 3, spans: spans('a', 3) },
    { run_id: 'b', span_count: 7, spans: spans('b', 7) },
    { run_id: 'c', span_count: 0, spans: [] },
  ];
  const calls = [];
  const progress = [];
  const out = await exportRuns(fakeApi(runs, calls), 'agent:x', { window: 3, onProgress: (p) => progress.push(p) });
  assert.equal(out.runs, 3);
  assert.equal(out.spans, 10);
  assert.deepEqual(out.short, []);
  assert.deepEqual(out.parts.map((line) => JSON.parse(line)), [...runs[0].spans, ...runs[1].spans]);
  assert.ok(out.parts.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n')));
  assert.deepEqual(calls.filter(([p]) => p === '/runs/b/spans').map(([, q]) => q.offset), [0, 3, 6]);
  assert.equal(calls[0][1].q, 'agent:x');
  assert.deepEqual(progress.at(-1), { runs: 3, known: 3, more: false, spans: 10 });
});

test('a run whose spans do not match its count is reported short', async () => {
  const runs = [
    { run_id: 'a', span_count: 5, spans: spans('a', 3) },
    { run_id: 'b', span_count: 2, spans: spans('b', 2) },
  ];
  const out = await exportRuns(fakeApi(runs), '', { window: 2 });
  assert.deepEqual(out.short, [{ runId: 'a', written: 3, expected: 5 }]);
  assert.equal(out.spans, 5);
});

test('progress knows more runs exist while pages remain', async () => {
  const runs = Array.from({ length: 250 }, (_, i) => ({ run_id: `r${i}`, span_count: 1, spans: spans(`r${i}`, 1) }));
  const seen = [];
  await exportRuns(fakeApi(runs), '', { onProgress: (p) => seen.push(p) });
  assert.deepEqual(seen[0], { runs: 1, known: 200, more: true, spans: 1 });
  assert.deepEqual(seen.at(-1), { runs: 250, known: 250, more: false, spans: 250 });
});

test('ids are collected across pages', async () => {
  const runs = Array.from({ length: 2500 }, (_, i) => ({ run_id: `r${i}`, span_count: 0, spans: [] }));
  const counts = [];
  const ids = await collectRunIds(fakeApi(runs), 'q', { onProgress: (n) => counts.push(n) });
  assert.equal(ids.length, 2500);
  assert.equal(new Set(ids).size, 2500);
  assert.deepEqual(counts, [1000, 2000, 2500]);
});

test('deleting counts runs already gone and stops at another failure', async () => {
  const deleted = [];
  const del = async (path) => {
    if (path === '/runs/gone') throw Object.assign(new Error('not found'), { status: 404 });
    if (path === '/runs/bad') throw Object.assign(new Error('boom'), { status: 500 });
    deleted.push(path);
  };
  assert.deepEqual(await deleteRuns(del, ['a', 'gone', 'b']), { deleted: 2, gone: 1 });
  assert.deepEqual(deleted, ['/runs/a', '/runs/b']);
  await assert.rejects(deleteRuns(del, ['c', 'bad', 'd']), (err) => err.message === 'boom' && err.deleted === 1);
  assert.ok(!deleted.includes('/runs/d'), 'nothing after the failure is deleted');
  await deleteRuns(del, ['a/b']);
  assert.equal(deleted.at(-1), '/runs/a%2Fb', 'ids are escaped in the path');
});

test('names and labels', () => {
  assert.equal(runsNoun(1), '1 run');
  assert.equal(runsNoun(2), '2 runs');
  assert.equal(exportFileName(new Date('2026-12-06T14:43:34.123Z')), 'lemma-runs-2026-12-06T14-43-34.jsonl');
  assert.equal(retentionLabel(null), 'forever');
  assert.equal(retentionLabel(1), '1 day');
  assert.equal(retentionLabel(30), '30 days');
});

test('the retention form sends numbers as typed and null for forever', () => {
  assert.deepEqual(retentionBody(true, '12'), { body: { days: null } });
  assert.deepEqual(retentionBody(false, ' 30 '), { body: { days: 30 } });
  assert.deepEqual(retentionBody(false, '0'), { body: { days: 0 } }, 'the server says what range it takes');
  assert.ok(retentionBody(false, '').error);
  assert.ok(retentionBody(false, 'abc').error);
});
