// One dataset: its cases at a version (`/datasets/NAME?version=N`, the latest by default), the
// versions to pick from, exports as JSON lines or CSV, cases added by paste or upload (a new
// version), and deleting it. Versions never change once made, so an experiment over an older one
// still compares against what it ran.
//
// Inputs, expected answers, tags and metadata are anyone's text: only ever text nodes here.
import { h, link, replace } from '../dom.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import * as session from '../session.js';
import { refusal } from '../roles.js';
import { errorState, loading } from '../components/states.js';
import { dialogButton, openDialog } from '../components/dialog.js';
import { casesInput } from './dataset-import.js';
import { exportFileName } from './experiments-data.js';

/** Cases built at a time: a dataset may hold 100,000. */
const CASES_PAGE = 200;
const PREVIEW = 240;

export function mount(root, ctx) {
  const name = ctx.params.name;
  ctx.setTitle(name);
  const controller = new AbortController();
  const { signal } = controller;
  const writer = session.can('write');
  let version = numberOr(ctx.query?.get('version'));
  let latest = null; // the latest version's number, from the list
  let data = null;

  const body = h('div', { class: 'dataset-body' }, loading('Loading the dataset…'));
  replace(root, h('section', { class: 'alerts-page dataset-page', 'data-testid': 'dataset-page' },
    h('div', { class: 'run-crumbs' }, link('/experiments', { class: 'muted' }, 'Experiments'), h('span', { class: 'muted' }, '/'), h('span', null, 'Datasets')),
    body));
  load();

  async function load() {
    replace(body, loading('Loading the dataset…'));
    try {
      const [d, list] = await Promise.all([
        api.get(`/datasets/${encodeURIComponent(name)}`, { version }, { signal }),
        api.get('/datasets', null, { signal }),
      ]);
      data = d;
      latest = (list.datasets || []).find((x) => x.name === name)?.version ?? d.version;
      render();
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(body, errorState(err, err.status === 404 ? null : load),
        h('p', { class: 'run-failed-links' }, link('/experiments', { class: 'button' }, 'Back to experiments')));
    }
  }

  function render() {
    const picker = h('select', { class: 'settings-select', 'aria-label': 'Version', 'data-testid': 'dataset-version-picker' },
      Array.from({ length: latest }, (_, i) => latest - i).map((v) => h('option', { value: String(v) }, `v${v}${v === latest ? ' (latest)' : ''}`)));
    picker.value = String(data.version);
    picker.addEventListener('change', () => {
      const v = Number(picker.value);
      ctx.navigate(`/datasets/${encodeURIComponent(name)}${v === latest ? '' : `?version=${v}`}`);
    });
    const status = h('p', { class: 'settings-saved', role: 'status', 'aria-live': 'polite', 'data-testid': 'dataset-status' });
    const adder = casesAdder({ name, signal, onAdded: (made) => {
      // The new version is the latest: shown at the dataset's own address.
      version = null;
      ctx.navigate(`/datasets/${encodeURIComponent(name)}`, { replace: true });
      showVersion(made, `Added the cases: this is version ${made.version}, with ${fmt.count(made.cases.length)} ${made.cases.length === 1 ? 'case' : 'cases'}.`);
    } });
    const locked = writer ? {} : { disabled: true, title: refusal(session.role(), session.project(), 'write', 'change datasets') };
    const actions = h('div', { class: 'dataset-actions' },
      exportLink('jsonl', 'Export JSONL'), exportLink('csv', 'Export CSV'),
      h('button', { type: 'button', class: 'button small', 'data-testid': 'cases-add', ...locked, onclick: () => adder.open() }, 'Add cases'),
      h('button', { type: 'button', class: 'button small danger-outline', 'aria-haspopup': 'dialog', 'data-testid': 'dataset-delete', ...locked, onclick: remove }, 'Delete'));
    replace(body,
      h('div', { class: 'page-header' },
        h('h1', { 'data-testid': 'dataset-name' }, data.name),
        h('label', { class: 'small muted' }, 'Version ', picker),
        h('span', { class: 'spacer' }),
        actions),
      data.description ? h('p', { class: 'alerts-lede', 'data-testid': 'dataset-description' }, data.description) : null,
      h('dl', { class: 'settings-facts dataset-facts' },
        h('dt', null, 'Version'), h('dd', { 'data-testid': 'dataset-version' }, `${data.version} of ${latest}`),
        h('dt', null, 'Cases'), h('dd', { 'data-testid': 'dataset-case-count' }, fmt.count(data.cases.length)),
        h('dt', null, 'Made'), h('dd', null, fmt.dateTime(data.created_at_unix_nano)),
        h('dt', null, 'Experiments'), h('dd', null, link(`/experiments?dataset=${encodeURIComponent(name)}`, { 'data-testid': 'dataset-experiments' }, 'Experiments over this dataset'))),
      adder.el,
      status,
      casesTable(data.cases));
  }

  function showVersion(made, note) {
    data = made;
    latest = Math.max(latest || 0, made.version);
    render();
    const status = body.querySelector('[data-testid="dataset-status"]');
    if (status && note) status.textContent = note;
  }

  /** A link to the export (for curl users), downloaded here with the page's own credentials. */
  function exportLink(format, label) {
    const params = new URLSearchParams({ format, version: String(data.version) });
    const a = h('a', {
      class: 'button small', href: `/api/v1/datasets/${encodeURIComponent(name)}?${params}`, 'data-testid': `export-${format}`,
      title: `Version ${data.version}'s cases as ${format === 'csv' ? 'CSV' : 'JSON lines'}`,
    }, label);
    a.addEventListener('click', async (event) => {
      event.preventDefault();
      try {
        const text = await api.getText(`/datasets/${encodeURIComponent(name)}`, { format, version: data.version }, { signal });
        download(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }), exportFileName(name, data.version, format));
      } catch (err) {
        if (err.name !== 'AbortError') body.querySelector('[data-testid="dataset-status"]').textContent = `Export failed: ${err.message}`;
      }
    });
    return a;
  }

  function remove() {
    const dialog = openDialog({ title: 'Delete dataset', testid: 'dataset-delete-dialog' });
    const note = h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'dataset-delete-status' });
    dialog.setBody(h('p', null, `Delete the dataset “${name}” with all ${latest} ${latest === 1 ? 'version' : 'versions'}? Its experiments stay, and so do their runs, but their cases can no longer be read.`), note);
    const cancel = dialogButton('Cancel', () => dialog.close(), { testid: 'dataset-delete-cancel' });
    const go = dialogButton('Delete dataset', confirm, { kind: 'danger', testid: 'dataset-delete-confirm' });
    dialog.setActions([cancel, go], cancel);

    async function confirm() {
      go.disabled = true;
      note.textContent = 'Deleting…';
      try {
        await api.del(`/datasets/${encodeURIComponent(name)}`, { signal });
      } catch (err) {
        if (err.name === 'AbortError') return;
        note.textContent = err.message;
        note.setAttribute('role', 'alert');
        go.disabled = false;
        return;
      }
      dialog.close();
      ctx.navigate('/experiments');
    }
  }

  return {
    update(next) {
      const v = numberOr(next.query?.get('version'));
      if (v !== version) {
        version = v;
        load();
      }
      return true;
    },
    dispose() {
      controller.abort();
    },
  };
}

function numberOr(text) {
  const n = Number(text);
  return text && Number.isInteger(n) && n > 0 ? n : null;
}

/** The cases, a page at a time ("Show more" builds the next). */
function casesTable(cases) {
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'button small', 'data-testid': 'cases-more', onclick: next });
  const wrap = h('div', null,
    h('div', { class: 'table-wrap settings-table' },
      h('table', { class: 'table alerts-table dataset-cases-table', 'data-testid': 'cases-table' },
        h('thead', null, h('tr', null, ['Case', 'Input', 'Expected', 'Tags', 'Metadata'].map((t) => h('th', { scope: 'col' }, t)))),
        tbody)),
    more);
  let shown = 0;
  if (!cases.length) tbody.append(h('tr', null, h('td', { colspan: 5, class: 'muted', 'data-testid': 'cases-empty' }, 'No cases in this version.')));
  next();
  return wrap;

  function next() {
    const rows = document.createDocumentFragment();
    for (const c of cases.slice(shown, shown + CASES_PAGE)) rows.append(caseRow(c));
    tbody.append(rows);
    shown = Math.min(cases.length, shown + CASES_PAGE);
    more.hidden = shown >= cases.length;
    more.textContent = `Show more (${fmt.count(cases.length - shown)} left)`;
  }
}

function caseRow(c) {
  const meta = Object.entries(c.metadata || {});
  return h('tr', { 'data-testid': 'case-row', dataset: { caseId: c.id } },
    h('td', { class: 'mono nowrap', 'data-testid': 'case-id' }, c.id),
    h('td', { 'data-testid': 'case-input' }, valueCell(c.input)),
    h('td', { 'data-testid': 'case-expected' }, c.expected === undefined || c.expected === null ? h('span', { class: 'muted' }, '—') : valueCell(c.expected)),
    h('td', null, (c.tags || []).length ? h('ul', { class: 'alerts-chips' }, c.tags.map((t) => h('li', { class: 'chip', title: t }, t))) : null),
    h('td', { class: 'small' }, meta.map(([k, v]) => h('div', { class: 'dataset-meta' }, h('span', { class: 'muted' }, `${k}: `), fmt.truncate(typeof v === 'string' ? v : JSON.stringify(v), 120)))));
}

function valueCell(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return h('div', { class: ['dataset-value', typeof value !== 'string' && 'mono'], title: fmt.truncate(text, 1000) }, fmt.truncate(text, PREVIEW));
}

/** Adding cases to the dataset: a new version with the latest's cases and these after them. */
function casesAdder({ name, signal, onAdded }) {
  const cases = casesInput({ testid: 'add-cases' });
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'add-cases-error' });
  const save = h('button', { type: 'button', class: 'button primary', 'data-testid': 'add-cases-save', onclick: submit }, 'Add cases');
  const cancel = h('button', { type: 'button', class: 'button', onclick: () => { el.hidden = true; } }, 'Cancel');
  const el = h('div', { class: 'alerts-editor', hidden: true, 'data-testid': 'add-cases-editor' },
    h('h3', null, 'Add cases'),
    h('p', { class: 'muted small' }, 'They are added after the latest version’s cases, as a new version. A case with an id the dataset already has is refused.'),
    cases.el, problem, h('div', { class: 'settings-actions' }, save, cancel));

  async function submit() {
    problem.textContent = '';
    const { text, format, contentType } = cases.read();
    if (!text.trim()) {
      problem.textContent = 'Paste or upload at least one case.';
      cases.focus();
      return;
    }
    save.disabled = true;
    try {
      const made = await api.postText(`/datasets/${encodeURIComponent(name)}/cases`, { format }, text, contentType, { signal });
      el.hidden = true;
      onAdded(made);
    } catch (err) {
      if (err.name !== 'AbortError') problem.textContent = err.message;
    } finally {
      save.disabled = false;
    }
  }

  return {
    el,
    open() {
      cases.reset();
      problem.textContent = '';
      el.hidden = false;
      cases.focus();
    },
  };
}

/** Saves `blob` as `name` through a temporary link (the CSP allows blob downloads). */
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { download: name, hidden: true });
  a.href = url; // set directly: dom.js keeps only http(s) links, and this one is ours
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
