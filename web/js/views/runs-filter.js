// "+ Filter": builds a query-language term without knowing the language: pick a field, then a
// value suggested from the project's runs (with how many runs hold it) or a number to compare
// with. The term is added to the query box, which stays the one source of truth; the chips
// under it are the field terms the query holds, each removable.
import { h, icon, replace } from '../dom.js';
import { combobox } from '../components/combobox.js';
import { menuButton } from '../components/menu-button.js';
import { valueSource } from '../components/value-source.js';
import { buildTerm, isUsableMetaKey, parseTerms, removeTerm } from './runs-terms.js';
import { STATIC, staticSource as fixedSource } from './runs-complete.js';
import { namedSource } from './experiments-values.js';

const SUGGESTIONS = 20;

/** The fields the builder offers. `values` fields are suggested by `GET /values?field=`. */
export const FILTER_FIELDS = [
  { field: 'agent', label: 'Agent', kind: 'values' },
  { field: 'model', label: 'Model', kind: 'values' },
  { field: 'tool', label: 'Tool', kind: 'values' },
  { field: 'user', label: 'User', kind: 'values' },
  { field: 'thread', label: 'Thread', kind: 'values' },
  { field: 'tag', label: 'Tag', kind: 'values' },
  { field: 'env', label: 'Environment', kind: 'values' },
  { field: 'status', label: 'Status', kind: 'status' },
  { field: 'signal', label: 'Signal', kind: 'signal' },
  { field: 'signal.severity', label: 'Signal severity', kind: 'severity' },
  { field: 'experiment', label: 'Experiment', kind: 'named' },
  { field: 'dataset', label: 'Dataset', kind: 'named' },
  { field: 'meta', label: 'Metadata…', kind: 'meta' },
  { field: 'duration', label: 'Duration', kind: 'number', example: '5s', hint: '500ms, 2s, 1m or 1h' },
  { field: 'cost', label: 'Cost', kind: 'number', example: '0.01', hint: 'US dollars, e.g. 0.01' },
  { field: 'tokens', label: 'Tokens', kind: 'number', example: '1000', hint: 'a count, e.g. 1000 or 1.5k' },
  { field: 'errors', label: 'Errors', kind: 'number', example: '0', hint: 'failed spans, e.g. 0' },
];

const NUMBER = '(?:\\d+\\.?\\d*|\\.\\d+)';
const NUMBER_FORMS = {
  duration: new RegExp(`^${NUMBER}(?:ms|s|m|h|d)?$`, 'i'),
  cost: new RegExp(`^\\$?${NUMBER}$`),
  tokens: new RegExp(`^${NUMBER}[km]?$`, 'i'),
  errors: new RegExp(`^${NUMBER}$`),
};
const STATUSES = ['ok', 'error', 'unset'];
const COMPARISONS = [['>', 'more than'], ['>=', 'at least'], ['<', 'less than'], ['<=', 'at most']];
const UNUSABLE_KEY = 'A query cannot name this key: it holds a space, a quote or one of / : = < > !';

/** Why a number cannot follow `field>`, or null when it can. */
export function numberProblem(field, text) {
  const spec = FILTER_FIELDS.find((f) => f.field === field);
  const value = String(text || '').trim();
  if (!value) return 'Type a number.';
  return NUMBER_FORMS[field]?.test(value) ? null : `Expected ${spec?.hint || 'a number'}.`;
}

/**
 * The builder. `scope(field)` is the query suggestions are counted in (the page's query without
 * terms on that field, so a field's other values still show); `fetchValues(field, prefix, q,
 * signal)` reads `/values`; `onAdd(term)` puts a term in the query.
 */
export function filterBuilder({ scope, fetchValues, onAdd }) {
  const body = h('div', { class: 'filter-builder' });
  let combo = null;
  const button = h('button', { type: 'button', class: 'button filter-add', 'data-testid': 'add-filter', title: 'Add a filter' },
    h('span', { class: 'filter-plus', 'aria-hidden': 'true' }, '+'), 'Filter');
  const menu = menuButton({
    button, panel: body, label: 'Add a filter', className: 'filter-menu',
    onOpen: () => fieldStep(),
    onClose: () => combo?.cancel(),
  });

  function source(field) {
    return valueSource({ limit: SUGGESTIONS, fetchPage: (prefix, signal) => fetchValues(field, prefix, scope(field), signal) });
  }

  function add(term) {
    menu.close({ focus: true });
    onAdd(term);
  }

  function fieldStep() {
    combo?.cancel();
    combo = null;
    const list = h('div', { class: 'filter-fields', role: 'group', 'aria-label': 'Fields', onkeydown: moveAmongFields },
      FILTER_FIELDS.map((f) => h('button', {
        type: 'button', class: 'filter-field', 'data-field': f.field, onclick: () => choose(f),
      }, f.label, f.kind === 'number' ? h('span', { class: 'muted' }, ' > <') : null)));
    replace(body, h('div', { class: 'filter-title' }, 'Filter runs by'), list);
    requestAnimationFrame(() => list.querySelector('button')?.focus());
  }

  function moveAmongFields(event) {
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const items = [...body.querySelectorAll('.filter-field')];
    const i = items.indexOf(document.activeElement);
    items[(i + step + items.length) % items.length]?.focus();
  }

  function choose(spec) {
    if (spec.kind === 'number') numberStep(spec);
    else if (spec.kind === 'meta') metaKeyStep();
    else if (spec.kind === 'status') valueStep(spec.field, 'Status', staticSource(STATUSES), false);
    // Signal names an app writes itself are not in the list: any name may be typed.
    else if (spec.kind === 'signal') valueStep(spec.field, 'Signal', fixedSource(STATIC.signal), true);
    else if (spec.kind === 'severity') valueStep(spec.field, 'Signal severity', fixedSource(STATIC['signal.severity']), false);
    else if (spec.kind === 'named') valueStep(spec.field, spec.label, namedSource(spec.field), true);
    else valueStep(spec.field, spec.label, source(spec.field), true);
  }

  function header(title) {
    return h('div', { class: 'filter-step-header' },
      h('button', { type: 'button', class: 'icon-button filter-back', 'aria-label': 'Back to the fields', title: 'Back', onclick: fieldStep },
        icon('chevronRight', { class: 'flip', size: 14 })),
      h('span', { class: 'filter-title' }, title));
  }

  function valueStep(field, title, values, allowFree) {
    const negate = h('select', { class: 'filter-negate', 'aria-label': 'Match', 'data-testid': 'filter-negate' },
      h('option', { value: 'is' }, 'is'), h('option', { value: 'not' }, 'is not'));
    combo?.cancel();
    combo = combobox({
      label: `${title} value`, placeholder: 'Type to search values…', source: values, allowFree, testid: 'filter-value',
      onPick: (value) => add(buildTerm({ field, value, negated: negate.value === 'not' })),
    });
    replace(body, header(title), h('div', { class: 'filter-row' }, negate, combo.el));
    combo.reset(values);
    combo.focus();
  }

  function metaKeyStep() {
    const problem = h('div', { class: 'filter-problem', role: 'alert' });
    combo?.cancel();
    combo = combobox({
      label: 'Metadata key', placeholder: 'Type to search keys…', source: source('meta'), testid: 'filter-key',
      disabledReason: (key) => (isUsableMetaKey(key) ? null : UNUSABLE_KEY),
      onPick: (key) => {
        if (!isUsableMetaKey(key)) problem.textContent = UNUSABLE_KEY;
        else valueStep(`meta.${key}`, `meta.${key}`, source(`meta.${key}`), true);
      },
    });
    replace(body, header('Metadata key'), combo.el, problem);
    combo.reset();
    combo.focus();
  }

  function numberStep(spec) {
    const op = h('select', { class: 'filter-op', 'aria-label': 'Comparison', 'data-testid': 'filter-op' },
      COMPARISONS.map(([value, text]) => h('option', { value }, `${value}  ${text}`)));
    const input = h('input', { type: 'text', class: 'input', 'aria-label': `${spec.label} value`, placeholder: spec.example, 'data-testid': 'filter-number', autocomplete: 'off' });
    const problem = h('div', { class: 'filter-problem', role: 'alert' });
    const submit = (event) => {
      event.preventDefault();
      const why = numberProblem(spec.field, input.value);
      if (why) {
        problem.textContent = why;
        input.focus();
        return;
      }
      add(buildTerm({ field: spec.field, op: op.value, value: input.value }));
    };
    replace(body, header(spec.label),
      h('form', { class: 'filter-number-form', onsubmit: submit },
        h('div', { class: 'filter-row' }, op, input, h('button', { type: 'submit', class: 'button primary small' }, 'Add')),
        h('div', { class: 'muted filter-hint' }, spec.hint), problem));
    input.focus();
  }

  return { el: menu.el, close: () => menu.close() };
}

/** Suggestions from a fixed list (statuses), answered at once. */
function staticSource(values) {
  return {
    request(prefix, onAnswer) {
      const p = prefix.toLowerCase();
      onAnswer({ prefix, values: values.filter((v) => v.startsWith(p)).map((value) => ({ value })), answer: null });
    },
    cancel() {},
  };
}

/** The query's field terms as chips; removing one takes that term out of the query. */
export function filterChips(q, onChange) {
  const terms = parseTerms(q).filter((t) => t.field);
  if (!terms.length) return null;
  return h('ul', { class: 'filter-chips', 'aria-label': 'Filters in the query', 'data-testid': 'filter-chips' },
    terms.map((term) => h('li', { class: ['filter-chip', term.negated && 'is-negated'], 'data-term': term.text },
      h('span', { class: 'filter-chip-text', title: term.text }, term.text),
      h('button', {
        type: 'button', class: 'filter-chip-remove', 'aria-label': `Remove ${term.text}`, title: 'Remove',
        onclick: () => onChange(removeTerm(q, term)),
      }, icon('x', { size: 12 })))));
}
