// Value completion in the query box: typing `agent:sup` lists the agents starting with "sup"
// (with their run counts) under the bar; arrow keys choose, Enter or Tab puts the value in,
// quoted when it must be, and Escape closes the list. The text stays the user's to edit.
// Signal names and severities are suggested from fixed lists (`/values` has no such field), and
// experiments, datasets and cases from the project's own lists (experiments-values.js).
import { h, replace } from '../dom.js';
import { count } from '../format.js';
import { KNOWN_SIGNALS, SEVERITIES } from '../components/signals.js';
import { valueSource } from '../components/value-source.js';
import { quoteValue } from './runs-terms.js';
import { NAMED_FIELDS, namedSource } from './experiments-values.js';

// Fields with suggestions, as typed → as `/values` names them (or STATIC or NAMED_FIELDS list them).
const FIELDS = {
  agent: 'agent', model: 'model', tool: 'tool', user: 'user', thread: 'thread', tag: 'tag', tags: 'tag', env: 'env', environment: 'env',
  signal: 'signal', 'signal.severity': 'signal.severity', experiment: 'experiment', dataset: 'dataset', case: 'case',
};
const WORD = /(^|\s)(-?)(signal\.severity|[A-Za-z_]+|meta\.[^\s"/:=<>!]+)(:|=)([^\s",]*)$/i;

/** Values known without asking: `{value, hint}`. */
export const STATIC = {
  signal: KNOWN_SIGNALS.map((s) => ({ value: s.name, hint: s.hint })),
  'signal.severity': SEVERITIES.map((value) => ({ value, hint: { critical: 'needs attention now', warning: 'worth a look', info: 'for the record' }[value] })),
};

/** A fixed list as a value source: the values starting with what was typed, answered at once. */
export function staticSource(values) {
  return {
    request(prefix, onAnswer) {
      const p = String(prefix).toLowerCase();
      onAnswer({ prefix, values: values.filter((v) => v.value.toLowerCase().startsWith(p)), answer: null });
    },
    cancel() {},
  };
}

/**
 * The field being typed at the caret: `{field, prefix, start}` where `start` is where its value
 * begins, or null when the caret is not at the end of an unfinished `field:value`.
 */
export function fieldAtCaret(text, caret) {
  const before = String(text).slice(0, caret);
  const after = String(text).slice(caret);
  if (after && !/^\s/.test(after)) return null;
  const m = WORD.exec(before);
  if (!m) return null;
  const typed = m[3].toLowerCase();
  const name = typed.startsWith('meta.') ? `meta.${m[3].slice(5)}` : Object.hasOwn(FIELDS, typed) ? FIELDS[typed] : null;
  if (!name) return null;
  return { field: name, prefix: m[5], start: caret - m[5].length };
}

/** Attaches completion to a search bar (`searchBar()` of components/search.js). */
export function attachCompletion(search, { scope, fetchValues }) {
  const input = search.input;
  const list = h('ul', { class: 'popover combo-list query-complete', role: 'listbox', id: 'query-complete', 'aria-label': 'Values', hidden: true, 'data-testid': 'query-complete' });
  search.el.querySelector('.search-anchor')?.append(list);
  input.setAttribute('aria-controls', 'query-complete');
  const sources = new Map(); // field → value source, for the query it was made for
  let at = null;
  let options = [];
  let active = -1;

  function sourceFor(field) {
    const q = scope(field);
    const key = `${field}\u0001${q}`;
    if (!sources.has(key)) {
      sources.clear();
      sources.set(key, STATIC[field] ? staticSource(STATIC[field])
        : NAMED_FIELDS.has(field) ? namedSource(field, input.value)
          : valueSource({ fetchPage: (prefix, signal) => fetchValues(field, prefix, q, signal) }));
    }
    return sources.get(key);
  }

  function update() {
    at = fieldAtCaret(input.value, input.selectionStart ?? input.value.length);
    if (!at) {
      close();
      return;
    }
    const asked = at;
    sourceFor(at.field).request(at.prefix, ({ values }) => {
      if (asked !== at) return;
      options = (values || []).filter((v) => v.value !== at.prefix).slice(0, 10);
      active = -1;
      render();
    });
  }

  function render() {
    list.hidden = options.length === 0;
    replace(list, options.map((o, i) => h('li', {
      class: ['combo-option', i === active && 'is-active'], role: 'option', id: `query-complete-${i}`,
      'aria-selected': String(i === active), 'data-value': o.value, title: o.value,
      onpointerdown: (event) => event.preventDefault(),
      onclick: () => pick(i),
    }, h('span', { class: 'combo-value' }, o.value), h('span', { class: 'combo-count muted' },
      typeof o.runs === 'number' ? `${count(o.runs)} ${o.runs === 1 ? 'run' : 'runs'}` : o.hint || ''))));
    if (active >= 0) input.setAttribute('aria-activedescendant', `query-complete-${active}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function close() {
    options = [];
    active = -1;
    render();
  }

  function pick(i) {
    const option = options[i];
    if (!option || !at) return;
    const caret = input.selectionStart ?? input.value.length;
    const value = `${quoteValue(option.value)} `;
    input.value = `${input.value.slice(0, at.start)}${value}${input.value.slice(caret).replace(/^\s+/, '')}`;
    const end = at.start + value.length;
    input.setSelectionRange(end, end);
    close();
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  input.addEventListener('input', update);
  input.addEventListener('blur', close);
  // Captured above the input, so the bar's own keys (Enter runs, ↓ opens the examples) wait
  // while the list is open.
  search.el.addEventListener('keydown', (event) => {
    if (list.hidden || event.target !== input) return;
    const step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
    if (step) active = (active + step + options.length + (active < 0 && step < 0 ? 1 : 0)) % options.length;
    else if ((event.key === 'Enter' || event.key === 'Tab') && active >= 0) pick(active);
    else if (event.key === 'Escape') close();
    else return;
    event.preventDefault();
    event.stopPropagation();
    if (!list.hidden) render();
  }, true);

  return { close };
}
