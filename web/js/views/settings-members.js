// The settings page's members section, for a project's admins: who may sign in to the project
// and with which role, changing a role, taking someone out (after a confirmation), and adding an
// existing user (users themselves are made by an operator with `lemma users create`). User names
// are shown as text only, like everything else.
import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { ROLES, ROLE_WORDS } from '../roles.js';
import { dialogButton, openDialog } from '../components/dialog.js';
import { errorState, loading } from '../components/states.js';
import { addMember, memberError, memberPath, roleSetMessage, sortMembers } from './settings-members-data.js';
import { refused } from './settings-keys.js';

/** The section for project `project`, loading its members itself. */
export function membersSection(signal, project) {
  const el = h('div', { class: 'card settings-card', 'data-testid': 'members' });
  const summary = h('span', { class: 'muted small', 'data-testid': 'members-summary' });
  const body = h('div', { class: 'card-body' });
  replace(el, h('div', { class: 'card-header' }, h('h2', null, 'Members'), summary), body);
  load();
  return el;

  async function load() {
    replace(body, loading('Loading the members…'));
    try {
      const answer = await api.get('/members', null, { signal });
      render(answer.members || []);
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(body, err.status === 403 ? refused(err, 'members-refused') : errorState(err, load));
    }
  }

  function render(initial) {
    let members = initial;
    const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'members-error' });
    const status = h('p', { class: 'settings-saved', role: 'status', 'aria-live': 'polite', 'data-testid': 'members-status' });
    const tbody = h('tbody');
    const name = h('input', {
      type: 'text', id: 'member-add-user', class: 'input', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
      placeholder: 'user name', 'data-testid': 'member-add-user',
    });
    const role = roleSelect('viewer', { id: 'member-add-role', 'data-testid': 'member-add-role' });
    const add = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'member-add' }, 'Add member');

    function show(list) {
      members = list;
      summary.textContent = `${list.length} ${list.length === 1 ? 'member' : 'members'}`;
      replace(tbody, sortMembers(list).map(row));
      if (!list.length) replace(tbody, h('tr', null, h('td', { colspan: 3, class: 'muted' }, 'No members yet: only keys reach this project.')));
    }

    function row(member) {
      // One's own role is changed by another admin: an admin taking theirs away could not undo it.
      const self = session.user() === member.user;
      const why = self ? 'Your own role is changed by another admin of the project, or with `lemma users grant`.' : null;
      const select = roleSelect(member.role, {
        'aria-label': `Role of ${member.user}`, 'data-testid': 'member-role', disabled: self, title: why,
      });
      select.addEventListener('change', () => setRole(member, select));
      return h('tr', { 'data-testid': 'member-row', dataset: { user: member.user, role: member.role } },
        h('td', { 'data-testid': 'member-user' }, h('strong', null, member.user), self ? h('span', { class: 'muted' }, ' (you)') : null),
        h('td', null, select),
        h('td', { class: 'settings-row-actions' }, h('button', {
          type: 'button', class: 'button small danger-outline', 'data-testid': 'member-remove', 'aria-haspopup': 'dialog',
          'aria-label': `Remove ${member.user}`, disabled: self, title: why, onclick: () => remove(member),
        }, 'Remove')));
    }

    function clearStatus() {
      problem.textContent = '';
      status.textContent = '';
    }

    async function refresh() {
      const answer = await api.get('/members', null, { signal });
      show(answer.members || []);
    }

    async function setRole(member, select) {
      clearStatus();
      const before = member.role;
      select.disabled = true;
      try {
        const answer = await api.put(memberPath(member.user), { role: select.value }, { signal });
        member.role = answer.role;
        select.closest('tr').dataset.role = answer.role;
        status.textContent = roleSetMessage(member.user, answer.role, before);
      } catch (err) {
        if (err.name === 'AbortError') return;
        select.value = before;
        problem.textContent = memberError(err, member.user);
      } finally {
        select.disabled = false;
      }
    }

    async function submit(event) {
      event.preventDefault();
      clearStatus();
      const wanted = addMember(name.value, role.value);
      if (wanted.error) {
        problem.textContent = wanted.error;
        name.focus();
        return;
      }
      const before = members.find((m) => m.user === wanted.user)?.role;
      add.disabled = true;
      try {
        const answer = await api.put(memberPath(wanted.user), { role: wanted.role }, { signal });
        status.textContent = roleSetMessage(answer.user, answer.role, before);
        name.value = '';
        await refresh();
      } catch (err) {
        if (err.name === 'AbortError') return;
        problem.textContent = memberError(err, wanted.user);
        name.focus();
      } finally {
        add.disabled = false;
      }
    }

    function remove(member) {
      clearStatus();
      const dialog = openDialog({ title: 'Remove member', testid: 'member-remove-dialog' });
      const note = h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite' });
      dialog.setBody(
        h('p', { 'data-testid': 'member-remove-question' },
          `Take ${member.user} out of “${project}”? They can no longer see it; their user and their other projects stay.`),
        note);
      const cancel = dialogButton('Cancel', () => dialog.close(), { testid: 'member-remove-cancel' });
      const go = dialogButton('Remove', confirm, { kind: 'danger', testid: 'member-remove-confirm' });
      dialog.setActions([cancel, go], cancel);

      async function confirm() {
        go.disabled = true;
        try {
          await api.del(memberPath(member.user), { signal });
        } catch (err) {
          if (err.name === 'AbortError') return;
          note.textContent = err.message;
          note.setAttribute('role', 'alert');
          go.disabled = false;
          return;
        }
        dialog.close();
        status.textContent = `${member.user} is no longer a member of “${project}”.`;
        try {
          await refresh();
        } catch (err) {
          if (err.name !== 'AbortError') problem.textContent = err.message;
        }
      }
    }

    show(initial);
    replace(body,
      h('p', { class: 'muted settings-about' },
        'People who sign in with a user name and password, and their role here: ',
        ROLES.map((r, i) => [i ? (i === ROLES.length - 1 ? ' and ' : ', ') : '', h('strong', null, r), ` (${ROLE_WORDS[r]})`]),
        '. Changes apply at once. An operator creates users with ', h('code', null, 'lemma users create'), '.'),
      h('div', { class: 'table-wrap settings-table' },
        h('table', { class: 'table', 'data-testid': 'members-table' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'User'),
            h('th', { scope: 'col' }, 'Role'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
          tbody)),
      h('form', { class: 'settings-inline', novalidate: true, onsubmit: submit, 'data-testid': 'member-add-form' },
        h('label', { for: 'member-add-user' }, 'Add user'), name,
        h('label', { for: 'member-add-role' }, 'as'), role, add),
      problem,
      status);
  }
}

function roleSelect(value, props) {
  const select = h('select', { class: 'settings-select', ...props }, ROLES.map((r) => h('option', { value: r }, r)));
  select.value = value;
  return select;
}
