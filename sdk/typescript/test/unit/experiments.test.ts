// The built-in scorers, and what experiment() refuses before it calls Lemma (experiments
// against a real server are in test/e2e/experiments.test.mjs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { experiment, scorer, scorers, type Case, type Scorer } from '@lemma/sdk';

function testCase(expected?: unknown, input: unknown = 'q'): Case {
  return expected === undefined ? { id: 'c1', input } : { id: 'c1', input, expected };
}

describe('scorers', () => {
  it('exactMatch compares values, or their text', () => {
    const exact = scorers.exactMatch();
    assert.equal(exact.name, 'exact_match');
    assert.equal(exact('4', testCase('4')), true);
    assert.equal(exact(4, testCase('4')), true); // a number answering an expected text
    assert.equal(exact({ b: 1, a: 2 }, testCase({ a: 2, b: 1 })), true);
    assert.equal(exact('4 ', testCase('4')), false);
    assert.equal(exact('Paris', testCase('paris')), false);
    assert.equal(scorers.exactMatch({ ignoreCase: true })('Paris', testCase('paris')), true);
    assert.equal(exact(undefined, testCase('4')), false); // a failed case
    assert.equal(exact('4', testCase()), undefined); // no expected: not applicable
    assert.equal(scorers.exactMatch({ name: 'strict' }).name, 'strict');
  });

  it('contains looks for the text, or the expected', () => {
    assert.equal(scorers.contains('refund')('Your refund is on its way', testCase()), true);
    assert.equal(scorers.contains('Refund')('your refund', testCase()), false);
    assert.equal(scorers.contains('Refund', { ignoreCase: true })('your refund', testCase()), true);
    assert.equal(scorers.contains()('It costs 42 euros', testCase(42)), true);
    assert.equal(scorers.contains()('anything', testCase()), undefined);
    assert.equal(scorers.contains('x')(undefined, testCase()), false);
    assert.equal(scorers.contains('shipped')({ status: 'shipped' }, testCase()), true);
  });

  it('jsonFields gives the share of fields that agree', () => {
    const fields = scorers.jsonFields(['status', 'order.id']);
    const expected = { status: 'shipped', order: { id: 7 }, note: 'ignored' };
    assert.equal(fields({ status: 'shipped', order: { id: 7 } }, testCase(expected)), 1);
    assert.equal(fields('{"status": "lost", "order": {"id": 7}}', testCase(expected)), 0.5);
    assert.equal(fields('not json', testCase(expected)), 0);
    assert.equal(fields(undefined, testCase(expected)), 0);
    assert.equal(fields({ status: 'shipped' }, testCase()), undefined);
    // Missing on both sides agrees.
    assert.equal(scorers.jsonFields(['a', 'b'])({ a: 1 }, testCase({ a: 1 })), 1);
    assert.throws(() => fields({}, testCase('text')), /not a JSON object/);
    assert.throws(() => scorers.jsonFields([]), /names of the fields/);
  });

  it('numericMatch allows an absolute tolerance', () => {
    const near = scorers.numericMatch({ tolerance: 0.01 });
    assert.equal(near(' 3.141 ', testCase(3.14)), true);
    assert.equal(near(3.2, testCase('3.14')), false);
    assert.equal(scorers.numericMatch()(4, testCase(4.0)), true);
    assert.equal(near('about three', testCase(3)), false);
    assert.equal(near(true, testCase(1)), false); // a boolean is no number
    assert.equal(near(undefined, testCase(3)), false);
    assert.equal(near(3, testCase()), undefined);
    assert.throws(() => near(3, testCase('three')), /not a number/);
    assert.throws(() => scorers.numericMatch({ tolerance: -1 }), /tolerance/);
  });

  it('regexMatch searches the output', () => {
    const order = scorers.regexMatch(/A-\d+/g);
    assert.equal(order('Order A-17 has shipped', testCase()), true);
    assert.equal(order('Order A-18 too', testCase()), true); // a global pattern starts afresh
    assert.equal(order('no order', testCase()), false);
    assert.equal(order(undefined, testCase()), false);
    assert.equal(scorers.regexMatch('ship')('shipped', testCase()), true);
    // Without a pattern, the case's expected is one.
    assert.equal(scorers.regexMatch()('it costs 42', testCase('\\d+')), true);
    assert.equal(scorers.regexMatch()('x', testCase()), undefined);
    assert.throws(() => scorers.regexMatch('('), SyntaxError);
  });

  it('any function is a scorer, named by scorer()', async () => {
    const polite: Scorer = scorer('polite', async (output) => String(output).includes('please'));
    assert.equal(polite.name, 'polite');
    assert.equal(await polite('yes please', testCase()), true);
  });
});

describe('experiment()', () => {
  it('refuses bad options before anything is sent', async () => {
    const agent = async (c: Case): Promise<string> => String(c.input);
    await assert.rejects(experiment({ dataset: 'ds', agent, scorers: [(output) => output === 'x'] }), /name it with scorer/);
    await assert.rejects(
      experiment({ dataset: 'ds', agent, scorers: [scorers.exactMatch(), scorers.exactMatch()] }),
      /two scorers are named "exact_match"/,
    );
    await assert.rejects(experiment({ dataset: 'ds', agent, scorers: { 'bad name': scorers.contains('x') } }), /metric name/);
    await assert.rejects(experiment({ dataset: 'ds', agent, concurrency: 0 }), /concurrency/);
  });
});
