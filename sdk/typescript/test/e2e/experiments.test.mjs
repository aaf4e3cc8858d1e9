// experiment() and compare() against a real Lemma: a dataset made from cases, an agent run on
// each (one throws), scores posted as metric events on the right runs, runs linked to cases,
// a second experiment with a worse agent, and the regression the comparison finds.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { LemmaApiError, compare, experiment, init, scorers, shutdown, withTool } from '@lemma/sdk';

import { LEMMA_URL, get, waitForRun } from './lemma.mjs';

before(() => init({ url: LEMMA_URL }));
after(() => shutdown());

const CASES = [
  { id: 'add', input: '2+2', expected: '4', tags: ['easy'] },
  { id: 'mul', input: '3*5', expected: '15' },
  { id: 'div', input: '1/0', expected: '0' },
  { id: 'greet', input: 'say hi' }, // no expected: exactMatch does not apply
];

/** Answers from the input; throws for a division by zero. */
async function calculator(testCase) {
  const text = testCase.input;
  if (text === 'say hi') return 'hi';
  return withTool('calculate', { expression: text }, () => {
    const [a, op, b] = [Number(text[0]), text[1], Number(text[2])];
    if (op === '/' && b === 0) throw new RangeError('division by zero');
    return String(op === '+' ? a + b : op === '*' ? a * b : Math.floor(a / b));
  });
}

/** A custom scorer: throws for a failed case (no output). */
function brevity(output) {
  return output.length <= 2;
}

describe('experiments', () => {
  const tag = randomUUID().slice(0, 8);
  const dataset = `arithmetic-${tag}`;
  let first;

  it('run every case in a run of its own, score it, and link it', async () => {
    first = await experiment({
      dataset: CASES,
      datasetName: dataset,
      name: `${dataset}-first`,
      agent: calculator,
      scorers: { exact_match: scorers.exactMatch(), brevity },
      metadata: { agent: 'calculator-v1' },
    });
    assert.equal(first.dataset, dataset);
    assert.equal(first.datasetVersion, 1);
    assert.deepEqual(
      first.cases.map((c) => [c.caseId, c.output]),
      [
        ['add', '4'],
        ['mul', '15'],
        ['div', undefined],
        ['greet', 'hi'],
      ],
    );
    const byCase = Object.fromEntries(first.cases.map((c) => [c.caseId, c]));
    // The failing case: its error recorded, scored on no output; the custom scorer threw on it.
    assert.equal(byCase.div.error, 'RangeError: division by zero');
    assert.deepEqual(first.failed.map((c) => c.caseId), ['div']);
    assert.deepEqual(byCase.div.scores, { exact_match: false });
    assert.match(byCase.div.scoreErrors.brevity, /^TypeError: /);
    assert.deepEqual(byCase.greet.scores, { brevity: true });
    assert.deepEqual(byCase.add.scores, { exact_match: true, brevity: true });
    assert.deepEqual(first.scores, { brevity: 1, exact_match: 2 / 3 });
    assert.equal(first.previous, undefined);

    // Each case linked to the run that answered it.
    const stored = await get(`/api/v1/experiments/${first.name}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.body.experiment.dataset, dataset);
    assert.deepEqual(stored.body.experiment.metadata, { agent: 'calculator-v1' });
    assert.deepEqual(
      Object.fromEntries(stored.body.runs.map((r) => [r.case_id, r.run_id])),
      Object.fromEntries(first.cases.map((c) => [c.caseId, c.runId])),
    );
    for (const c of first.cases) {
      const { run } = await waitForRun(c.runId, c.caseId === 'greet' ? 1 : 2);
      assert.equal(run.agent_name, 'calculator');
      assert.deepEqual(run.metadata, { case_id: c.caseId, experiment: first.name });
      assert.equal(run.input, c.input);
      assert.equal(run.status, c.error ? 'error' : 'ok');
      // The scores are metric events on that run.
      const { metrics } = (await get(`/api/v1/runs/${c.runId}/metrics`)).body;
      assert.deepEqual(Object.fromEntries(metrics.map((m) => [m.name, m.value])), c.scores);
      assert.ok(metrics.every((m) => m.source === 'experiment'));
    }
    assert.deepEqual((await waitForRun(byCase.add.runId, 2)).run.tags, ['easy']);
  });

  it('compare a second experiment with the first and find the regression', async () => {
    // The same cases again reuse the dataset's version.
    const second = await experiment({
      dataset: CASES,
      datasetName: dataset,
      name: `${dataset}-second`,
      agent: async (testCase) => (testCase.id === 'mul' ? '16' : calculator(testCase)),
      scorers: [scorers.exactMatch(), scorers.contains('1')],
      concurrency: 2,
    });
    assert.equal(second.datasetVersion, 1);
    assert.equal(second.previous, first.name);
    assert.equal(second.compareUrl, `${LEMMA_URL}/api/v1/compare?experiments=${first.name},${second.name}`);
    assert.deepEqual(second.cases.find((c) => c.caseId === 'mul').scores, { exact_match: false, contains: true });

    const comparison = await compare([first.name, second.name]);
    assert.deepEqual(await second.compare(), comparison);
    assert.deepEqual(
      comparison.experiments.map((e) => [e.name, e.answered, e.failed]),
      [
        [first.name, 4, 1],
        [second.name, 4, 1],
      ],
    );
    assert.equal(comparison.regressions, 1);
    const regressed = comparison.cases.filter((c) => c.regression);
    assert.deepEqual(
      regressed.map((c) => [c.case_id, c.reasons]),
      [['mul', ['exact_match fell from 1 to 0 in experiment 2']]],
    );
    assert.deepEqual(
      regressed[0].results.map((r) => r.output),
      ['15', '16'],
    );
    const exact = comparison.scores.find((s) => s.name === 'exact_match');
    assert.ok(Math.abs(exact.delta + 1 / 3) < 1e-9, JSON.stringify(exact));
    // One more case: a new version of the dataset, and a default name from it and the time.
    const third = await experiment({
      dataset: [...CASES, { id: 'one', input: '1+1', expected: '2' }],
      datasetName: dataset,
      agent: calculator,
      scorers: [scorers.exactMatch()],
    });
    assert.equal(third.datasetVersion, 2);
    assert.equal(third.previous, second.name);
    assert.match(third.name, new RegExp(`^${dataset}-\\d{8}T\\d{6}\\.\\d{3}Z$`));
    assert.deepEqual(third.cases.map((c) => c.caseId), ['add', 'mul', 'div', 'greet', 'one']);
    // Only what changed.
    const changed = await compare([first.name, second.name], { changed: true });
    assert.ok(changed.cases.every((c) => c.changed) && changed.cases.some((c) => c.case_id === 'mul'));
  });

  it('reject an unknown dataset, and a case without input, with a clear error', async () => {
    await assert.rejects(experiment({ dataset: `no-such-${tag}`, agent: calculator }), (error) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 404);
      assert.match(error.message, new RegExp(`no dataset "no-such-${tag}"`));
      return true;
    });
    await assert.rejects(experiment({ dataset: [{ expected: '1' }], datasetName: dataset, agent: calculator }), (error) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 400);
      assert.match(error.message, /HTTP 400\).*missing field `input`/);
      return true;
    });
    await assert.rejects(compare([first.name, `no-such-${tag}`]), (error) => error instanceof LemmaApiError && error.status === 404);
  });
});
