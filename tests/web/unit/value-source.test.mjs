import { test } from 'node:test';
import assert from 'node:assert/strict';
import { valueSource } from '../../../web/js/components/value-source.js';

/** Timers run by hand, so typing speed is exact. */
function manualTimers() {
  let next = 1;
  const pending = new Map();
  return {
    setTimeout: (fn) => { pending.set(next, fn); return next++; },
    clearTimeout: (id) => pending.delete(id),
    flush: async () => {
      const fns = [...pending.values()];
      pending.clear();
      for (const fn of fns) await fn();
    },
    get size() { return pending.size; },
  };
}

const AGENTS = ['support_agent', 'support-agent', 'summary', 'coding'].map((value, i) => ({ value, runs: 10 - i }));

function fakeApi(limit) {
  const calls = [];
  return {
    calls,
    fetchPage: async (prefix) => {
      calls.push(prefix);
      return { values: AGENTS.filter((a) => a.value.startsWith(prefix.toLowerCase())).slice(0, limit), runs_read: 4 };
    },
  };
}

test('typing quickly sends one request, for the last text', async () => {
  const timers = manualTimers();
  const server = fakeApi(20);
  const answers = [];
  const source = valueSource({ fetchPage: server.fetchPage, timers });
  for (const prefix of ['s', 'su', 'sup']) source.request(prefix, (a) => answers.push(a));
  assert.equal(timers.size, 1, 'each key press replaces the pending request');
  await timers.flush();
  assert.deepEqual(server.calls, ['sup']);
  assert.deepEqual(answers.map((a) => a.values.map((v) => v.value)), [['support_agent', 'support-agent']]);
});

test('a complete answer narrows longer prefixes without asking again', async () => {
  const timers = manualTimers();
  const server = fakeApi(20);
  const answers = [];
  const source = valueSource({ fetchPage: server.fetchPage, timers });
  source.request('', (a) => answers.push(a));
  await timers.flush();
  source.request('SU', (a) => answers.push(a));
  source.request('sup', (a) => answers.push(a));
  assert.equal(timers.size, 0);
  assert.deepEqual(server.calls, ['']);
  assert.deepEqual(answers.map((a) => a.values.length), [4, 3, 2]);
  assert.equal(answers[2].answer.runs_read, 4, 'the counts still say how many runs they come from');
});

test('a truncated answer does not stand for longer prefixes', async () => {
  const timers = manualTimers();
  const server = fakeApi(2);
  const source = valueSource({ fetchPage: server.fetchPage, limit: 2, timers });
  source.request('', () => {});
  await timers.flush();
  source.request('c', () => {});
  await timers.flush();
  assert.deepEqual(server.calls, ['', 'c']);
});

test('an older answer arriving late is dropped, and errors are reported', async () => {
  const timers = manualTimers();
  let release;
  const answers = [];
  const source = valueSource({
    timers,
    fetchPage: (prefix, signal) => (prefix === 'slow'
      ? new Promise((resolve) => { release = () => resolve({ values: [{ value: 'slow', runs: 1 }] }); })
      : Promise.reject(Object.assign(new Error('boom'), { status: 500 }))),
  });
  source.request('slow', (a) => answers.push(a));
  const first = timers.flush();
  source.request('x', (a) => answers.push(a));
  await timers.flush();
  release();
  await first;
  assert.deepEqual(answers.map((a) => a.error?.message || a.values), ['boom']);
});
