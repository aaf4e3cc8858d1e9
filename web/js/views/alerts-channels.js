// The alerts page's channels: where events are sent (a webhook receiving the event as JSON, or a
// Slack-compatible incoming webhook), made and changed in an editor, tested with one test event
// (the receiver's answer shown), and deleted after a confirmation. A secret is never shown back:
// the list says whether requests are signed, and an edit keeps the secret unless it is replaced
// or removed. Deleting a channel a rule still notifies is refused, and the refusal names the rule.
import { h, replace } from '../dom.js';
import * as api from '../api.js';
import { dialogButton, openDialog } from '../components/dialog.js';
import { KINDS, channelBody, channelForm, deleteChannelQuestion, kindLabel, testWords } from './alerts-data.js';

export function channelsSection({ state, admin, signal, onChanged }) {
  const summary = h('span', { class: 'muted small', 'data-testid': 'channels-summary' });
  const status = h('p', { class: 'settings-saved', role: 'status', 'aria-live': 'polite', 'data-testid': 'channels-status' });
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'channels-error' });
  const tbody = h('tbody');
  const editor = channelEditor({ signal, onSaved: saved });
  const create = admin ? h('button', {
    type: 'button', class: 'button primary small', 'data-testid': 'channel-new',
    onclick: () => { clearStatus(); editor.open(null); },
  }, 'New channel') : null;
  const el = h('div', { class: 'card settings-card', 'data-testid': 'channels' },
    h('div', { class: 'card-header' }, h('h2', null, 'Channels'), summary, h('span', { class: 'spacer' }), create),
    h('div', { class: 'card-body' },
      h('p', { class: 'muted settings-about' },
        'A webhook receives each event as JSON; a Slack channel, a message. With a secret, each request carries an ',
        h('code', null, 'X-Lemma-Signature'), ' the receiver can check. A delivery is tried again for about 30 s while the receiver is down or answers an error.'),
      editor.el,
      problem,
      status,
      h('div', { class: 'table-wrap settings-table' },
        h('table', { class: 'table alerts-table', 'data-testid': 'channels-table' },
          h('thead', null, h('tr', null,
            ['Name', 'Kind', 'URL', 'Signed'].map((t) => h('th', { scope: 'col' }, t)),
            admin ? h('th', { scope: 'col' }, 'Test') : null,
            admin ? h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')) : null)),
          tbody))));
  render();

  function render() {
    const n = state.channels.length;
    summary.textContent = `${n} ${n === 1 ? 'channel' : 'channels'}`;
    replace(tbody, state.channels.map(row));
    if (!n) {
      replace(tbody, h('tr', null, h('td', { colspan: admin ? 6 : 4, class: 'muted', 'data-testid': 'channels-empty' },
        admin ? 'No channels yet: “New channel” makes one.' : 'No channels yet.')));
    }
  }

  function row(channel) {
    const result = h('span', { class: 'alerts-test-result', role: 'status', 'aria-live': 'polite', 'data-testid': 'channel-test-result' });
    const test = h('button', {
      type: 'button', class: 'button small', 'data-testid': 'channel-test', 'aria-label': `Send a test event to “${channel.name}”`,
      onclick: () => sendTest(channel, test, result),
    }, 'Send test');
    return h('tr', { 'data-testid': 'channel-row', dataset: { channelId: channel.id } },
      h('td', { 'data-testid': 'channel-name' }, h('strong', null, channel.name)),
      h('td', { class: 'nowrap', 'data-testid': 'channel-kind' }, kindLabel(channel.kind)),
      h('td', { class: 'mono alerts-url', 'data-testid': 'channel-url' }, channel.url),
      h('td', { class: 'nowrap', 'data-testid': 'channel-signed' }, channel.signed ? 'Signed' : h('span', { class: 'muted' }, 'No')),
      admin ? h('td', { class: 'alerts-test' }, test, result) : null,
      admin ? h('td', { class: 'settings-row-actions' },
        h('button', { type: 'button', class: 'button small', 'data-testid': 'channel-edit', 'aria-label': `Edit channel “${channel.name}”`, onclick: () => { clearStatus(); editor.open(channel); } }, 'Edit'),
        ' ',
        h('button', { type: 'button', class: 'button small danger-outline', 'aria-haspopup': 'dialog', 'data-testid': 'channel-delete', 'aria-label': `Delete channel “${channel.name}”`, onclick: () => remove(channel) }, 'Delete')) : null);
  }

  function clearStatus() {
    status.textContent = '';
    problem.textContent = '';
  }

  async function sendTest(channel, button, result) {
    button.disabled = true;
    result.className = 'alerts-test-result muted';
    delete result.dataset.delivered;
    result.textContent = 'Sending…';
    try {
      const answer = await api.post(`/alerts/channels/${encodeURIComponent(channel.id)}/test`, undefined, { signal });
      result.textContent = testWords(answer);
      result.dataset.delivered = String(Boolean(answer.delivered));
      result.className = `alerts-test-result ${answer.delivered ? 'is-ok' : 'is-failed'}`;
    } catch (err) {
      if (err.name === 'AbortError') return;
      result.textContent = err.message;
      result.className = 'alerts-test-result is-failed';
    } finally {
      button.disabled = false;
    }
  }

  function saved(channel, replaced) {
    const i = state.channels.findIndex((c) => c.id === channel.id);
    if (i >= 0) state.channels[i] = channel;
    else state.channels.push(channel);
    status.textContent = replaced ? `Saved the channel “${channel.name}”.` : `Made the channel “${channel.name}”: “Send test” checks that it is reached.`;
    render();
    onChanged();
  }

  function remove(channel) {
    clearStatus();
    const dialog = openDialog({ title: 'Delete channel', testid: 'channel-delete-dialog' });
    const note = h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'channel-delete-status' });
    dialog.setBody(h('p', null, deleteChannelQuestion(channel)), note);
    const cancel = dialogButton('Cancel', () => dialog.close(), { testid: 'channel-delete-cancel' });
    const go = dialogButton('Delete channel', confirm, { kind: 'danger', testid: 'channel-delete-confirm' });
    dialog.setActions([cancel, go], cancel);

    async function confirm() {
      go.disabled = true;
      note.textContent = 'Deleting…';
      try {
        await api.del(`/alerts/channels/${encodeURIComponent(channel.id)}`, { signal });
      } catch (err) {
        if (err.name === 'AbortError') return;
        // A rule still notifies it: the server names the rule.
        note.textContent = err.message;
        note.setAttribute('role', 'alert');
        go.disabled = false;
        return;
      }
      dialog.close();
      state.channels = state.channels.filter((c) => c.id !== channel.id);
      if (editor.editing() === channel.id) editor.close();
      status.textContent = `Deleted the channel “${channel.name}”.`;
      render();
      onChanged();
    }
  }

  return { el, render };
}

function channelEditor({ signal, onSaved }) {
  let editing = null;
  const title = h('h3', { id: 'channel-editor-title' });
  const name = h('input', { type: 'text', class: 'input alerts-name', id: 'channel-name', maxlength: 200, autocomplete: 'off', 'data-testid': 'channel-name-input' });
  const kind = h('select', { class: 'settings-select', id: 'channel-kind', 'data-testid': 'channel-kind-input' },
    KINDS.map((k) => h('option', { value: k.value }, `${k.label}: ${k.words}`)));
  const url = h('input', { type: 'text', class: 'input mono alerts-url-input', id: 'channel-url', inputmode: 'url', spellcheck: 'false', autocomplete: 'off', placeholder: 'https://example.com/lemma-hook', 'data-testid': 'channel-url-input' });
  const secret = h('input', { type: 'password', class: 'input alerts-name', id: 'channel-secret', autocomplete: 'new-password', 'data-testid': 'channel-secret-input', 'aria-describedby': 'channel-secret-hint' });
  const secretHint = h('span', { class: 'muted small', id: 'channel-secret-hint' });
  const removeSecret = h('input', { type: 'checkbox', 'data-testid': 'channel-secret-remove' });
  const removeLabel = h('label', { class: 'alerts-enabled' }, removeSecret, 'Remove the secret: requests are no longer signed');
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'channel-error' });
  const save = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'channel-save' }, 'Save channel');
  const cancel = h('button', { type: 'button', class: 'button', 'data-testid': 'channel-cancel', onclick: () => close() }, 'Cancel');
  const el = h('form', { class: 'alerts-editor', novalidate: true, 'aria-labelledby': 'channel-editor-title', 'data-testid': 'channel-editor', hidden: true, onsubmit: submit },
    title,
    h('div', { class: 'alerts-field' }, h('label', { for: 'channel-name' }, 'Name'), name),
    h('div', { class: 'alerts-field' }, h('label', { for: 'channel-kind' }, 'Kind'), kind),
    h('div', { class: 'alerts-field' }, h('label', { for: 'channel-url' }, 'URL'), url),
    h('div', { class: 'alerts-field' }, h('label', { for: 'channel-secret' }, 'Secret'), secret, secretHint, removeLabel),
    problem,
    h('div', { class: 'settings-actions' }, save, cancel));
  removeSecret.addEventListener('change', () => { secret.disabled = removeSecret.checked; });

  function open(channel) {
    editing = channel;
    const f = channelForm(channel);
    title.textContent = channel ? `Edit channel “${channel.name}”` : 'New channel';
    name.value = f.name;
    kind.value = f.kind;
    url.value = f.url;
    secret.value = '';
    secret.disabled = false;
    removeSecret.checked = false;
    removeLabel.hidden = !channel?.signed;
    secretHint.textContent = channel?.signed
      ? 'Set, and never shown again: leave this empty to keep it, or type a new one.'
      : 'Optional, up to 256 characters: the receiver checks each request’s signature with it.';
    problem.textContent = '';
    el.hidden = false;
    name.focus();
  }

  function close() {
    editing = null;
    el.hidden = true;
    secret.value = '';
  }

  async function submit(event) {
    event.preventDefault();
    problem.textContent = '';
    const was = editing;
    const { body } = channelBody({ name: name.value, kind: kind.value, url: url.value, secret: secret.value, removeSecret: removeSecret.checked }, { editing: Boolean(was) });
    save.disabled = true;
    try {
      const answer = was
        ? await api.put(`/alerts/channels/${encodeURIComponent(was.id)}`, body, { signal })
        : await api.post('/alerts/channels', body, { signal });
      if (editing === was && !el.hidden) close();
      onSaved(answer.channel, Boolean(was));
    } catch (err) {
      if (err.name === 'AbortError' || editing !== was) return;
      problem.textContent = err.message; // the server says what it takes (an http(s) URL, a name)
    } finally {
      save.disabled = false;
    }
  }

  return { el, open, close, editing: () => editing?.id ?? null };
}
