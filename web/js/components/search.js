// The query-language search bar shared by the runs, threads and stats pages: submit on Enter,
// a menu of examples and fields to learn the language from, and parse errors shown under the
// bar with the offending character marked in the query.
//
// `/` focuses the bar from anywhere (app.js looks for `[data-search-input]`).
import { h, icon, replace } from '../dom.js';

/** Examples shown in the menu; a `template` is inserted for editing rather than run. */
export const EXAMPLES = [
  { query: 'status:error', hint: 'failed runs' },
  { query: 'agent:support-agent', hint: 'one agent, sub-agents included' },
  { query: 'model:gpt-4o', hint: 'a model was called' },
  { query: 'tool:web_search', hint: 'a tool was called' },
  { query: 'thread:', hint: 'one conversation', template: true },
  { query: 'duration>5s', hint: 'slower than 5 seconds' },
  { query: 'tokens>1000', hint: 'more than 1,000 tokens' },
  { query: 'cost>0.01', hint: 'cost over one cent' },
  { query: 'signal:loop', hint: 'a tool called 3+ times in a row alike' },
  { query: 'signal:loop,error_streak', hint: 'a loop, or calls failed in a row' },
  { query: 'signal.severity:warning,critical', hint: 'a signal worth a look' },
  { query: 'has:signal', hint: 'any signal' },
  { query: '"return window"', hint: 'a phrase in inputs or outputs' },
  { query: 'meta.plan=plus_monthly', hint: 'a metadata value' },
  { query: '-tag:canary', hint: 'leave out runs tagged canary' },
  { query: 'experiment:', hint: 'the runs of an experiment', template: true },
  { query: 'dataset:', hint: 'runs answering a dataset’s cases', template: true },
];

/** The fields of the query language (crates/lemma-core/src/query), with what they insert. */
export const FIELDS = [
  ['agent', 'agent:'], ['status', 'status:'], ['model', 'model:'], ['provider', 'provider:'],
  ['tool', 'tool:'], ['kind', 'kind:'], ['name', 'name:'], ['thread', 'thread:'], ['user', 'user:'],
  ['session', 'session:'], ['env', 'env:'], ['service', 'service:'], ['tag', 'tag:'],
  ['signal', 'signal:'], ['signal.severity', 'signal.severity:'], ['experiment', 'experiment:'], ['dataset', 'dataset:'], ['case', 'case:'],
  ['meta.<key>', 'meta.'], ['attr.<key>', 'attr.'], ['duration', 'duration>'],
  ['tokens', 'tokens>'], ['input_tokens', 'input_tokens>'], ['output_tokens', 'output_tokens>'],
  ['cost', 'cost>'], ['spans', 'spans>'], ['errors', 'errors>'], ['since', 'since:'],
  ['until', 'until:'], ['has', 'has:'], ['run', 'run:'], ['span', 'span:'],
].map(([name, insert]) => ({ name, insert }));

const POSITIONED = /^invalid query at position (\d+): ([\s\S]*)$/;

/**
 * The server's "invalid query at position N: …" as `{position, detail}`, with the position
 * moved back by `offset` characters (terms the page put before the user's text) and null when
 * the message has no position or it falls outside the user's text.
 */
export function queryError(message, offset = 0) {
  const m = POSITIONED.exec(String(message || ''));
  if (!m) return { position: null, detail: String(message || 'The query could not be read.') };
  const position = Number(m[1]) - offset;
  return { position: position >= 0 ? position : null, detail: m[2] };
}

/**
 * Splits `text` around the character at `position` (a count of Unicode characters, as the
 * server counts): `{before, at, after}`; `at` is '' when the position is at the end.
 */
export function markAt(text, position) {
  const chars = Array.from(String(text));
  const at = Math.max(0, Math.min(position, chars.length));
  return {
    before: chars.slice(0, at).join(''),
    at: chars[at] ?? '',
    after: chars.slice(at + 1).join(''),
  };
}

/** Adds a term to a query, unless it is already one of its terms. */
export function addTerm(q, term) {
  const text = String(q || '').trim();
  if (!text) return term;
  if (text.split(/\s+/).includes(term)) return text;
  return `${text} ${term}`;
}

/**
 * The search bar. `onSubmit(q)` runs on Enter and when an example is picked.
 * Returns `{el, input, setValue(q), setError(err, offset), clearError(), focus()}`; `setError`
 * takes an ApiError (or a message) and the offset from `withRange` in timerange.js.
 */
export function searchBar({ value = '', onSubmit, placeholder = 'Search runs…  e.g. status:error agent:support-agent', examples = EXAMPLES, fields = FIELDS, label = 'Search' }) {
  const input = h('input', {
    type: 'text', class: 'search-input', 'data-search-input': true, 'data-testid': 'search-input',
    'aria-label': label, placeholder, spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off',
    'aria-haspopup': 'dialog', 'aria-expanded': 'false', value,
  });
  const clear = h('button', { type: 'button', class: 'search-clear icon-button', title: 'Clear', 'aria-label': 'Clear the search' }, icon('x', { size: 14 }));
  const help = h('button', { type: 'button', class: 'search-help icon-button', title: 'Examples and fields', 'aria-label': 'Show query examples and fields', 'data-testid': 'search-help' }, helpGlyph());
  const slash = h('kbd', { class: 'search-kbd', title: 'Press / to search' }, '/');
  const form = h('form', { class: 'search-bar', role: 'search', onsubmit: submit },
    icon('search', { class: 'search-icon' }), input, clear, slash, help);
  const menu = h('div', { class: 'search-menu popover', role: 'dialog', 'aria-label': 'Query examples', hidden: true }, menuBody());
  const error = h('div', { class: 'search-error', role: 'alert', 'data-testid': 'search-error', hidden: true });
  const el = h('div', { class: 'search' }, h('div', { class: 'search-anchor' }, form, menu), error);

  function submit(event) {
    event?.preventDefault();
    closeMenu();
    onSubmit?.(input.value.trim());
  }

  function setValue(q) {
    if (input.value !== q) input.value = q || '';
    syncClear();
  }

  function syncClear() {
    clear.hidden = !input.value;
  }

  function use(text, run) {
    setValue(addTerm(input.value, text));
    input.focus();
    const end = input.value.length;
    input.setSelectionRange(end, end);
    if (run) submit();
  }

  function menuBody() {
    return [
      h('div', { class: 'search-menu-col' },
        h('div', { class: 'search-menu-title' }, 'Examples'),
        h('div', { class: 'search-examples' },
          examples.map((ex) => h('button', {
            type: 'button', class: 'search-option search-example', 'data-query': ex.query,
            onclick: () => use(ex.query, !ex.template),
          }, h('code', null, ex.template ? `${ex.query}…` : ex.query), h('span', { class: 'muted' }, ex.hint))))),
      h('div', { class: 'search-menu-col' },
        h('div', { class: 'search-menu-title' }, 'Fields'),
        h('div', { class: 'search-fields' },
          fields.map((f) => h('button', {
            type: 'button', class: 'search-option search-field', title: `Insert ${f.insert}`,
            onclick: () => use(f.insert, false),
          }, f.name))),
        h('div', { class: 'search-syntax' },
          h('div', null, 'Terms are combined with AND; ', h('code', null, '-term'), ' leaves out.'),
          h('div', null, h('code', null, 'a,b'), ' matches either value; ', h('code', null, '*'), ' is a wildcard.'),
          h('div', null, 'Numbers: ', h('code', null, '>'), ' ', h('code', null, '>='), ' ', h('code', null, '<'), ' ', h('code', null, '<='), ' ', h('code', null, '='), ' ', h('code', null, '!='), '; durations ', h('code', null, '500ms'), ' ', h('code', null, '2m'), '.'),
          h('div', { class: 'muted' }, h('kbd', null, 'Enter'), ' search · ', h('kbd', null, 'Esc'), ' close'))),
    ];
  }

  function openMenu() {
    if (!menu.hidden) return;
    menu.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', outside, true);
  }

  function closeMenu() {
    if (menu.hidden) return;
    menu.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
  }

  function outside(event) {
    if (!el.contains(event.target)) closeMenu();
  }

  function moveInMenu(step) {
    const items = [...menu.querySelectorAll('.search-option')];
    const i = items.indexOf(document.activeElement);
    const next = i < 0 ? (step > 0 ? 0 : items.length - 1) : i + step;
    if (next < 0 || next >= items.length) input.focus();
    else items[next].focus();
  }

  function setError(err, offset = 0) {
    const { position, detail } = queryError(err?.message ?? err, offset);
    input.setAttribute('aria-invalid', 'true');
    form.classList.add('invalid');
    const text = input.value;
    const shown = position === null ? null : markAt(text, position);
    error.dataset.position = position === null ? '' : String(position);
    replace(error,
      icon('alert', { class: 'search-error-icon' }),
      h('div', { class: 'search-error-body' },
        h('div', { class: 'search-error-message' },
          h('strong', null, position === null ? 'Invalid query: ' : `Invalid query at character ${position + 1}: `), detail),
        shown && h('code', { class: 'search-error-query', 'data-testid': 'search-error-query' },
          shown.before,
          h('mark', { class: ['search-error-mark', !shown.at && 'at-end'] }, shown.at || ' '),
          shown.after)));
    error.hidden = false;
    if (shown && document.activeElement === input) {
      const start = shown.before.length;
      input.setSelectionRange(start, start + shown.at.length);
    }
  }

  function clearError() {
    error.hidden = true;
    replace(error);
    input.removeAttribute('aria-invalid');
    form.classList.remove('invalid');
  }

  input.addEventListener('input', () => {
    syncClear();
    if (!error.hidden) clearError();
    if (input.value) closeMenu();
  });
  input.addEventListener('focus', () => {
    if (!input.value) openMenu();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      openMenu();
      moveInMenu(1);
    }
  });
  clear.addEventListener('click', () => {
    setValue('');
    clearError();
    input.focus();
    onSubmit?.('');
  });
  help.addEventListener('click', () => {
    if (menu.hidden) {
      openMenu();
      menu.querySelector('.search-option')?.focus();
    } else closeMenu();
  });
  menu.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      moveInMenu(event.key === 'ArrowDown' ? 1 : -1);
    }
  });
  el.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !menu.hidden) {
      event.stopPropagation();
      closeMenu();
      input.focus();
    }
  });
  el.addEventListener('focusout', (event) => {
    if (event.relatedTarget && !el.contains(event.relatedTarget)) closeMenu();
  });

  syncClear();
  return { el, input, setValue, setError, clearError, focus: () => input.focus(), close: closeMenu };
}

function helpGlyph() {
  return h('span', { class: 'search-help-glyph', 'aria-hidden': 'true' }, '?');
}
