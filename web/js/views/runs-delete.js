// "Delete…" on the runs page: deletes the runs matching the page's query and time range. It
// counts them first (the ids are collected then, so only the runs counted are deleted, not
// ones that arrive while the dialog is open), asks with the number, then deletes them one by
// one with progress. With no query at all it would delete every run, so it says so and asks
// for the number to be typed. Signed in as a viewer, the button is off and says why.
import { h, link, setText } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { refusal } from '../roles.js';
import { count } from '../format.js';
import { href } from '../router.js';
import { dialogButton, openDialog } from '../components/dialog.js';
import { collectRunIds, deleteRuns, runsNoun } from './runs-lifecycle.js';

const CANNOT_UNDO = 'This deletes their spans, metric events and log records and cannot be undone.';

/**
 * `query()` is the page's effective query; `onDeleted()` runs once runs were deleted. `user()`
 * is the user the page's query is exactly a filter on, or null: the dialog then offers to erase
 * that user everywhere (the settings page's "Erase a user").
 */
export function deleteButton({ query, onDeleted, user = () => null }) {
  let dialog = null;
  const el = h('button', {
    type: 'button', class: 'button danger-outline', 'data-testid': 'delete-runs', 'aria-haspopup': 'dialog',
    title: 'Delete the runs matching the query and time range',
    onclick: () => { dialog = deleteDialog(query(), onDeleted, user()); },
  }, 'Delete…');
  if (!session.can('write')) {
    const why = refusal(session.role(), session.project(), 'write', 'delete runs');
    el.disabled = true;
    el.removeAttribute('title');
    // A disabled button shows no tooltip and takes no focus: the wrapper and the hidden text say why.
    return {
      el: h('span', { class: 'role-locked', title: why, 'data-testid': 'delete-runs-locked' }, el, h('span', { class: 'visually-hidden' }, why)),
      close: () => {},
    };
  }
  return { el, close: () => dialog?.close() };
}

function deleteDialog(q, onDeleted, userId) {
  const controller = new AbortController();
  const { signal } = controller;
  const dialog = openDialog({ title: q ? 'Delete runs' : 'Delete all runs', testid: 'delete-dialog', onClose: () => controller.abort() });
  const status = h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'delete-status' });
  const what = q ? ['matching ', h('code', null, q)] : 'of the project (there is no query)';
  // The query is one user's runs: erasing the user reaches their runs at any time and the
  // runs of others holding a span naming them, which this query does not.
  const erase = userId ? h('p', { class: 'muted small', 'data-testid': 'delete-erase-user' },
    'To erase this user’s data everywhere, with the runs of others holding a span that names them: ',
    link(href('/settings', { erase: userId }), { 'data-testid': 'delete-erase-link' }, 'Erase this user everywhere…')) : null;

  countRuns();
  return dialog;

  async function countRuns() {
    dialog.setBody(h('p', null, 'Counting the runs ', what, '…'), status);
    dialog.setActions([dialogButton('Cancel', () => dialog.close(), { testid: 'delete-cancel' })]);
    let ids;
    try {
      ids = await collectRunIds(api.get, q, { signal, onProgress: (n) => { status.textContent = `${count(n)} so far…`; } });
    } catch (err) {
      if (err.name === 'AbortError' || !dialog.isOpen()) return;
      status.textContent = `Could not count them: ${err.message}`;
      status.setAttribute('role', 'alert');
      return;
    }
    if (dialog.isOpen()) ask(ids);
  }

  function ask(ids) {
    const n = ids.length;
    if (n === 0) {
      dialog.setBody(h('p', { 'data-testid': 'delete-question' }, 'No runs ', what, ': there is nothing to delete.'), erase);
      dialog.setActions([dialogButton('Close', () => dialog.close(), { testid: 'delete-cancel' })]);
      return;
    }
    const noun = runsNoun(n, count);
    const go = dialogButton(q ? `Delete ${noun}` : `Delete all ${noun}`, () => remove(ids), { kind: 'danger', testid: 'delete-confirm', disabled: !q });
    const cancel = dialogButton('Cancel', () => dialog.close(), { testid: 'delete-cancel' });
    if (q) {
      dialog.setBody(h('p', { 'data-testid': 'delete-question' }, `Delete ${noun} matching `, h('code', null, q), `? ${CANNOT_UNDO}`), erase);
    } else {
      // Every run of the project: the destructive button stays off until the number is typed.
      const typed = h('input', {
        type: 'text', class: 'input', inputmode: 'numeric', autocomplete: 'off', 'data-testid': 'delete-typed',
        'aria-label': `Type ${n} to delete all runs`,
        oninput: () => { go.disabled = typed.value.trim() !== String(n); },
      });
      dialog.setBody(
        h('p', { 'data-testid': 'delete-question' }, `There is no query: this deletes all ${noun} of the project. ${CANNOT_UNDO}`),
        h('label', { class: 'dialog-field' }, `Type ${n} to confirm`, typed));
      dialog.setActions([cancel, go], typed);
      return;
    }
    // The safe choice has the focus; the destructive one needs a deliberate move.
    dialog.setActions([cancel, go], cancel);
  }

  async function remove(ids) {
    const { message } = await deleteWithProgress(dialog, ids, { what, signal, stop: () => controller.abort(), status });
    onDeleted?.();
    if (!dialog.isOpen()) return;
    setText(status, message);
    dialog.setActions([dialogButton('Close', () => dialog.close(), { kind: 'primary', testid: 'delete-close' })]);
  }
}

/**
 * The deleting step of a dialog, shared by "Delete…" here and "Erase a user" on the settings
 * page: deletes `ids` one by one (as `lemma delete-runs` does) with a progress bar, counting
 * in `status`, and a "Stop" button that calls `stop` (which should abort `signal`). `what`
 * (text or nodes) says which runs. Resolves to `{message, deleted, error}`: what to say once it
 * ends, how many runs are gone, and the error it stopped on (an AbortError when stopped; the
 * server's message otherwise), or null.
 */
export async function deleteWithProgress(dialog, ids, { what, signal, stop, status, testid = 'delete' }) {
  const n = ids.length;
  const bar = h('progress', { max: n, value: 0, 'aria-label': 'Runs deleted', 'data-testid': `${testid}-progress` });
  status.setAttribute('role', 'status');
  dialog.setBody(h('p', null, `Deleting ${runsNoun(n, count)} `, what, '…'), bar, status);
  dialog.setActions([dialogButton('Stop', stop, { testid: `${testid}-stop` })]);
  try {
    await deleteRuns(api.del, ids, {
      signal,
      onProgress: (done) => {
        bar.value = done;
        status.textContent = `${count(done)} of ${count(n)} deleted…`;
      },
    });
    return { message: `Deleted ${runsNoun(n, count)}.`, deleted: n, error: null };
  } catch (err) {
    const deleted = err.deleted ?? 0;
    const done = count(deleted);
    const message = err.name === 'AbortError' ? `Stopped: ${done} of ${count(n)} runs deleted.` : `Deleted ${done} of ${count(n)} runs, then: ${err.message}`;
    return { message, deleted, error: err };
  }
}
