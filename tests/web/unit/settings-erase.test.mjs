import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectSpanRunIds } from '../../../web/js/views/runs-lifecycle.js';
import {
  allRunIds, cleanUserId, collectUserRuns, confirms, countSummary, countingProgress, eraseOutcome,
  eraseQuestion, userOfQuery, userQuery, userRunsHref,
} from '../../../web/js/views/settings-erase-data.js';

/**
 * A fake API: `runs` lists `{run_id}` for `GET /runs`, `spans` lists `{trace_id}` for `GET
 * /spans`, each paged by `limit` with numeric cursors as the server would.
 */
function fakeApi({ runs = [], spans = [] }, calls = []) {
  return async (path, params) => {
    calls.push([path, { ...params }]);
    const list = path === '/runs' ? runs : spans;
    const from = params.cursor ? Number(params.cursor) : 0;
    const page = list.slice(from, from + params.limit);
    const next = from + params.limit < list.length ? String(from + params.limit) : null;
    return { [path.slice(1)]: page, next_cursor: next };
  };
}

test('the query quotes the user id as the CLI does', () => {
  assert.equal(userQuery('erase-me@example.com'), 'user:"erase-me@example.com"');
  assert.equal(userQuery('a "b" \\c'), 'user:"a \\"b\\" \\\\c"');
  assert.equal(userQuery('<img src=x onerror=alert(1)>'), 'user:"<img src=x onerror=alert(1)>"');
});

test('a query that is exactly one user filter names that user', () => {
  assert.equal(userOfQuery('user:u-7'), 'u-7');
  assert.equal(userOfQuery('  user:"a b"  '), 'a b');
  assert.equal(userOfQuery('user=u-7'), 'u-7');
  assert.equal(userOfQuery('USER:u-7'), 'u-7');
  assert.equal(userOfQuery(userQuery('a "b" \\c')), 'a "b" \\c', 'read back as quoted');
  assert.equal(userOfQuery('user:"a,b"'), 'a,b', 'a quoted comma is part of the id');
  for (const q of ['', 'u-7', 'user:a,b', 'user:"a",b', '-user:u-7', 'NOT user:u-7', 'user!=u-7', 'user:u-7 agent:x',
    'agent:x', 'user:', 'user:""', 'since:24h user:u-7']) {
    assert.equal(userOfQuery(q), null, q);
  }
});

test('typing the id confirms, spaces around it aside', () => {
  assert.equal(cleanUserId('  u-7 '), 'u-7');
  assert.equal(cleanUserId(undefined), '');
  assert.equal(confirms('u-7', 'u-7'), true);
  assert.equal(confirms(' u-7 ', 'u-7'), true);
  assert.equal(confirms('u-', 'u-7'), false);
  assert.equal(confirms('U-7', 'u-7'), false, 'ids are case-sensitive');
  assert.equal(confirms('', ''), false);
});

test('span runs are collected across pages, each once', async () => {
  const spans = Array.from({ length: 2300 }, (_, i) => ({ trace_id: `r${i % 700}` }));
  const calls = [];
  const seen = [];
  const ids = await collectSpanRunIds(fakeApi({ spans }, calls), 'user:"x"', { onProgress: (n) => seen.push(n) });
  assert.equal(ids.length, 700);
  assert.deepEqual(ids.slice(0, 2), ['r0', 'r1']);
  assert.deepEqual(calls.map(([path, p]) => [path, p.q, p.limit, p.cursor]),
    [['/spans', 'user:"x"', 1000, null], ['/spans', 'user:"x"', 1000, '1000'], ['/spans', 'user:"x"', 1000, '2000']]);
  assert.deepEqual(seen, [700, 700, 700]);
});

test('a user\'s runs: those they own, then the others holding a span naming them', async () => {
  const runs = Array.from({ length: 1200 }, (_, i) => ({ run_id: `own${i}` }));
  const spans = [{ trace_id: 'own3' }, { trace_id: 'other1' }, { trace_id: 'own5' }, { trace_id: 'other1' }, { trace_id: 'other2' }];
  const calls = [];
  const progress = [];
  const found = await collectUserRuns(fakeApi({ runs, spans }, calls), 'a"b', { onProgress: (p) => progress.push(p) });
  assert.equal(found.owned.length, 1200);
  assert.deepEqual(found.holding, ['other1', 'other2']);
  assert.deepEqual(allRunIds(found).slice(-3), ['own1199', 'other1', 'other2']);
  assert.ok(calls.every(([, p]) => p.q === 'user:"a\\"b"'), 'both listings are asked the quoted id');
  assert.deepEqual(calls.map(([path]) => path), ['/runs', '/runs', '/spans']);
  assert.deepEqual(progress, [{ owned: 1000, holding: 0 }, { owned: 1200, holding: 0 }, { owned: 1200, holding: 2 }]);

  const none = await collectUserRuns(fakeApi({}), 'nobody');
  assert.deepEqual(none, { owned: [], holding: [] });
});

test('a failure while counting is the server\'s', async () => {
  const get = async () => { throw Object.assign(new Error('query too long'), { status: 400 }); };
  await assert.rejects(collectUserRuns(get, 'x'), /query too long/);
});

test('what the count and the question say', () => {
  const found = (owned, holding) => ({ owned: Array(owned).fill('o'), holding: Array(holding).fill('h') });
  assert.equal(countSummary(found(0, 0)), null);
  assert.equal(countSummary(found(2, 1)), ' owns 2 runs, and 1 other run holds a span that names them: 3 runs to erase.');
  assert.equal(countSummary(found(1, 0)), ' owns 1 run, and no other run holds a span that names them: 1 run to erase.');
  assert.equal(countSummary(found(0, 2)), ' owns no run, and 2 runs hold spans that name them: 2 runs to erase.');
  assert.equal(countSummary(found(1200, 3), (n) => n.toLocaleString('en-US')),
    ' owns 1,200 runs, and 3 other runs hold spans that name them: 1,203 runs to erase.');
  assert.equal(eraseQuestion(found(2, 1)), ': delete 3 runs (2 they own, 1 other holding a span that names them)? This deletes their spans, metric events and log records and cannot be undone.');
  assert.equal(eraseQuestion(found(0, 2)), ': delete 2 runs (2 holding spans that name them)? This deletes their spans, metric events and log records and cannot be undone.');
  assert.match(eraseQuestion(found(1, 0)), /^: delete 1 run \(1 they own\)\?/);
  assert.equal(countingProgress({ owned: 1, holding: 0 }), 'Counting… 1 run they own, 0 other runs naming them so far.');
  assert.equal(userRunsHref('a b&c'), '/runs?q=user%3A%22a+b%26c%22');
});

test('the outcome is checked against the recount', () => {
  const ok = { message: 'Deleted 3 runs.', error: null };
  const none = { owned: [], holding: [] };
  assert.deepEqual(eraseOutcome(ok, none, null), { ok: true, text: 'Deleted 3 runs. Counted again: no run holds the user any more.' });
  assert.deepEqual(eraseOutcome(ok, { owned: ['new'], holding: [] }, null),
    { ok: false, text: 'Deleted 3 runs. Counted again: 1 run still holds the user (sent since the count): count again to erase them.' });
  const refused = { message: 'Deleted 0 of 3 runs, then: this key may only read', error: Object.assign(new Error('this key may only read'), { status: 403 }) };
  assert.deepEqual(eraseOutcome(refused, { owned: ['a', 'b'], holding: ['c'] }, null),
    { ok: false, text: 'Deleted 0 of 3 runs, then: this key may only read. Counted again: 3 runs still hold the user.' });
  assert.deepEqual(eraseOutcome(ok, null, new Error('The Lemma server did not answer.')),
    { ok: false, text: 'Deleted 3 runs. Could not count again: The Lemma server did not answer.' });
});
