// "Add to dataset", on the run page and on a span in the span panel: a run (or a span) becomes a
// test case. Its input is the case's input and its output the expected answer, both editable
// first; the dataset is picked from the project's or named anew (adding makes it). The case is
// posted to `POST /datasets/{name}/cases`, a new version of the dataset, with where it came from
// in its metadata.
import { h, link, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { refusal } from '../roles.js';
import { dialogButton, openDialog } from '../components/dialog.js';
import { addedCaseId, editorText, readEditor } from './experiments-data.js';

let seq = 0;

/**
 * `read()` resolves to `{input, output, runId, spanId?}` when the button is pressed (the run's
 * payloads may have to be read first). `what` names the source in the dialog ("run", "span").
 */
export function addToDatasetButton({ read, what = 'run', testid = 'add-to-dataset' }) {
  const allowed = session.can('write');
  return h('button', {
    type: 'button', class: 'button small', 'aria-haspopup': 'dialog', 'data-testid': testid,
    disabled: !allowed,
    title: allowed ? `Make this ${what} a test case of a dataset` : refusal(session.role(), session.project(), 'write', 'add cases to datasets'),
    onclick: () => open(read, what),
  }, 'Add to dataset');
}

async function open(read, what) {
  const id = ++seq;
  const controller = new AbortController();
  const { signal } = controller;
  const dialog = openDialog({ title: `Add this ${what} to a dataset`, testid: 'add-case-dialog', className: 'dataset-add-dialog', onClose: () => controller.abort() });
  const status = h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'add-case-status' }, 'Reading it…');
  dialog.setBody(status);
  dialog.setActions([dialogButton('Cancel', () => dialog.close())]);

  let source;
  try {
    source = await read();
  } catch (err) {
    status.textContent = `Could not read the ${what}: ${err.message}`;
    status.setAttribute('role', 'alert');
    return;
  }
  if (!dialog.isOpen()) return;

  const listId = `dataset-names-${id}`;
  const options = h('datalist', { id: listId });
  const name = h('input', { type: 'text', class: 'input', id: `add-dataset-${id}`, list: listId, maxlength: 128, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'add-case-dataset', placeholder: 'A dataset, or a new name' });
  const caseId = h('input', { type: 'text', class: 'input', id: `add-case-id-${id}`, maxlength: 128, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'add-case-id', placeholder: 'Numbered when left empty' });
  const input = h('textarea', { class: 'input dataset-add-text', id: `add-input-${id}`, rows: 5, spellcheck: 'false', 'data-testid': 'add-case-input' });
  const expected = h('textarea', { class: 'input dataset-add-text', id: `add-expected-${id}`, rows: 5, spellcheck: 'false', 'data-testid': 'add-case-expected' });
  input.value = editorText(source.input);
  expected.value = editorText(source.output);
  status.textContent = '';

  dialog.setBody(
    h('div', { class: 'dataset-add-fields' },
      h('label', { class: 'dialog-field', for: name.id }, 'Dataset', name, options),
      h('label', { class: 'dialog-field', for: caseId.id }, 'Case id (optional)', caseId),
      h('label', { class: 'dialog-field', for: input.id }, 'Input', input),
      h('label', { class: 'dialog-field', for: expected.id }, h('span', null, 'Expected answer ', h('span', { class: 'muted small' }, `(the ${what}’s output; edit it to what it should have said)`)), expected)),
    status);
  const save = dialogButton('Add case', submit, { kind: 'primary', testid: 'add-case-save' });
  dialog.setActions([dialogButton('Cancel', () => dialog.close(), { testid: 'add-case-cancel' }), save]);
  name.focus();

  // The names to pick from; typing a new one is as good.
  api.get('/datasets', null, { signal }).then((answer) => {
    replace(options, (answer.datasets || []).map((d) => h('option', { value: d.name }, `v${d.version} · ${d.cases} cases`)));
  }, () => {});

  async function submit() {
    status.removeAttribute('data-state');
    const dataset = name.value.trim();
    if (!dataset) {
      status.textContent = 'Pick a dataset or name a new one.';
      name.focus();
      return;
    }
    const value = readEditor(input.value, source.input);
    if (value === undefined) {
      status.textContent = 'A case needs an input.';
      input.focus();
      return;
    }
    const answer = readEditor(expected.value, source.output);
    const metadata = { source_run: source.runId };
    if (source.spanId) metadata.source_span = source.spanId;
    const one = { input: value, metadata };
    if (caseId.value.trim()) one.id = caseId.value.trim();
    if (answer !== undefined) one.expected = answer;
    save.disabled = true;
    status.textContent = 'Adding…';
    try {
      const made = await api.post(`/datasets/${encodeURIComponent(dataset)}/cases`, { cases: [one] }, { signal });
      const added = addedCaseId(made);
      status.dataset.state = 'added';
      replace(status, `Added the case ${added} to `,
        link(`/datasets/${encodeURIComponent(made.name)}`, { 'data-testid': 'add-case-open' }, made.name),
        ` (version ${made.version}, ${made.cases.length} ${made.cases.length === 1 ? 'case' : 'cases'}).`);
      dialog.setActions([dialogButton('Close', () => dialog.close(), { kind: 'primary', testid: 'add-case-close' })]);
      // The link leaves the page: the dialog goes with it.
      status.querySelector('a')?.addEventListener('click', () => dialog.close());
    } catch (err) {
      if (err.name === 'AbortError') return;
      status.textContent = err.message;
      status.setAttribute('role', 'alert');
      save.disabled = false;
    }
  }
}
