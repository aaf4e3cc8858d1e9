// The settings page's signals section: the thresholds the server's rules judge runs by (a
// project's own, or the defaults), editable by admins. The server checks each range and its 400
// names the field: that message shows beside the form, and the field is marked.
import { h, replace } from '../dom.js';
import * as api from '../api.js';
import { errorState, loading } from '../components/states.js';
import { fieldOfMessage, formValues, settingsBody, SIGNAL_FIELDS } from './settings-signals-data.js';

/** The section, loading the thresholds itself; `signal` ends its requests when the page goes. */
export function signalsSection(signal, { readOnly = false } = {}) {
  const el = h('div', { class: 'signal-settings', 'data-testid': 'signal-settings' });
  load();
  return el;

  async function load() {
    replace(el, loading('Loading the signal thresholds…'));
    try {
      render(el, await api.get('/signals/settings', null, { signal }), signal, readOnly);
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(el, h('div', { class: 'card settings-card' },
        h('div', { class: 'card-header' }, h('h2', null, 'Signals')),
        h('div', { class: 'card-body' }, errorState(err, load))));
    }
  }
}

function render(el, settings, signal, readOnly) {
  const enabled = h('input', { type: 'checkbox', 'data-testid': 'signal-enabled' });
  const inputs = new Map(SIGNAL_FIELDS.map((f) => [f.key, h('input', {
    type: 'text', class: 'input signal-setting-input', inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false',
    id: `signal-setting-${f.key}`, placeholder: String(f.placeholder), 'data-testid': `signal-setting-${f.key}`,
    'aria-describedby': `signal-setting-${f.key}-hint`,
  })]));
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'signal-settings-error' });
  const saved = h('p', { class: 'settings-saved', role: 'status', 'aria-live': 'polite', 'data-testid': 'signal-settings-saved' });
  const save = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'signal-settings-save', hidden: readOnly }, 'Save');

  function show(s) {
    const values = formValues(s);
    enabled.checked = values.enabled;
    for (const [key, input] of inputs) input.value = values[key];
    syncEnabled();
  }

  // Off, the thresholds are kept but judge nothing: they read as such.
  function syncEnabled() {
    el.querySelector('.signal-settings-grid')?.classList.toggle('is-off', !enabled.checked);
  }

  function clearStatus() {
    problem.textContent = '';
    saved.textContent = '';
    for (const input of inputs.values()) input.removeAttribute('aria-invalid');
  }

  function showProblem(message, field) {
    problem.textContent = message;
    const input = field && inputs.get(field);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  }

  async function submit(event) {
    event.preventDefault();
    clearStatus();
    const values = { enabled: enabled.checked };
    for (const [key, input] of inputs) values[key] = input.value;
    const { body, error, field } = settingsBody(values);
    if (error) {
      showProblem(error, field);
      return;
    }
    save.disabled = true;
    try {
      const answer = await api.put('/signals/settings', body, { signal });
      show(answer);
      saved.textContent = answer.enabled
        ? 'Saved: runs are judged by these thresholds from their next evaluation.'
        : 'Saved: no signal is found in this project’s runs until this is turned on again (loops still are).';
    } catch (err) {
      if (err.name === 'AbortError') return;
      // The server's own words say which threshold is out of its range, and what the range is.
      showProblem(err.message, fieldOfMessage(err.message));
    } finally {
      save.disabled = false;
    }
  }

  replace(el, h('form', { class: 'card settings-card', novalidate: true, onsubmit: submit, 'data-testid': 'signal-settings-form' },
    h('div', { class: 'card-header' }, h('h2', null, 'Signals')),
    // Disabled, the fieldset disables every control in it: the thresholds read, but do not send.
    h('fieldset', { class: 'card-body settings-lock', disabled: readOnly },
      h('p', { class: 'muted signal-settings-note' },
        'Signals point at what in a run is worth a look: failures in a row, a tool failing again and again, calls going round in circles, runs using far more than usual, conversations going wrong. The server looks as spans arrive; these thresholds decide when its rules speak. An empty field takes its default (shown greyed).'),
      h('label', { class: 'signal-settings-enabled' }, enabled, 'Find signals in this project’s runs', h('span', { class: 'muted' }, ' (off: rules, span attributes and evaluations are not read; loops still are)')),
      h('div', { class: 'signal-settings-grid' },
        SIGNAL_FIELDS.map((f) => h('div', { class: 'signal-setting' },
          h('label', { class: 'signal-setting-label', for: `signal-setting-${f.key}` }, f.label, ' ', h('code', { class: 'muted' }, f.signals)),
          h('div', { class: 'signal-setting-value' }, inputs.get(f.key), h('span', { class: 'muted small' }, f.unit)),
          h('div', { class: 'muted small signal-setting-hint', id: `signal-setting-${f.key}-hint` }, f.hint)))),
      problem,
      h('div', { class: 'settings-actions' }, save, saved))));
  enabled.addEventListener('change', syncEnabled);
  show(settings);
}
