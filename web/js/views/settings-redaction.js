// The settings page's redaction section: the project's rules (built-in detectors, patterns of its
// own, keys dropped whole), a preview of them on the newest spans, and what they redacted in the
// last 30 days. The server applies the rules at ingest; this page only edits them. Preview
// examples are span content, hostile like all of it: they reach the page as text nodes only.
import { h, icon, link, replace } from '../dom.js';
import * as api from '../api.js';
import { count } from '../format.js';
import { errorState, loading } from '../components/states.js';
import {
  afterText, dayTable, exampleHref, formRules, isOff, plural, previewSummary, ruleLabel, rulesBody,
  rulesSummary, sortedCounts,
} from './settings-redaction-data.js';

/** The server lists at most this many examples in a preview. */
const PREVIEW_EXAMPLES = 50;

/**
 * The section, loading its rules itself; `signal` ends its requests when the page goes.
 * `readOnly` (someone who is not an admin) shows the rules with every control disabled.
 */
export function redactionSection(signal, { readOnly = false } = {}) {
  const el = h('div', { class: 'redaction', 'data-testid': 'redaction' });
  load();
  return el;

  async function load() {
    replace(el, loading('Loading the redaction rules…'));
    try {
      render(el, await api.get('/project/redaction', null, { signal }), signal, readOnly);
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(el, h('div', { class: 'card settings-card' },
        h('div', { class: 'card-header' }, h('h2', null, 'Redaction')),
        h('div', { class: 'card-body' }, errorState(err, load))));
    }
  }
}

function render(el, answer, signal, readOnly) {
  const detectors = new Map(); // name → checkbox
  const patterns = rowList({
    testid: 'redaction-pattern', noun: 'pattern', addLabel: 'Add pattern',
    fields: [
      { key: 'name', label: 'Name', placeholder: 'order_id', class: 'redaction-name' },
      { key: 'regex', label: 'Regular expression', placeholder: 'ORD-\\d{6}', class: 'redaction-regex' },
    ],
  });
  const keys = rowList({
    testid: 'redaction-key', noun: 'key', addLabel: 'Add key',
    fields: [{ key: 'key', label: 'Key', placeholder: 'http.request.header.*', class: 'redaction-key', testid: 'redaction-key-input' }],
  });
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'redaction-error' });
  const saved = h('p', { class: 'settings-saved', role: 'status', 'aria-live': 'polite', 'data-testid': 'redaction-saved' });
  const save = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'redaction-save', hidden: readOnly }, 'Save');
  const previewButton = h('button', { type: 'button', class: 'button', 'data-testid': 'redaction-preview-run', onclick: preview }, 'Preview on recent spans');
  // The status line stays in the page, so what it says is announced each time it changes.
  const previewStatus = h('p', { class: 'redaction-preview-summary', role: 'status', 'aria-live': 'polite', 'data-testid': 'redaction-preview-summary' });
  const previewStale = h('p', { class: 'muted small', hidden: true, 'data-testid': 'redaction-preview-stale' },
    'The rules changed since this preview: preview again to see what they would do.');
  const previewBody = h('div');
  const previewArea = h('div', { class: 'redaction-preview', 'data-testid': 'redaction-preview' }, previewStale, previewStatus, previewBody);
  const counts = h('div', { class: 'card settings-card', 'data-testid': 'redaction-counts' });

  const detectorList = (answer.detectors || []).map((d) => {
    const box = h('input', { type: 'checkbox', name: 'detector', value: d.name, 'data-testid': `redaction-detector-${d.name}` });
    detectors.set(d.name, box);
    return h('label', { class: 'redaction-detector' }, box,
      h('span', null, h('strong', { class: 'mono' }, d.name), ' ', h('span', { class: 'muted' }, d.description)));
  });

  function show(rules) {
    const r = formRules(rules);
    for (const [name, box] of detectors) box.checked = r.detectors.includes(name);
    patterns.set(r.patterns);
    keys.set(r.drop_keys.map((key) => ({ key })));
  }

  /** The rules the form holds, as the API takes them. */
  function current() {
    return rulesBody({
      detectors: [...detectors].filter(([, box]) => box.checked).map(([name]) => name),
      patterns: patterns.values(),
      drop_keys: keys.values().map((row) => row.key),
    });
  }

  function clearStatus() {
    problem.textContent = '';
    saved.textContent = '';
  }

  async function submit(event) {
    event.preventDefault();
    clearStatus();
    save.disabled = true;
    try {
      const next = await api.put('/project/redaction', current(), { signal });
      show(next.rules);
      showCounts(counts, next.counts);
      saved.textContent = isOff(next.rules)
        ? 'Saved: redaction is off.'
        : `Saved: ${rulesSummary(next.rules)}. They apply to data that arrives from now on.`;
    } catch (err) {
      if (err.name === 'AbortError') return;
      problem.textContent = err.message; // the server's own words say which rule is wrong
    } finally {
      save.disabled = false;
    }
  }

  async function preview() {
    clearStatus();
    previewButton.disabled = true;
    previewStale.hidden = true;
    previewArea.setAttribute('aria-busy', 'true');
    previewStatus.textContent = 'Trying the rules on the newest spans…';
    replace(previewBody);
    try {
      const answer = await api.post('/project/redaction/preview', current(), { signal });
      previewStatus.textContent = previewSummary(answer, count);
      replace(previewBody, previewDetails(answer));
    } catch (err) {
      if (err.name === 'AbortError') return;
      previewStatus.textContent = '';
      problem.textContent = err.message; // as for saving: the server says which rule is wrong
    } finally {
      previewButton.disabled = false;
      previewArea.removeAttribute('aria-busy');
    }
  }

  // A preview shown is of the rules as they were: say so once they change.
  function markStale() {
    if (previewBody.firstChild || previewStatus.textContent) previewStale.hidden = false;
  }

  show(answer.rules);
  showCounts(counts, answer.counts);
  replace(el,
    h('form', { class: 'card settings-card', novalidate: true, onsubmit: submit, oninput: markStale, onchange: markStale, 'data-testid': 'redaction-form' },
      h('div', { class: 'card-header' }, h('h2', null, 'Redaction')),
      // Disabled, the fieldset disables every control in it, preview included (an admin's).
      h('fieldset', { class: 'card-body settings-lock', disabled: readOnly },
        h('p', { class: 'muted redaction-note' },
          'Redaction removes secrets and personal data from spans, log records and metric events as they arrive, before anything is stored or forwarded: each match becomes ',
          h('code', null, '[REDACTED:<rule>]'), '. Rules apply to data that arrives after they are saved; data already stored is not changed (delete its runs if it must go).'),
        h('fieldset', { class: 'settings-choice' },
          h('legend', null, 'Built-in detectors'),
          detectorList),
        h('fieldset', { class: 'settings-choice' },
          h('legend', null, 'Patterns'),
          h('p', { class: 'muted small redaction-note' },
            'Regular expressions of your own (Rust regex syntax). A name is 1 to 40 of a–z, 0–9, _ and -; a match becomes ',
            h('code', null, '[REDACTED:<name>]'), '.'),
          patterns.el),
        h('fieldset', { class: 'settings-choice' },
          h('legend', null, 'Dropped keys'),
          h('p', { class: 'muted small redaction-note' },
            'Attribute keys whose values are removed whole, at any depth. A key ending in ', h('code', null, '*'),
            ' drops every key it starts, such as ', h('code', null, 'http.request.header.*'), '.'),
          keys.el),
        problem,
        h('div', { class: 'settings-actions' }, save, previewButton, saved),
        previewArea)),
    counts);
}

/**
 * An editable list of rows of text inputs with add and remove buttons. `set(rows)` replaces the
 * rows; `values()` reads them as objects keyed by the fields' keys.
 */
function rowList({ testid, noun, addLabel, fields }) {
  let rows = [];
  const list = h('ul', { class: 'redaction-rows', 'data-testid': `${testid}s` });
  const add = h('button', {
    type: 'button', class: 'button small', 'data-testid': `${testid}-add`,
    onclick: () => { addRow({}).inputs[0].focus(); },
  }, addLabel);
  const el = h('div', null, list, add);

  function addRow(values) {
    const inputs = fields.map((f) => h('input', {
      type: 'text', class: ['input mono', f.class], value: values[f.key] ?? '', placeholder: f.placeholder,
      spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off', 'data-testid': f.testid || `${testid}-${f.key}`,
    }));
    const remove = h('button', { type: 'button', class: 'icon-button', 'data-testid': `${testid}-remove` }, icon('x'));
    const row = { el: h('li', { class: 'redaction-row', 'data-testid': testid }, inputs, remove), inputs, remove };
    remove.addEventListener('click', () => removeRow(row));
    rows.push(row);
    list.appendChild(row.el);
    label();
    return row;
  }

  function removeRow(row) {
    const i = rows.indexOf(row);
    rows.splice(i, 1);
    row.el.remove();
    label();
    // The focus goes to the row that took its place, or the one before, or the add button.
    const next = rows[i] || rows[i - 1];
    if (next) next.inputs[0].focus();
    else add.focus();
    list.dispatchEvent(new Event('input', { bubbles: true }));
  }

  // Labels name the row's number, so each input reads apart from the others.
  function label() {
    rows.forEach((row, i) => {
      fields.forEach((f, j) => row.inputs[j].setAttribute('aria-label', `${f.label} of ${noun} ${i + 1}`));
      row.remove.setAttribute('aria-label', `Remove ${noun} ${i + 1}`);
      row.remove.setAttribute('title', `Remove ${noun} ${i + 1}`);
    });
  }

  return {
    el,
    set(values) {
      // Rows that already hold these values stay, and so does the focus in them.
      const same = values.length === rows.length
        && values.every((v, i) => fields.every((f, j) => (v[f.key] ?? '') === rows[i].inputs[j].value));
      if (same) return;
      rows = [];
      list.replaceChildren();
      values.forEach(addRow);
    },
    values: () => rows.map((row) => Object.fromEntries(fields.map((f, j) => [f.key, row.inputs[j].value]))),
  };
}

/** A preview's counts per rule and its examples. */
function previewDetails(answer) {
  const examples = answer.examples || [];
  const perRule = sortedCounts(answer.counts);
  return [
    perRule.length ? ruleCounts(perRule, 'redaction-preview-count') : null,
    examples.length ? h('div', { class: 'redaction-examples' },
      h('p', { class: 'muted small' }, examples.length >= PREVIEW_EXAMPLES ? `The first ${PREVIEW_EXAMPLES} changes, newest span first:` : 'The changes, newest span first:'),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table', 'data-testid': 'redaction-examples' },
          h('thead', null, h('tr', null, ['Span', 'Field', 'Before', 'After'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, examples.map(exampleRow))))) : null,
  ];
}

function exampleRow(ex) {
  const dropped = ex.after === null || ex.after === undefined;
  return h('tr', { 'data-testid': 'redaction-example' },
    h('td', null, link(exampleHref(ex), { 'data-testid': 'redaction-example-run', title: `Run ${ex.run_id}` }, ex.span_name || '(unnamed)')),
    h('td', { class: 'mono', 'data-testid': 'redaction-example-field' }, ex.field),
    h('td', { class: 'redaction-text', 'data-testid': 'redaction-example-before' }, ex.before),
    h('td', { class: ['redaction-text', dropped && 'muted'], 'data-testid': 'redaction-example-after' },
      dropped ? h('em', null, afterText(ex.after)) : ex.after));
}

/** Counts per rule as a list: "email 4", "dropped keys 1". */
function ruleCounts(perRule, testid) {
  return h('ul', { class: 'redaction-counts' }, perRule.map((c) => h('li', { 'data-testid': testid, dataset: { rule: c.rule } },
    h('span', { class: 'mono' }, ruleLabel(c.rule)), ' ', h('strong', { class: 'num' }, count(c.count)))));
}

function showCounts(el, counts) {
  const { rules, rows } = dayTable(counts.by_day);
  replace(el,
    h('div', { class: 'card-header' }, h('h2', null, 'Redacted in the last 30 days')),
    h('div', { class: 'card-body' },
      h('p', null,
        counts.total
          ? [h('strong', { class: 'num', 'data-testid': 'redaction-total' }, plural(counts.total, 'redaction', 'redactions', count)), ` since ${counts.since} (UTC).`]
          : h('span', { 'data-testid': 'redaction-total' }, `Nothing redacted since ${counts.since} (UTC).`)),
      counts.total ? ruleCounts(sortedCounts(counts.by_rule), 'redaction-count') : null,
      rows.length ? h('div', { class: 'table-wrap redaction-days' },
        h('table', { class: 'table', 'data-testid': 'redaction-days' },
          h('caption', { class: 'muted small' }, 'Per day'),
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'Day'),
            h('th', { scope: 'col', class: 'num' }, 'Total'),
            rules.map((r) => h('th', { scope: 'col', class: 'num' }, ruleLabel(r))))),
          h('tbody', null, rows.map((row) => h('tr', null,
            h('th', { scope: 'row', class: 'mono' }, row.day),
            h('td', { class: 'num' }, count(row.total)),
            rules.map((r) => h('td', { class: 'num' }, row.counts[r] ? count(row.counts[r]) : '—'))))))) : null,
      h('p', { class: 'muted small redaction-note' }, 'Counts are written every 10 seconds; reload the page to see the newest.')));
}
