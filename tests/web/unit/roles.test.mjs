import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ROLES, chooseProject, projectLabel, refusal, roleAllows, roleIn, withArticle,
} from '../../../web/js/roles.js';

test('each role allows what the server lets it do, and nothing is allowed to an unknown role', () => {
  const table = {
    viewer: { read: true, write: false, admin: false },
    member: { read: true, write: true, admin: false },
    admin: { read: true, write: true, admin: true },
    owner: { read: false, write: false, admin: false },
    '': { read: false, write: false, admin: false },
  };
  for (const [role, accesses] of Object.entries(table)) {
    for (const [access, allowed] of Object.entries(accesses)) {
      assert.equal(roleAllows(role, access), allowed, `${role} ${access}`);
    }
  }
  assert.deepEqual(ROLES, ['viewer', 'member', 'admin']);
});

test('a session starts in the project asked for if the user is in it, else the first', () => {
  const projects = [{ name: 'b', role: 'viewer' }, { name: 'a', role: 'admin' }];
  assert.equal(chooseProject(projects, 'a'), 'a');
  assert.equal(chooseProject(projects, 'gone'), 'b');
  assert.equal(chooseProject(projects, null), 'b');
  assert.equal(chooseProject([], 'a'), null);
  assert.equal(chooseProject(undefined), null);
  assert.equal(roleIn(projects, 'a'), 'admin');
  assert.equal(roleIn(projects, 'c'), null);
  assert.equal(roleIn(undefined, 'a'), null);
});

test('labels and refusals read as sentences, names kept as they are', () => {
  assert.equal(withArticle('viewer'), 'a viewer');
  assert.equal(withArticle('admin'), 'an admin');
  assert.equal(withArticle('member'), 'a member');
  assert.equal(projectLabel({ name: '<img src=x>', role: 'viewer' }), '<img src=x> — viewer');
  assert.equal(refusal('viewer', 'default', 'write', 'delete runs'),
    'You are a viewer of “default”: only a member or an admin can delete runs.');
  assert.equal(refusal('member', 'p', 'admin', 'change its settings'),
    'You are a member of “p”: only an admin can change its settings.');
});
