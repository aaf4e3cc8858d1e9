import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkedRuns, exampleHref, plural, problemCounts, reasonLabel, rejectedText, summary, unauthenticatedTotal, via,
} from '../../../web/js/views/health-data.js';

const checked = (runs, spans = runs * 10, skipped = 0) => ({ runs, spans, skipped_runs: skipped });
const problem = (kind, count, runs) => ({ problem: kind, title: kind, fix: '', count, runs, example: { run_id: 'r', span_id: null, detail: '' } });

test('plural counts with the noun that fits', () => {
  assert.equal(plural(1, 'span'), '1 span');
  assert.equal(plural(0, 'span'), '0 spans');
  assert.equal(plural(1204, 'run'), '1,204 runs');
  assert.equal(plural(2, 'entry', 'entries'), '2 entries');
});

test('the runs checked: the newest one, or the N newest', () => {
  assert.equal(checkedRuns(checked(1)), 'the newest run');
  assert.equal(checkedRuns(checked(12)), 'the 12 newest runs');
});

test('the summary: no problems, problems, nothing to check', () => {
  const clean = summary({ problems: [], checked: checked(12, 340) });
  assert.equal(clean.tone, 'ok');
  assert.equal(clean.title, 'No problems found in the 12 newest runs of the last 24 hours');
  assert.match(clean.detail, /340 spans/);

  const found = summary({ problems: [problem('missing_parent', 3, 2), problem('late_spans', 4, 0)], checked: checked(5, 50, 2) });
  assert.equal(found.tone, 'warn');
  assert.equal(found.title, '2 problems found in the 5 newest runs of the last 24 hours');
  assert.match(found.detail, /2 runs with too many spans to read were left out/);

  const one = summary({ problems: [problem('no_root', 1, 1)], checked: checked(1, 3, 1) });
  assert.equal(one.title, '1 problem found in the newest run of the last 24 hours');
  assert.match(one.detail, /1 run with too many spans to read was left out/);

  const none = summary({ problems: [], checked: checked(0) });
  assert.equal(none.tone, 'ok');
  assert.equal(none.title, 'No runs in the last 24 hours to check');

  // Late spans are seen at ingest: a problem even when no run of the day was checked.
  const late = summary({ problems: [problem('late_spans', 4, 0)], checked: checked(0) });
  assert.equal(late.tone, 'warn');
  assert.equal(late.title, '1 problem found');
});

test("a problem's counts say what was counted", () => {
  assert.equal(problemCounts(problem('missing_parent', 5, 2)), '5 spans in 2 runs');
  assert.equal(problemCounts(problem('duplicate_call', 1, 1)), '1 span in 1 run');
  assert.equal(problemCounts(problem('no_root', 3, 3)), '3 runs');
  assert.equal(problemCounts(problem('late_spans', 12, 0)), '12 spans since this server started');
});

test('an example links to its run, on its span when it has one', () => {
  assert.equal(exampleHref({ run_id: 'abc', span_id: 'def', detail: '' }), '/runs/abc?span=def');
  assert.equal(exampleHref({ run_id: 'abc', span_id: null, detail: '' }), '/runs/abc');
  // Ids come from senders: they are escaped into the path and the query.
  assert.equal(exampleHref({ run_id: 'a/b?c', span_id: 'x&y=z', detail: '' }), '/runs/a%2Fb%3Fc?span=x%26y%3Dz');
});

test('refusals: reasons in words, how they came, what they lost', () => {
  assert.equal(reasonLabel('bad_request'), 'Malformed request');
  assert.equal(reasonLabel('partial'), 'Stored in part');
  assert.equal(reasonLabel('something_new'), 'something_new');
  assert.equal(reasonLabel('constructor'), 'constructor', 'not an inherited property');
  assert.equal(via({ transport: 'http', signal: 'traces' }), 'HTTP · traces');
  assert.equal(via({ transport: 'grpc', signal: 'logs' }), 'gRPC · logs');
  assert.equal(rejectedText({ rejected: null, signal: 'traces' }), '');
  assert.equal(rejectedText({ rejected: 1, signal: 'traces' }), '1 span');
  assert.equal(rejectedText({ rejected: 3, signal: 'logs' }), '3 records');
});

test('requests without a valid key are summed over their reasons', () => {
  assert.equal(unauthenticatedTotal({ unauthenticated: [] }), 0);
  assert.equal(unauthenticatedTotal({ unauthenticated: [{ reason: 'unauthorized', count: 2 }, { reason: 'other', count: 3 }] }), 5);
});
