import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeNext, signinChoice, signinError, ssoHref } from '../../../web/js/views/signin-data.js';

test('a user name and password sign in to an account, trimmed name, password as typed', () => {
  assert.deepEqual(signinChoice({ username: ' ada ', password: ' secret pass ' }),
    { mode: 'account', username: 'ada', password: ' secret pass ' });
});

test('a key alone signs in with the key, trimmed', () => {
  assert.deepEqual(signinChoice({ key: ' lm_abc \n' }), { mode: 'key', key: 'lm_abc' });
  assert.deepEqual(signinChoice({ username: '  ', password: '', key: 'lm_abc' }), { mode: 'key', key: 'lm_abc' });
});

test('what is missing or too much is said, with the field to fix', () => {
  assert.deepEqual(signinChoice({}), { error: 'Enter your user name and password, or an API key.', field: 'username' });
  assert.deepEqual(signinChoice({ username: 'ada' }), { error: 'Enter your password.', field: 'password' });
  assert.deepEqual(signinChoice({ password: 'x' }), { error: 'Enter your user name.', field: 'username' });
  assert.equal(signinChoice({ username: 'ada', password: 'x', key: 'lm_a' }).field, 'key');
  assert.match(signinChoice({ password: 'x', key: 'lm_a' }).error, /not both/);
});

test('refusals say what to do, and other errors keep the server\'s words', () => {
  assert.equal(signinError('account', { status: 401, message: 'wrong user name or password' }), 'Wrong user name or password.');
  assert.match(signinError('key', { status: 401 }), /not accepted.*lemma keys create/);
  assert.equal(signinError('account', { status: 0, message: 'The Lemma server did not answer.' }), 'The Lemma server did not answer.');
});

test('only a page of this server is gone to after signing in', () => {
  const origin = 'http://127.0.0.1:4318';
  assert.equal(safeNext(null, origin), '/runs');
  assert.equal(safeNext('/threads?q=a', origin), '/threads?q=a');
  assert.equal(safeNext('https://evil.example/runs', origin), '/runs');
  assert.equal(safeNext('//evil.example/runs', origin), '/runs');
  assert.equal(safeNext('/signin?next=/x', origin), '/runs');
  assert.equal(safeNext('javascript:alert(1)', origin), '/runs');
});

test('the single sign-on link starts at the server and carries the page to return to', () => {
  assert.equal(ssoHref('/runs/abc?q=agent:x'), '/api/v1/auth/oidc/start?next=%2Fruns%2Fabc%3Fq%3Dagent%3Ax');
  assert.equal(ssoHref('/runs'), '/api/v1/auth/oidc/start?next=%2Fruns');
});
