// A text box with a list of suggested values under it (ARIA combobox): typing asks `source` for
// values starting with the text, arrow keys move through them, Enter picks the highlighted one
// (or the typed text), and each suggestion shows how many runs hold it. Values are span data:
// they are only ever text.
import { h, replace } from '../dom.js';
import { count } from '../format.js';

let ids = 0;

/**
 * `source.request(prefix, onAnswer)` as in value-source.js. `onPick(value)` gets the chosen
 * value. `disabledReason(value)` may return why a value cannot be picked. `allowFree` lets
 * Enter take typed text no suggestion holds. Returns `{el, input, focus(), reset(source)}`.
 */
export function combobox({ label, placeholder = '', source, onPick, disabledReason = () => null, allowFree = true, testid }) {
  const id = `combo-${++ids}`;
  let options = [];
  let active = -1;
  let current = source;
  const input = h('input', {
    type: 'text', class: 'input combo-input', role: 'combobox', 'aria-label': label, placeholder,
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': `${id}-list`,
    autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', 'data-testid': testid && `${testid}-input`,
  });
  const list = h('ul', { class: 'combo-list', role: 'listbox', id: `${id}-list`, 'aria-label': `${label}: suggestions`, 'data-testid': testid && `${testid}-options` });
  const status = h('div', { class: 'combo-status muted', 'aria-live': 'polite', 'data-testid': testid && `${testid}-status` });
  const el = h('div', { class: 'combo' }, input, list, status);

  function ask() {
    replace(status, 'Loading…');
    current.request(input.value, show);
  }

  function show({ values, answer, error }) {
    if (error) {
      options = [];
      render();
      replace(status, `Suggestions failed: ${error.message}`);
      return;
    }
    options = values;
    active = -1;
    render();
    const read = answer?.runs_read;
    const hint = allowFree && input.value ? ' · Enter adds what you typed' : '';
    replace(status, values.length
      ? `${read !== undefined ? `Counts of the newest ${count(read)} runs` : 'Suggestions'}${hint}`
      : `No suggestions${input.value ? ' start with that' : ''}${hint}`);
  }

  function render() {
    replace(list, options.map((option, i) => {
      const reason = disabledReason(option.value);
      return h('li', {
        class: ['combo-option', i === active && 'is-active'], role: 'option', id: `${id}-${i}`,
        'aria-selected': String(i === active), 'aria-disabled': reason ? 'true' : null,
        title: reason || option.value, 'data-value': option.value,
        onpointerdown: (event) => event.preventDefault(), // keep the focus in the box
        onclick: () => pick(i),
      }, h('span', { class: 'combo-value' }, option.value),
      option.runs !== undefined ? h('span', { class: 'combo-count muted', 'data-count': option.runs }, `${count(option.runs)} ${option.runs === 1 ? 'run' : 'runs'}`) : null);
    }));
    input.setAttribute('aria-expanded', String(options.length > 0));
    if (active >= 0) input.setAttribute('aria-activedescendant', `${id}-${active}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function move(step) {
    if (!options.length) return;
    active = active < 0 ? (step > 0 ? 0 : options.length - 1) : (active + step + options.length) % options.length;
    render();
    list.children[active]?.scrollIntoView?.({ block: 'nearest' });
  }

  function pick(i) {
    const option = options[i];
    if (!option || disabledReason(option.value)) return;
    onPick(option.value);
  }

  input.addEventListener('input', ask);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      move(event.key === 'ArrowDown' ? 1 : -1);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (active >= 0) pick(active);
      else if (allowFree && input.value.trim()) onPick(input.value.trim());
    }
  });

  return {
    el,
    input,
    focus: () => input.focus(),
    /** Starts over, with a new source (another field, another query). */
    reset(next = current) {
      current.cancel?.();
      current = next;
      input.value = '';
      options = [];
      render();
      ask();
    },
    cancel: () => current.cancel?.(),
  };
}
