// The alerts page's rules: the list (each with its condition in words, its channels, how many runs
// or windows it is firing for, and an on/off switch), an editor to make or change one, and
// deleting one after a confirmation. The server checks each rule and its 400 says what is wrong
// (a query's message gives the position, marked in the query box as on the runs page).
import { h, replace } from '../dom.js';
import * as api from '../api.js';
import { searchBar } from '../components/search.js';
import { dialogButton, openDialog } from '../components/dialog.js';
import { attachCompletion } from './runs-complete.js';
import {
  MEASURES, OPS, RULE_EXAMPLES, WINDOW_UNITS, conditionWords, deleteRuleQuestion, queryProblem,
  queryWords, ruleBody, ruleForm,
} from './alerts-data.js';

const VALUES_LIMIT = 20;

/**
 * The section. `state` holds the rules and channels (shared with the rest of the page);
 * `onChanged` runs after a rule is made, changed or deleted.
 */
export function rulesSection({ state, admin, signal, onChanged }) {
  const summary = h('span', { class: 'muted small', 'data-testid': 'rules-summary' });
  const status = h('p', { class: 'settings-saved', role: 'status', 'aria-live': 'polite', 'data-testid': 'rules-status' });
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'rules-error' });
  const tbody = h('tbody');
  const firingCells = new Map(); // rule id → its "firing" cell, updated by each read of the events
  let firing = new Map();
  const editor = ruleEditor({ state, signal, onSaved: saved });
  const create = admin ? h('button', {
    type: 'button', class: 'button primary small', 'data-testid': 'rule-new',
    onclick: () => { clearStatus(); editor.open(null); },
  }, 'New rule') : null;
  const el = h('div', { class: 'card settings-card', 'data-testid': 'rules' },
    h('div', { class: 'card-header' }, h('h2', null, 'Rules'), summary, h('span', { class: 'spacer' }), create),
    h('div', { class: 'card-body' },
      editor.el,
      problem,
      status,
      h('div', { class: 'table-wrap settings-table' },
        h('table', { class: 'table alerts-table', 'data-testid': 'rules-table' },
          h('thead', null, h('tr', null,
            ['Name', 'Runs it watches', 'Fires on', 'Notifies', 'Firing', 'On'].map((t) => h('th', { scope: 'col' }, t)),
            admin ? h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')) : null)),
          tbody))));
  render();

  function render() {
    const n = state.rules.length;
    summary.textContent = `${n} ${n === 1 ? 'rule' : 'rules'}`;
    firingCells.clear();
    replace(tbody, state.rules.map(row));
    if (!n) {
      replace(tbody, h('tr', null, h('td', { colspan: admin ? 7 : 6, class: 'muted', 'data-testid': 'rules-empty' },
        admin ? 'No rules yet: “New rule” makes one.' : 'No rules yet.')));
    }
    editor.refreshChannels();
  }

  function channelName(id) {
    return state.channels.find((c) => c.id === id)?.name ?? id;
  }

  function row(rule) {
    const cell = h('td', { class: 'num', 'data-testid': 'rule-firing-cell' });
    firingCells.set(rule.id, cell);
    showFiring(rule.id, cell);
    const toggle = h('input', {
      type: 'checkbox', role: 'switch', class: 'switch', 'data-testid': 'rule-enabled',
      'aria-label': `Rule “${rule.name}” on`, disabled: !admin,
    });
    toggle.checked = rule.enabled !== false;
    const tr = h('tr', { class: [rule.enabled === false && 'is-off'], 'data-testid': 'rule-row', dataset: { ruleId: rule.id, enabled: String(rule.enabled !== false) } },
      h('td', { 'data-testid': 'rule-name' }, h('strong', null, rule.name)),
      h('td', { 'data-testid': 'rule-query' }, rule.query ? h('code', { class: 'alerts-query' }, rule.query) : h('span', { class: 'muted' }, queryWords(rule.query))),
      h('td', { 'data-testid': 'rule-condition' }, conditionWords(rule.condition)),
      h('td', { 'data-testid': 'rule-channels' }, rule.channels?.length
        ? h('ul', { class: 'alerts-chips' }, rule.channels.map((id) => h('li', { class: 'chip', title: channelName(id) }, channelName(id))))
        : h('span', { class: 'muted' }, 'history only')),
      cell,
      h('td', null, toggle),
      admin ? h('td', { class: 'settings-row-actions' },
        h('button', { type: 'button', class: 'button small', 'data-testid': 'rule-edit', 'aria-label': `Edit rule “${rule.name}”`, onclick: () => { clearStatus(); editor.open(rule); } }, 'Edit'),
        ' ',
        h('button', { type: 'button', class: 'button small danger-outline', 'aria-haspopup': 'dialog', 'data-testid': 'rule-delete', 'aria-label': `Delete rule “${rule.name}”`, onclick: () => remove(rule) }, 'Delete')) : null);
    toggle.addEventListener('change', () => setEnabled(rule.id, toggle, tr));
    return tr;
  }

  function showFiring(id, cell) {
    const n = firing.get(id) || 0;
    cell.dataset.count = String(n);
    replace(cell, n
      ? h('span', { class: 'badge status-error', 'data-testid': 'rule-firing', title: `Firing for ${n} ${n === 1 ? 'run or window' : 'runs or windows'} now` }, `${n} firing`)
      : h('span', { class: 'muted', 'data-testid': 'rule-firing' }, '—'));
  }

  function clearStatus() {
    status.textContent = '';
    problem.textContent = '';
  }

  function saved(rule, replaced) {
    const i = state.rules.findIndex((r) => r.id === rule.id);
    if (i >= 0) state.rules[i] = rule;
    else state.rules.push(rule);
    status.textContent = replaced ? `Saved the rule “${rule.name}”.` : `Made the rule “${rule.name}”: it applies from the next run checked and the next window measured.`;
    onChanged();
  }

  // The switch changes the rule in place (the row stays, and the focus on it).
  async function setEnabled(id, toggle, tr) {
    clearStatus();
    const rule = state.rules.find((r) => r.id === id);
    if (!rule) return;
    const enabled = toggle.checked;
    toggle.disabled = true;
    try {
      const answer = await api.put(`/alerts/rules/${encodeURIComponent(id)}`, { ...rule, enabled }, { signal });
      Object.assign(rule, answer.rule);
      status.textContent = enabled ? `“${rule.name}” is on.` : `“${rule.name}” is off: it raises no events until it is on again.`;
    } catch (err) {
      if (err.name === 'AbortError') return;
      toggle.checked = !enabled;
      problem.textContent = err.message;
    } finally {
      toggle.disabled = !admin;
      tr.dataset.enabled = String(rule.enabled !== false);
      tr.classList.toggle('is-off', rule.enabled === false);
    }
  }

  function remove(rule) {
    clearStatus();
    const dialog = openDialog({ title: 'Delete rule', testid: 'rule-delete-dialog' });
    const note = h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'rule-delete-status' });
    dialog.setBody(h('p', null, deleteRuleQuestion(rule)), note);
    const cancel = dialogButton('Cancel', () => dialog.close(), { testid: 'rule-delete-cancel' });
    const go = dialogButton('Delete rule', confirm, { kind: 'danger', testid: 'rule-delete-confirm' });
    dialog.setActions([cancel, go], cancel);

    async function confirm() {
      go.disabled = true;
      note.textContent = 'Deleting…';
      try {
        await api.del(`/alerts/rules/${encodeURIComponent(rule.id)}`, { signal });
      } catch (err) {
        if (err.name === 'AbortError') return;
        note.textContent = err.message;
        note.setAttribute('role', 'alert');
        go.disabled = false;
        return;
      }
      dialog.close();
      state.rules = state.rules.filter((r) => r.id !== rule.id);
      if (editor.editing() === rule.id) editor.close();
      status.textContent = `Deleted the rule “${rule.name}”.`;
      onChanged();
    }
  }

  return {
    el,
    render,
    setFiring(next) {
      firing = next;
      for (const [id, cell] of firingCells) showFiring(id, cell);
    },
    dispose: () => editor.dispose(),
  };
}

/**
 * Making or changing a rule. Not a <form>: the query box is the search bar, a form of its own;
 * Enter in any other field saves.
 */
function ruleEditor({ state, signal, onSaved }) {
  let editing = null; // the rule being changed, or null for a new one
  const title = h('h3', { id: 'rule-editor-title' });
  const name = h('input', { type: 'text', class: 'input alerts-name', id: 'rule-name', maxlength: 200, autocomplete: 'off', 'data-testid': 'rule-name-input' });
  const search = searchBar({
    // Enter only closes the examples: a pick from them must not save half a rule.
    onSubmit: () => {},
    placeholder: 'Every run, or e.g. signal:error_streak env:prod',
    examples: RULE_EXAMPLES,
    label: 'Query of the runs the rule watches',
  });
  const completion = attachCompletion(search, {
    scope: () => '',
    fetchValues: (field, prefix, q, sig) => api.get('/values', { field, prefix, q, limit: VALUES_LIMIT }, { signal: sig }),
  });
  const eachRun = h('input', { type: 'radio', name: 'rule-condition', value: 'each_run', 'data-testid': 'rule-each-run', onchange: syncType });
  const windowed = h('input', { type: 'radio', name: 'rule-condition', value: 'window', 'data-testid': 'rule-window', onchange: syncType });
  const measure = h('select', { class: 'settings-select', 'aria-label': 'Measure', 'data-testid': 'rule-measure' },
    MEASURES.map((m) => h('option', { value: m.value }, `${m.label} (${m.unit})`)));
  const op = h('select', { class: 'settings-select', 'aria-label': 'Comparison', 'data-testid': 'rule-op' }, OPS.map((o) => h('option', { value: o }, o)));
  const threshold = h('input', { type: 'text', class: 'input alerts-number', inputmode: 'decimal', autocomplete: 'off', 'aria-label': 'Threshold', 'data-testid': 'rule-threshold' });
  const amount = h('input', { type: 'text', class: 'input alerts-number', inputmode: 'numeric', autocomplete: 'off', 'aria-label': 'Window length', 'data-testid': 'rule-window-amount' });
  const unit = h('select', { class: 'settings-select', 'aria-label': 'Window unit', 'data-testid': 'rule-window-unit' },
    WINDOW_UNITS.map((u) => h('option', { value: u.unit }, u.label)));
  const windowRow = h('div', { class: 'alerts-window', 'data-testid': 'rule-window-fields' },
    measure, op, threshold, h('span', null, 'over the last'), amount, unit);
  const channels = h('div', { class: 'alerts-channel-choice', 'data-testid': 'rule-channel-choice' });
  const enabled = h('input', { type: 'checkbox', 'data-testid': 'rule-enabled-input' });
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'rule-error' });
  const save = h('button', { type: 'button', class: 'button primary', 'data-testid': 'rule-save', onclick: submit }, 'Save rule');
  const cancel = h('button', { type: 'button', class: 'button', 'data-testid': 'rule-cancel', onclick: () => close() }, 'Cancel');
  const el = h('div', { class: 'alerts-editor', role: 'group', 'aria-labelledby': 'rule-editor-title', 'data-testid': 'rule-editor', hidden: true },
    title,
    h('div', { class: 'alerts-field' }, h('label', { for: 'rule-name' }, 'Name'), name),
    h('div', { class: 'alerts-field' }, h('span', { class: 'alerts-label' }, 'Runs it watches'), search.el,
      h('span', { class: 'muted small' }, 'In the query language of the runs page; empty watches every run.')),
    h('fieldset', { class: 'settings-choice' },
      h('legend', null, 'Fires'),
      h('label', null, eachRun, 'For each run that matches, as soon as it does (also while it is still going)'),
      h('label', null, windowed, 'When a measure over the runs that started recently passes a threshold (measured every 5 s)'),
      windowRow),
    h('fieldset', { class: 'settings-choice' }, h('legend', null, 'Notifies'), channels),
    h('label', { class: 'alerts-enabled' }, enabled, 'On'),
    problem,
    h('div', { class: 'settings-actions' }, save, cancel));
  el.addEventListener('keydown', (event) => {
    // The query box has its own Enter (and completion): every other text field saves.
    if (event.key !== 'Enter' || event.target.dataset?.searchInput !== undefined) return;
    if (event.target.tagName === 'INPUT' && event.target.type !== 'checkbox' && event.target.type !== 'radio') {
      event.preventDefault();
      submit();
    }
  });

  function syncType() {
    windowRow.hidden = !windowed.checked;
  }

  /** The channels to tick, the ones ticked kept (a channel made meanwhile appears). */
  function showChannels(chosen) {
    replace(channels, state.channels.length
      ? state.channels.map((c) => {
        const box = h('input', { type: 'checkbox', value: c.id, 'data-testid': 'rule-channel' });
        box.checked = chosen.includes(c.id);
        return h('label', null, box, c.name, h('span', { class: 'muted small' }, ` ${c.kind}`));
      })
      : h('p', { class: 'muted small', 'data-testid': 'rule-no-channels' }, 'No channels yet: add one below. A rule without a channel still keeps its events in the history.'));
    // A rule may name a channel this page no longer lists: kept, so saving does not drop it.
    for (const id of chosen) {
      if (state.channels.some((c) => c.id === id)) continue;
      const box = h('input', { type: 'checkbox', value: id, 'data-testid': 'rule-channel' });
      box.checked = true;
      channels.append(h('label', null, box, id));
    }
  }

  function chosenChannels() {
    return [...channels.querySelectorAll('input[type="checkbox"]')].filter((b) => b.checked).map((b) => b.value);
  }

  function open(rule) {
    editing = rule;
    const f = ruleForm(rule);
    title.textContent = rule ? `Edit rule “${rule.name}”` : 'New rule';
    name.value = f.name;
    search.setValue(f.query);
    search.clearError();
    eachRun.checked = f.type === 'each_run';
    windowed.checked = f.type === 'window';
    measure.value = f.measure;
    op.value = f.op;
    threshold.value = f.threshold;
    amount.value = f.amount;
    unit.value = f.unit;
    enabled.checked = f.enabled;
    showChannels(f.channels);
    syncType();
    problem.textContent = '';
    el.hidden = false;
    name.focus();
  }

  function close() {
    editing = null;
    el.hidden = true;
    search.close();
    completion.close();
  }

  async function submit() {
    problem.textContent = '';
    search.clearError();
    const { body, error, field } = ruleBody({
      name: name.value, query: search.input.value, type: windowed.checked ? 'window' : 'each_run',
      measure: measure.value, op: op.value, threshold: threshold.value, amount: amount.value, unit: unit.value,
      channels: chosenChannels(), enabled: enabled.checked,
    });
    if (error) {
      problem.textContent = error;
      (field === 'threshold' ? threshold : amount).focus();
      return;
    }
    // The server counts a query error's position in the query as sent.
    search.setValue(body.query);
    const was = editing;
    save.disabled = true;
    try {
      const answer = was
        ? await api.put(`/alerts/rules/${encodeURIComponent(was.id)}`, body, { signal })
        : await api.post('/alerts/rules', body, { signal });
      // Opened for another rule meanwhile: that one stays open.
      if (editing === was && !el.hidden) close();
      onSaved(answer.rule, Boolean(was));
    } catch (err) {
      if (err.name === 'AbortError' || editing !== was) return;
      // The server's own words say what is wrong: the name, the query (at a position, also
      // marked in the query box), the window's range, the threshold or a channel.
      problem.textContent = err.message;
      const query = queryProblem(err.message);
      if (query) search.setError(query);
    } finally {
      save.disabled = false;
    }
  }

  return {
    el,
    open,
    close,
    editing: () => editing?.id ?? null,
    refreshChannels() {
      if (!el.hidden) showChannels(chosenChannels());
    },
    dispose() {
      search.close();
    },
  };
}
