import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SCOPE, SCOPES, keyStatus, keysSummary, mayBeSecret, revokeQuestion, scopeWords, sortKeys,
} from '../../../web/js/views/settings-keys-data.js';
import {
  addMember, memberError, memberPath, roleSetMessage, sortMembers,
} from '../../../web/js/views/settings-members-data.js';

const key = (id, revoked = false, extra = {}) => ({
  id, public_key: `pk-lm-${id}`, hint: 'lm_abcd…', scope: 'ingest', created_at: '2026-01-01T00:00:00Z', revoked, ...extra,
});

test('scopes are offered least first, ingest by default', () => {
  assert.deepEqual(SCOPES.map((s) => s.scope), ['ingest', 'read', 'admin']);
  assert.equal(DEFAULT_SCOPE, 'ingest');
  assert.match(scopeWords('ingest'), /reads nothing/);
  assert.equal(scopeWords('root'), '');
});

test('keys list active ones first, newest first, without changing the answer', () => {
  const keys = [key(1), key(2, true), key(3)];
  assert.deepEqual(sortKeys(keys).map((k) => k.id), [3, 1, 2]);
  assert.deepEqual(keys.map((k) => k.id), [1, 2, 3]);
  assert.deepEqual(sortKeys(undefined), []);
  assert.equal(keyStatus(key(1)), 'Active');
  assert.equal(keyStatus(key(1, true)), 'Revoked');
  assert.equal(keysSummary([key(1)]), '1 key');
  assert.equal(keysSummary([key(1), key(2, true), key(3)]), '3 keys, 1 revoked');
  assert.equal(keysSummary([]), '0 keys');
});

test('a key whose hint starts the signed-in secret is flagged before revoking', () => {
  assert.equal(mayBeSecret(key(1), 'lm_abcdefgh'), true);
  assert.equal(mayBeSecret(key(1), 'lm_zzzzzz'), false);
  assert.equal(mayBeSecret(key(1), null), false);
  assert.equal(mayBeSecret(key(1, false, { hint: '…' }), 'lm_abc'), false, 'an empty hint matches nothing');
  assert.equal(revokeQuestion(key(7)), 'Revoke the ingest key pk-lm-7 (lm_abcd…)? Programs using it are refused from then on. This cannot be undone.');
});

test('members by name, their path escaped', () => {
  assert.deepEqual(sortMembers([{ user: 'bob', role: 'viewer' }, { user: 'ada', role: 'admin' }]).map((m) => m.user), ['ada', 'bob']);
  assert.equal(memberPath('ada@example.com'), '/members/ada%40example.com');
  assert.equal(memberPath('../keys'), '/members/..%2Fkeys');
});

test('adding a member sends a trimmed name and a known role', () => {
  assert.deepEqual(addMember(' bob ', 'member'), { user: 'bob', role: 'member' });
  assert.match(addMember('  ', 'viewer').error, /Enter the name of a user/);
  assert.match(addMember('bob', 'owner').error, /Choose a role: viewer, member, admin/);
});

test('what the page says after a role is set, or refused', () => {
  assert.equal(roleSetMessage('bob', 'member'), 'bob was added as a member.');
  assert.equal(roleSetMessage('bob', 'viewer', 'member'), 'bob is now a viewer (was a member).');
  assert.equal(roleSetMessage('bob', 'admin', 'admin'), 'bob already is an admin.');
  assert.equal(memberError({ status: 404, message: 'user "x" not found' }, 'x'),
    'There is no user “x”: an operator creates one with `lemma users create x --password-stdin`.');
  assert.match(memberError({ status: 404, message: 'nope' }, 'a b; rm -rf'), /a user name is 1 to 128 of letters/, 'no command is suggested for a name that cannot be one');
  assert.equal(memberError({ status: 400, message: 'role must be viewer, member or admin' }, 'x'), 'role must be viewer, member or admin');
});
