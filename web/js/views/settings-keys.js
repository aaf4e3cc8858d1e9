// The settings page's API keys section, for a project's admins: the keys (never their secrets),
// creating one with a scope (its secret shown this once, to copy), and revoking one after a
// confirmation. The server checks every request: a key or role that may not manage keys gets
// its 403 message shown here.
import { h, icon, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { withArticle } from '../roles.js';
import { ago, dateTime } from '../format.js';
import { copyButton } from '../components/copy.js';
import { dialogButton, openDialog } from '../components/dialog.js';
import { errorState, loading } from '../components/states.js';
import {
  DEFAULT_SCOPE, SCOPES, keyStatus, keysSummary, mayBeSecret, revokeQuestion, scopeWords, sortKeys,
} from './settings-keys-data.js';

/** The section, loading the keys itself; `signal` ends its requests when the page goes. */
export function keysSection(signal) {
  const el = h('div', { class: 'card settings-card', 'data-testid': 'keys' });
  const summary = h('span', { class: 'muted small', 'data-testid': 'keys-summary' });
  const body = h('div', { class: 'card-body' });
  replace(el, h('div', { class: 'card-header' }, h('h2', null, 'API keys'), summary), body);
  load();
  return el;

  async function load() {
    replace(body, loading('Loading the keys…'));
    try {
      const answer = await api.get('/keys', null, { signal });
      render(answer.keys || []);
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(body, err.status === 403 ? refused(err, 'keys-refused') : errorState(err, load));
    }
  }

  function render(keys) {
    const scope = h('select', { id: 'key-scope', class: 'settings-select', 'data-testid': 'key-scope', 'aria-describedby': 'key-scope-words' },
      SCOPES.map((s) => h('option', { value: s.scope }, s.label)));
    scope.value = DEFAULT_SCOPE;
    const words = h('span', { class: 'muted small', id: 'key-scope-words', 'data-testid': 'key-scope-words' }, scopeWords(DEFAULT_SCOPE));
    scope.addEventListener('change', () => { words.textContent = scopeWords(scope.value); });
    const create = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'key-create' }, 'Create key');
    const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'keys-error' });
    const status = h('p', { class: 'settings-saved', role: 'status', 'aria-live': 'polite', 'data-testid': 'keys-status' });
    const created = h('div');
    const tbody = h('tbody');
    const table = h('div', { class: 'table-wrap settings-table' },
      h('table', { class: 'table', 'data-testid': 'keys-table' },
        h('thead', null, h('tr', null,
          ['Public key', 'Secret starts', 'Scope', 'Created', 'Status'].map((t) => h('th', { scope: 'col' }, t)),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        tbody));

    function show(list) {
      summary.textContent = keysSummary(list);
      replace(tbody, sortKeys(list).map(row));
      if (!list.length) replace(tbody, h('tr', null, h('td', { colspan: 6, class: 'muted' }, 'No keys yet.')));
    }

    function row(key) {
      const when = h('span', { title: dateTime(key.created_at) }, ago(key.created_at));
      return h('tr', { 'data-testid': 'key-row', dataset: { publicKey: key.public_key, scope: key.scope, revoked: String(key.revoked) } },
        h('td', { class: 'mono', 'data-testid': 'key-public' }, key.public_key),
        h('td', { class: 'mono', 'data-testid': 'key-hint' }, key.hint),
        h('td', null, h('span', { class: 'badge', title: scopeWords(key.scope), 'data-testid': 'key-scope-cell' }, key.scope)),
        h('td', { class: 'nowrap' }, when),
        h('td', null, h('span', { class: ['badge', key.revoked ? 'status-unset' : 'status-ok'], 'data-testid': 'key-status' }, keyStatus(key))),
        h('td', { class: 'settings-row-actions' }, key.revoked ? null : h('button', {
          type: 'button', class: 'button small danger-outline', 'data-testid': 'key-revoke', 'aria-haspopup': 'dialog',
          'aria-label': `Revoke key ${key.public_key}`, onclick: () => revoke(key),
        }, 'Revoke')));
    }

    async function refresh() {
      const answer = await api.get('/keys', null, { signal });
      show(answer.keys || []);
    }

    function clearStatus() {
      problem.textContent = '';
      status.textContent = '';
    }

    async function submit(event) {
      event.preventDefault();
      clearStatus();
      create.disabled = true;
      try {
        const answer = await api.post('/keys', { scope: scope.value }, { signal });
        showSecret(answer);
        await refresh();
      } catch (err) {
        if (err.name === 'AbortError') return;
        problem.textContent = err.message;
      } finally {
        create.disabled = false;
      }
    }

    // The secret is in the page only until "Done" (or leaving the page): the server keeps a hash.
    function showSecret({ key, secret }) {
      const value = h('input', {
        type: 'text', class: 'input mono key-secret-value', readonly: true, value: secret, spellcheck: 'false',
        autocomplete: 'off', 'aria-label': `The new ${key.scope} key`, 'aria-describedby': 'key-secret-warning',
        'data-testid': 'key-secret', onfocus: (event) => event.target.select(),
      });
      const done = h('button', {
        type: 'button', class: 'button', 'data-testid': 'key-secret-done',
        onclick: () => { replace(created); create.focus(); },
      }, 'Done');
      replace(created, h('div', { class: 'key-secret', role: 'group', 'aria-label': 'New key', 'data-testid': 'key-created' },
        h('p', { class: 'key-secret-warning', id: 'key-secret-warning' }, icon('alert'),
          h('span', null, h('strong', null, 'Copy this key now: it is shown only once.'),
            ' Lemma keeps only a hash of it. If it is lost, revoke it and create another.')),
        h('div', { class: 'key-secret-row' }, value, copyButton(secret, { what: 'key' })),
        h('p', { class: 'muted small' }, `${withArticle(key.scope).replace(/^a/, 'A')} key: it ${scopeWords(key.scope)}. Its public key is `,
          h('code', null, key.public_key), ' (the user name for Basic auth, as Langfuse SDKs send it).'),
        h('div', { class: 'settings-actions' }, done)));
      value.focus();
    }

    function revoke(key) {
      clearStatus();
      const dialog = openDialog({ title: 'Revoke key', testid: 'revoke-dialog' });
      const note = h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'revoke-status' });
      dialog.setBody(
        h('p', { 'data-testid': 'revoke-question' }, revokeQuestion(key)),
        mayBeSecret(key, session.apiKey())
          ? h('p', { class: 'form-error', 'data-testid': 'revoke-self' }, 'This looks like the key this dashboard is signed in with: revoking it signs you out.')
          : null,
        note);
      const cancel = dialogButton('Cancel', () => dialog.close(), { testid: 'revoke-cancel' });
      const go = dialogButton('Revoke key', confirm, { kind: 'danger', testid: 'revoke-confirm' });
      // The safe choice has the focus.
      dialog.setActions([cancel, go], cancel);

      async function confirm() {
        go.disabled = true;
        note.textContent = 'Revoking…';
        try {
          await api.del(`/keys/${encodeURIComponent(key.public_key)}`, { signal });
        } catch (err) {
          if (err.name === 'AbortError') return;
          note.textContent = err.message;
          note.setAttribute('role', 'alert');
          go.disabled = false;
          return;
        }
        dialog.close();
        status.textContent = `Revoked ${key.public_key}: programs using it are refused from now on.`;
        try {
          await refresh();
        } catch (err) {
          if (err.name !== 'AbortError') problem.textContent = err.message;
        }
      }
    }

    show(keys);
    replace(body,
      h('p', { class: 'muted settings-about' },
        'Programs send traces and read data with a key of this project. Give each one the least it needs: ',
        SCOPES.map((s, i) => [i ? (i === SCOPES.length - 1 ? ' or ' : ', ') : '', h('strong', null, s.label), ` (${s.words})`]), '.'),
      h('form', { class: 'settings-inline', novalidate: true, onsubmit: submit, 'data-testid': 'key-form' },
        h('label', { for: 'key-scope' }, 'Scope'), scope, create, words),
      created,
      problem,
      status,
      table);
  }
}

/** The server's 403 (a key or role that may not manage keys or members), said as it is. */
export function refused(err, testid) {
  return h('p', { class: 'settings-refused', role: 'alert', 'data-testid': testid }, icon('alert'), h('span', null, err.message));
}
