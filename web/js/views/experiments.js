// The experiments page: the project's datasets (with a new one made from pasted or uploaded cases)
// and its experiments, newest first, filtered by dataset; two or more picked open the comparison,
// the first picked as the baseline. `/experiments?dataset=NAME` lists that dataset's experiments.
//
// Making a dataset needs a member or an admin (the server decides; a viewer sees why the button
// is off). Names, descriptions and metadata are anyone's text: dom.js puts them in as text only.
import { h, link, replace } from '../dom.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import * as session from '../session.js';
import { refusal } from '../roles.js';
import { errorState, loading } from '../components/states.js';
import { compareHref, datasetNames, newestFirst } from './experiments-data.js';
import { casesInput } from './dataset-import.js';

export function mount(root, ctx) {
  ctx.setTitle('Experiments');
  const controller = new AbortController();
  const { signal } = controller;
  const writer = session.can('write');
  const state = { datasets: [], experiments: [], dataset: ctx.query?.get('dataset') || '', picked: [] };
  const body = h('div', { class: 'experiments-body' }, loading('Loading datasets and experiments…'));
  let sections = null;

  replace(root, h('section', { class: 'alerts-page experiments-page', 'data-testid': 'experiments-page' },
    h('div', { class: 'page-header' }, h('h1', null, 'Experiments')),
    h('p', { class: 'muted alerts-lede' },
      'A dataset is a list of test cases, kept in versions. An experiment runs an agent over one version and links each case to the run that answered it (',
      h('code', null, 'POST /api/v1/experiments/{name}/runs'), '). Pick two or more experiments to compare them case by case.'),
    body));
  load();

  async function load() {
    replace(body, loading('Loading datasets and experiments…'));
    try {
      const [d, e] = await Promise.all([
        api.get('/datasets', null, { signal }),
        api.get('/experiments', null, { signal }),
      ]);
      state.datasets = d.datasets || [];
      state.experiments = newestFirst(e.experiments);
      sections = {
        datasets: datasetsSection({ state, writer, signal, onMade: made }),
        experiments: experimentsSection({ state, navigate: ctx.navigate, onFilter }),
      };
      replace(body,
        writer ? null : h('p', { class: 'settings-locked', 'data-testid': 'experiments-locked' },
          refusal(session.role(), session.project(), 'write', 'make or change datasets'), ' They are shown here as they are.'),
        sections.datasets.el, sections.experiments.el);
    } catch (err) {
      if (err.name !== 'AbortError') replace(body, errorState(err, load));
    }
  }

  function made() {
    sections.experiments.render();
  }

  function onFilter(dataset) {
    ctx.navigate(dataset ? `/experiments?dataset=${encodeURIComponent(dataset)}` : '/experiments', { replace: true });
  }

  return {
    update(next) {
      const dataset = next.query?.get('dataset') || '';
      if (dataset !== state.dataset) {
        state.dataset = dataset;
        sections?.experiments.render();
      }
      return true;
    },
    dispose() {
      controller.abort();
    },
  };
}

function datasetsSection({ state, writer, signal, onMade }) {
  const summary = h('span', { class: 'muted small', 'data-testid': 'datasets-summary' });
  const status = h('p', { class: 'settings-saved', role: 'status', 'aria-live': 'polite', 'data-testid': 'datasets-status' });
  const tbody = h('tbody');
  const editor = datasetEditor({ state, signal, onSaved });
  const create = writer ? h('button', {
    type: 'button', class: 'button primary small', 'data-testid': 'dataset-new',
    onclick: () => { status.textContent = ''; editor.open(); },
  }, 'New dataset') : null;
  const el = h('div', { class: 'card settings-card', 'data-testid': 'datasets' },
    h('div', { class: 'card-header' }, h('h2', null, 'Datasets'), summary, h('span', { class: 'spacer' }), create),
    h('div', { class: 'card-body' },
      editor.el,
      status,
      h('div', { class: 'table-wrap settings-table' },
        h('table', { class: 'table alerts-table', 'data-testid': 'datasets-table' },
          h('thead', null, h('tr', null, ['Name', 'Description', 'Version', 'Cases', 'Updated'].map((t, i) => h('th', { scope: 'col', class: i === 2 || i === 3 ? 'num' : null }, t)))),
          tbody))));
  render();

  function render() {
    const n = state.datasets.length;
    summary.textContent = `${n} ${n === 1 ? 'dataset' : 'datasets'}`;
    const sorted = [...state.datasets].sort((a, b) => Number(b.updated_at_unix_nano) - Number(a.updated_at_unix_nano));
    replace(tbody, n ? sorted.map(row) : h('tr', null, h('td', { colspan: 5, class: 'muted', 'data-testid': 'datasets-empty' },
      writer ? 'No datasets yet: “New dataset” makes one from cases pasted or uploaded as JSON lines or CSV.' : 'No datasets yet.')));
  }

  function row(d) {
    return h('tr', { 'data-testid': 'dataset-row', dataset: { name: d.name } },
      h('td', null, link(`/datasets/${encodeURIComponent(d.name)}`, { 'data-testid': 'dataset-link' }, h('strong', null, d.name))),
      h('td', { class: 'experiments-description' }, d.description ? fmt.truncate(d.description, 300) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'num', 'data-testid': 'dataset-version' }, `v${d.version}`),
      h('td', { class: 'num', 'data-testid': 'dataset-cases' }, fmt.count(d.cases)),
      h('td', { class: 'nowrap', title: fmt.dateTime(d.updated_at_unix_nano) }, fmt.ago(d.updated_at_unix_nano)));
  }

  function onSaved(version) {
    const info = { name: version.name, description: version.description, version: version.version, cases: version.cases.length, updated_at_unix_nano: version.created_at_unix_nano };
    state.datasets = [...state.datasets.filter((d) => d.name !== info.name), info];
    render();
    replace(status, 'Made the dataset ', link(`/datasets/${encodeURIComponent(info.name)}`, { 'data-testid': 'dataset-made-link' }, info.name),
      ` with ${fmt.count(info.cases)} ${info.cases === 1 ? 'case' : 'cases'}.`);
    onMade();
  }

  return { el, render };
}

/**
 * A new dataset: its name, a description, and its cases as the server reads them. The cases are
 * posted as they were pasted (`POST /datasets/{name}/cases?format=`), so the server's 400 names the
 * line or row to fix; a description is then set with a version over the same cases.
 */
function datasetEditor({ state, signal, onSaved }) {
  const name = h('input', { type: 'text', class: 'input alerts-name', id: 'dataset-name', maxlength: 128, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'dataset-name-input', placeholder: 'support-questions' });
  const description = h('input', { type: 'text', class: 'input alerts-url-input', id: 'dataset-description', maxlength: 4000, autocomplete: 'off', 'data-testid': 'dataset-description-input' });
  const cases = casesInput({ testid: 'dataset-cases' });
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'dataset-error' });
  const save = h('button', { type: 'button', class: 'button primary', 'data-testid': 'dataset-save', onclick: submit }, 'Make dataset');
  const cancel = h('button', { type: 'button', class: 'button', 'data-testid': 'dataset-cancel', onclick: close }, 'Cancel');
  const el = h('div', { class: 'alerts-editor', hidden: true, 'data-testid': 'dataset-editor', role: 'group', 'aria-labelledby': 'dataset-editor-title' },
    h('h3', { id: 'dataset-editor-title' }, 'New dataset'),
    h('div', { class: 'alerts-field' }, h('label', { for: 'dataset-name' }, 'Name'), name,
      h('span', { class: 'muted small' }, 'Letters, digits, _ - . and :, as in experiment:… and dataset:… queries.')),
    h('div', { class: 'alerts-field' }, h('label', { for: 'dataset-description' }, 'Description (optional)'), description),
    cases.el,
    problem,
    h('div', { class: 'settings-actions' }, save, cancel));

  function open() {
    name.value = '';
    description.value = '';
    cases.reset();
    problem.textContent = '';
    el.hidden = false;
    name.focus();
  }

  function close() {
    el.hidden = true;
  }

  async function submit() {
    problem.textContent = '';
    const n = name.value.trim();
    const { text, format, contentType } = cases.read();
    if (!n) {
      problem.textContent = 'Give the dataset a name.';
      name.focus();
      return;
    }
    if (!text.trim()) {
      problem.textContent = 'Paste or upload at least one case.';
      cases.focus();
      return;
    }
    save.disabled = true;
    try {
      // Adding cases makes a missing dataset, and adds to one that exists: not what "new" means.
      const { datasets } = await api.get('/datasets', null, { signal });
      state.datasets = datasets || [];
      if (state.datasets.some((d) => d.name === n)) {
        problem.textContent = `The project has a dataset named “${n}”: open it to add cases, or choose another name.`;
        return;
      }
      let version = await api.postText(`/datasets/${encodeURIComponent(n)}/cases`, { format }, text, contentType, { signal });
      const about = description.value.trim();
      if (about) {
        version = await api.put(`/datasets/${encodeURIComponent(n)}`, { cases: version.cases, expected_version: version.version, description: about }, { signal });
      }
      close();
      onSaved(version);
    } catch (err) {
      // The server's words name the line, row or case to fix.
      if (err.name !== 'AbortError') problem.textContent = err.message;
    } finally {
      save.disabled = false;
    }
  }

  return { el, open };
}

function experimentsSection({ state, navigate, onFilter }) {
  const summary = h('span', { class: 'muted small', 'data-testid': 'experiments-summary' });
  const filter = h('select', { class: 'settings-select', 'aria-label': 'Dataset', 'data-testid': 'experiments-dataset' });
  filter.addEventListener('change', () => onFilter(filter.value));
  const picked = h('span', { class: 'muted small experiments-picked', 'data-testid': 'experiments-picked' });
  const compare = h('button', { type: 'button', class: 'button primary small', 'data-testid': 'compare-button', disabled: true, onclick: go }, 'Compare');
  const tbody = h('tbody');
  const el = h('div', { class: 'card settings-card', 'data-testid': 'experiments' },
    h('div', { class: 'card-header' }, h('h2', null, 'Experiments'), summary, h('span', { class: 'spacer' }),
      h('label', { class: 'small' }, 'Dataset ', filter), picked, compare),
    h('div', { class: 'card-body' },
      h('div', { class: 'table-wrap settings-table' },
        h('table', { class: 'table alerts-table', 'data-testid': 'experiments-table' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Pick')),
            ['Name', 'Dataset', 'Description', 'Metadata', 'Created', 'Runs'].map((t) => h('th', { scope: 'col' }, t)))),
          tbody))));
  render();

  function render() {
    const names = datasetNames(state.datasets, state.experiments);
    if (state.dataset && !names.includes(state.dataset)) names.push(state.dataset);
    replace(filter, h('option', { value: '' }, 'All datasets'), names.map((n) => h('option', { value: n }, n)));
    filter.value = state.dataset;
    const shown = state.experiments.filter((e) => !state.dataset || e.dataset === state.dataset);
    summary.textContent = `${shown.length} ${shown.length === 1 ? 'experiment' : 'experiments'}`;
    replace(tbody, shown.length ? shown.map(row) : h('tr', null, h('td', { colspan: 7, class: 'muted', 'data-testid': 'experiments-empty' },
      state.dataset ? 'No experiments over this dataset yet.' : 'No experiments yet: make one with POST /api/v1/experiments, then link each case’s run to it.')));
    syncPicked();
  }

  function row(e) {
    const box = h('input', { type: 'checkbox', 'data-testid': 'experiment-pick', 'aria-label': `Pick experiment “${e.name}” to compare` });
    box.checked = state.picked.includes(e.name);
    box.addEventListener('change', () => {
      // The order picked is the order compared: the first is the baseline.
      state.picked = box.checked ? [...state.picked.filter((n) => n !== e.name), e.name] : state.picked.filter((n) => n !== e.name);
      syncPicked();
    });
    const meta = Object.entries(e.metadata || {});
    return h('tr', { 'data-testid': 'experiment-row', dataset: { name: e.name } },
      h('td', null, box),
      h('td', null, h('strong', { 'data-testid': 'experiment-name' }, e.name)),
      h('td', { class: 'nowrap' }, link(`/datasets/${encodeURIComponent(e.dataset)}?version=${e.dataset_version}`, null, e.dataset), h('span', { class: 'muted' }, ` v${e.dataset_version}`)),
      h('td', { class: 'experiments-description' }, e.description ? fmt.truncate(e.description, 300) : h('span', { class: 'muted' }, '—')),
      h('td', null, meta.length
        ? h('ul', { class: 'alerts-chips' }, meta.slice(0, 6).map(([k, v]) => {
          const text = `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`;
          return h('li', { class: 'chip', title: fmt.truncate(text, 1000) }, fmt.truncate(text, 80));
        }))
        : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'nowrap', title: fmt.dateTime(e.created_at_unix_nano) }, fmt.ago(e.created_at_unix_nano)),
      h('td', null, link(`/runs?q=${encodeURIComponent(`experiment:${e.name}`)}`, { 'data-testid': 'experiment-runs' }, 'Runs')));
  }

  function syncPicked() {
    const names = state.picked.filter((n) => state.experiments.some((e) => e.name === n));
    state.picked = names;
    compare.disabled = names.length < 2 || names.length > 10;
    compare.title = names.length < 2 ? 'Pick two or more experiments' : names.length > 10 ? 'At most ten at a time' : `Compare, with “${names[0]}” as the baseline`;
    picked.textContent = names.length ? `Baseline: ${names[0]}${names.length > 1 ? ` · ${names.length} picked` : ''}` : '';
  }

  function go() {
    if (state.picked.length >= 2) navigate(compareHref(state.picked));
  }

  return { el, render };
}
