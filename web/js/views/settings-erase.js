// The settings page's "Erase a user" section, for a request to erase someone's data (the GDPR's
// right to erasure, say), as `lemma erase-user` does: it counts every run the user owns and
// every other run holding a span that names them, asks (the user id typed to confirm), deletes
// those runs one by one with progress (the runs page's deleting step, runs-delete.js), then
// counts again to say whether any is left. Only the runs counted are deleted: runs sent since
// are left for another pass, and the recount says so.
//
// User ids come from spans, hostile like all span content: they reach the page as text only.
// Signed in as a viewer, the count works (it only reads) but erasing is off and says why; with
// a key, a refusal shows the server's message.
import { h, replace, setText } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { refusal } from '../roles.js';
import { count } from '../format.js';
import { dialogButton, openDialog } from '../components/dialog.js';
import { deleteWithProgress } from './runs-delete.js';
import { runsNoun } from './runs-lifecycle.js';
import {
  allRunIds, cleanUserId, collectUserRuns, confirms, countSummary, countingProgress, eraseOutcome,
  eraseQuestion, userRunsHref,
} from './settings-erase-data.js';

const code = (userId) => h('code', { class: 'erase-user-id' }, userId);

/**
 * The section; `signal` ends its requests when the page goes. `userId` fills the field and
 * counts at once (the runs page's "Erase this user everywhere…" links here with it).
 */
export function eraseSection(signal, { userId: initial = '' } = {}) {
  const allowed = session.can('write');
  const why = allowed ? null : refusal(session.role(), session.project(), 'write', 'erase a user’s runs');
  const input = h('input', {
    type: 'text', id: 'erase-user', class: 'input erase-input', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'user@example.com', 'data-testid': 'erase-user', oninput: forget,
  });
  const countButton = h('button', { type: 'submit', class: 'button', 'data-testid': 'erase-count' }, 'Count');
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'erase-error' });
  const summary = h('div', { class: 'erase-summary', role: 'status', 'aria-live': 'polite', 'data-testid': 'erase-summary' });
  const startButton = h('button', {
    type: 'button', class: 'button danger-outline', 'aria-haspopup': 'dialog', 'data-testid': 'erase-start',
    disabled: !allowed, onclick: () => { if (counted) ask(counted); },
  }, 'Erase…');
  const start = allowed ? startButton
    // A disabled button shows no tooltip and takes no focus: the wrapper and the hidden text say why.
    : h('span', { class: 'role-locked', title: why, 'data-testid': 'erase-start-locked' }, startButton, h('span', { class: 'visually-hidden' }, why));
  const ownedLink = h('a', { class: 'small', 'data-link': true, 'data-testid': 'erase-owned-link', href: '/runs' }, 'See the runs they own');
  const actions = h('div', { class: 'settings-actions erase-actions', hidden: true }, start, ownedLink);
  const result = h('p', { class: 'erase-result', role: 'status', 'aria-live': 'polite', 'data-testid': 'erase-result' });
  /** The last count: `{userId, found}`; the erase button acts on it. */
  let counted = null;
  /** The count in flight, to abort when the id changes. */
  let counting = null;

  const el = h('div', { class: 'card settings-card settings-erase', 'data-testid': 'erase' },
    h('div', { class: 'card-header' }, h('h2', null, 'Erase a user')),
    h('div', { class: 'card-body' },
      h('p', { class: 'muted settings-about' },
        'For a request to erase someone’s data (under the GDPR, say): deletes every run the user owns and every run holding a span that names them (',
        h('code', null, 'user.id'), ', ', h('code', null, 'lemma.user_id'), ', …), with their spans, metric events and log records, as ',
        h('code', null, 'lemma erase-user'), ' does. Count first; deleted runs cannot be restored.'),
      why ? h('p', { class: 'settings-locked', 'data-testid': 'erase-locked' }, why) : null,
      h('form', { class: 'settings-inline', novalidate: true, onsubmit: submit, 'data-testid': 'erase-form' },
        h('label', { for: 'erase-user' }, 'User id'), input, countButton),
      problem,
      summary,
      actions,
      result));

  if (cleanUserId(initial)) {
    // Brought here from the runs page: the section is the point of the visit.
    input.value = cleanUserId(initial);
    countRuns(input.value).then(bringIntoView);
    setTimeout(() => {
      bringIntoView();
      if (el.isConnected) input.focus({ preventScroll: true });
    });
  }
  return el;

  /** Scrolled to (again once counted: the sections above may have grown while loading). */
  function bringIntoView() {
    if (el.isConnected && !signal.aborted) el.scrollIntoView({ block: 'start' });
  }

  function submit(event) {
    event.preventDefault();
    const userId = cleanUserId(input.value);
    if (!userId) {
      forget();
      problem.textContent = 'Enter the user id to erase, as spans carry it.';
      input.focus();
      return;
    }
    countRuns(userId);
  }

  /** The id changed: the count shown was of another id. */
  function forget() {
    problem.textContent = '';
    if (counted && counted.userId === cleanUserId(input.value)) return;
    counting?.abort();
    counting = null;
    counted = null;
    countButton.disabled = false;
    actions.hidden = true;
    replace(summary);
  }

  async function countRuns(userId) {
    counting?.abort();
    const mine = new AbortController();
    counting = mine;
    signal.addEventListener('abort', () => mine.abort(), { once: true });
    counted = null;
    actions.hidden = true;
    problem.textContent = '';
    setText(result, '');
    countButton.disabled = true;
    replace(summary, h('p', null, 'Counting the runs of ', code(userId), '…'));
    try {
      const found = await collectUserRuns(api.get, userId, {
        signal: mine.signal,
        onProgress: (seen) => replace(summary, h('p', null, countingProgress(seen, count))),
      });
      if (counting === mine) show(userId, found);
    } catch (err) {
      if (err.name === 'AbortError' || counting !== mine) return;
      replace(summary);
      problem.textContent = `Could not count the runs: ${err.message}`;
    } finally {
      if (counting === mine) {
        counting = null;
        countButton.disabled = false;
      }
    }
  }

  function show(userId, found) {
    const text = countSummary(found, count);
    const dataset = { owned: found.owned.length, holding: found.holding.length };
    if (!text) {
      counted = null;
      actions.hidden = true;
      replace(summary, h('p', { 'data-testid': 'erase-count-summary', dataset }, 'No run holds ', code(userId), ': there is nothing to erase.'));
      return;
    }
    counted = { userId, found };
    replace(summary, h('p', { 'data-testid': 'erase-count-summary', dataset }, code(userId), text));
    startButton.textContent = `Erase ${runsNoun(allRunIds(found).length, count)}…`;
    ownedLink.setAttribute('href', userRunsHref(userId));
    ownedLink.hidden = found.owned.length === 0;
    actions.hidden = false;
  }

  function ask({ userId, found }) {
    setText(result, '');
    const controller = new AbortController();
    const dialog = openDialog({ title: 'Erase a user', testid: 'erase-dialog', onClose: () => controller.abort() });
    const status = h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'erase-status' });
    const ids = allRunIds(found);
    const go = dialogButton(`Erase ${runsNoun(ids.length, count)}`, erase, { kind: 'danger', testid: 'erase-confirm', disabled: true });
    const cancel = dialogButton('Cancel', () => dialog.close(), { testid: 'erase-cancel' });
    // The destructive button stays off until the user id is typed.
    const typed = h('input', {
      type: 'text', class: 'input', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'erase-typed',
      'aria-label': 'Type the user id to confirm',
      oninput: () => { go.disabled = !confirms(typed.value, userId); },
      onkeydown: (event) => {
        if (event.key === 'Enter' && !go.disabled) {
          event.preventDefault();
          erase();
        }
      },
    });
    dialog.setBody(
      h('p', { 'data-testid': 'erase-question' }, 'Erase ', code(userId), eraseQuestion(found, count)),
      h('label', { class: 'dialog-field' }, h('span', null, 'Type ', code(userId), ' to confirm'), typed),
      status);
    dialog.setActions([cancel, go], typed);
    let started = false;

    async function erase() {
      if (started || go.disabled) return;
      started = true;
      const done = await deleteWithProgress(dialog, ids, {
        what: ['of ', code(userId)], signal: controller.signal, stop: () => controller.abort(), status, testid: 'erase',
      });
      if (dialog.isOpen()) {
        setText(status, `${done.message} Counting again…`);
        dialog.setActions([]);
      }
      // Counted again with the page's signal, so closing the dialog still updates the section.
      let left = null;
      let recountError = null;
      try {
        left = await collectUserRuns(api.get, userId, { signal });
      } catch (err) {
        if (err.name === 'AbortError') return;
        recountError = err;
      }
      const outcome = eraseOutcome(done, left, recountError, count);
      finished(userId, outcome, left);
      if (!dialog.isOpen()) return;
      setText(status, outcome.text);
      status.setAttribute('role', outcome.ok ? 'status' : 'alert');
      dialog.setActions([dialogButton('Close', () => dialog.close(), { kind: 'primary', testid: 'erase-close' })]);
    }
  }

  /** Erasing ended: its outcome stays in the section, with the recount as the new count. */
  function finished(userId, outcome, left) {
    result.classList.toggle('form-error', !outcome.ok);
    result.classList.toggle('settings-saved', outcome.ok);
    setText(result, outcome.text);
    if (cleanUserId(input.value) !== userId) return;
    if (left) {
      show(userId, left);
      return;
    }
    counted = null;
    actions.hidden = true;
    replace(summary);
  }
}
