// The time range picker shared by the runs, threads and stats pages, and the pure functions that
// turn its value into what the API takes (`since:`/`until:` terms, or `from`/`to` parameters).
//
// A range is kept in the URL as one string: `all`, a relative span such as `15m`, `1h`, `24h`,
// `7d`, `30d`, or a custom `<from>..<to>` of RFC 3339 times (either side may be empty).
import { h, icon, replace, svg } from '../dom.js';

export const PRESETS = [
  { value: 'all', label: 'All time' },
  { value: '15m', label: 'Last 15 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
];

const RELATIVE = /^\d+(s|m|h|d|w)$/;
const CUSTOM_SEPARATOR = '..';
// Custom ranges may span years, so their labels say which.
const WHEN = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/**
 * The range a URL value stands for: `{kind: 'all'}`, `{kind: 'relative', value: '1h'}` or
 * `{kind: 'custom', from, to}` (ISO strings or null). Anything unreadable is `fallback`.
 */
export function parseRange(text, fallback = 'all') {
  return readRange(text) || readRange(fallback) || { kind: 'all' };
}

function readRange(text) {
  const value = typeof text === 'string' ? text.trim() : '';
  if (value === 'all') return { kind: 'all' };
  if (RELATIVE.test(value)) return { kind: 'relative', value };
  if (value.includes(CUSTOM_SEPARATOR)) {
    const [from, to] = value.split(CUSTOM_SEPARATOR, 2).map(isoOrNull);
    if (from || to) return { kind: 'custom', from, to };
  }
  return null;
}

/** The URL value of a range (the inverse of `parseRange`). */
export function formatRange(range) {
  if (range.kind === 'relative') return range.value;
  if (range.kind === 'custom') return `${range.from || ''}${CUSTOM_SEPARATOR}${range.to || ''}`;
  return 'all';
}

/** Query-language terms for a range: `since:1h`, `since:<iso> until:<iso>`, or ''. */
export function rangeTerms(range) {
  if (range.kind === 'relative') return `since:${range.value}`;
  if (range.kind === 'custom') {
    return [range.from && `since:${range.from}`, range.to && `until:${range.to}`].filter(Boolean).join(' ');
  }
  return '';
}

/**
 * A query with the range's terms put first, and how many characters they take, so that a parse
 * error's position can be mapped back onto what the user typed (`position - offset`). The range
 * goes first so that a trailing `NOT` or `-` in the user's text cannot swallow it.
 */
export function withRange(q, range) {
  const terms = rangeTerms(range);
  const text = (q || '').trim();
  if (!terms) return { q: text, offset: 0 };
  if (!text) return { q: terms, offset: 0 };
  return { q: `${terms} ${text}`, offset: terms.length + 1 };
}

/** `from`/`to` parameters for endpoints that take them (`/stats`): null when open-ended. */
export function rangeBounds(range) {
  if (range.kind === 'relative') return { from: range.value, to: null };
  if (range.kind === 'custom') return { from: range.from, to: range.to };
  return { from: null, to: null };
}

/** A short label for the picker's button. */
export function rangeLabel(range) {
  if (range.kind === 'all') return 'All time';
  if (range.kind === 'relative') {
    const preset = PRESETS.find((p) => p.value === range.value);
    return preset ? preset.label : `Last ${range.value}`;
  }
  if (!range.to) return `Since ${when(range.from)}`;
  if (!range.from) return `Until ${when(range.to)}`;
  return `${when(range.from)} → ${when(range.to)}`;
}

function when(iso) {
  return WHEN.format(new Date(iso));
}

/** `2026-11-01T10:00:00.000Z` → `2026-11-01T10:00:00Z`; anything not a time → null. */
function isoOrNull(text) {
  if (!text) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date.toISOString().replace('.000Z', 'Z');
}

/** An ISO time as the local `YYYY-MM-DDTHH:MM` a datetime-local input shows. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local input's value (local time) as an ISO time, or null. */
export function fromLocalInput(value) {
  return value ? isoOrNull(value) : null;
}

/**
 * The picker: a button showing the range and a menu of presets plus custom from/to times.
 * `value` is the URL form; `onChange(value)` receives the new URL form; `fallback` is the range
 * an empty or unreadable value stands for; `presets` may leave some out (e.g. no "All time").
 * Returns `{el, setValue(value), close()}`.
 */
export function timeRangePicker({ value = 'all', onChange, fallback = 'all', presets = PRESETS }) {
  let current = parseRange(value, fallback);
  const label = h('span', { class: 'timerange-label' });
  const button = h('button', {
    type: 'button', class: 'button timerange-button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false',
    'data-testid': 'timerange', title: 'Time range',
  }, clockIcon(), label, icon('chevronDown', { class: 'timerange-caret' }));
  const menu = h('div', { class: 'timerange-menu popover', role: 'dialog', 'aria-label': 'Time range', hidden: true });
  const el = h('div', { class: 'timerange' }, button, menu);

  function setValue(next) {
    current = parseRange(next, fallback);
    label.textContent = rangeLabel(current);
    button.classList.toggle('is-set', current.kind !== 'all');
  }

  function choose(range) {
    close();
    const next = formatRange(range);
    if (next === formatRange(current)) return;
    setValue(next);
    onChange?.(next);
  }

  function open() {
    renderMenu();
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    (menu.querySelector('[aria-checked="true"]') || menu.querySelector('button'))?.focus();
    document.addEventListener('pointerdown', outside, true);
  }

  function close() {
    if (menu.hidden) return;
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
  }

  function outside(event) {
    if (!el.contains(event.target)) close();
  }

  function renderMenu() {
    const selected = formatRange(current);
    const fromInput = h('input', { type: 'datetime-local', class: 'input', 'aria-label': 'From', value: toLocalInput(current.from) });
    const toInput = h('input', { type: 'datetime-local', class: 'input', 'aria-label': 'To', value: toLocalInput(current.to) });
    const problem = h('div', { class: 'timerange-problem', role: 'alert' });
    const apply = (event) => {
      event.preventDefault();
      const from = fromLocalInput(fromInput.value);
      const to = fromLocalInput(toInput.value);
      if (!from && !to) {
        problem.textContent = 'Pick a start, an end, or both.';
        return;
      }
      if (from && to && from > to) {
        problem.textContent = 'The start must be before the end.';
        return;
      }
      choose({ kind: 'custom', from, to });
    };
    replace(menu,
      h('div', { class: 'timerange-presets', role: 'menu' },
        presets.map((preset) => h('button', {
          type: 'button', class: 'timerange-preset', role: 'menuitemradio',
          'aria-checked': String(preset.value === selected), 'data-range': preset.value,
          onclick: () => choose(parseRange(preset.value)),
        }, h('span', null, preset.label), preset.value === selected ? icon('check') : null))),
      h('form', { class: 'timerange-custom', onsubmit: apply },
        h('div', { class: 'timerange-custom-title' }, 'Custom range'),
        h('label', null, h('span', null, 'From'), fromInput),
        h('label', null, h('span', null, 'To'), toInput),
        problem,
        h('button', { type: 'submit', class: 'button primary small' }, 'Apply')));
  }

  button.addEventListener('click', () => (menu.hidden ? open() : close()));
  el.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !menu.hidden) {
      event.stopPropagation();
      close();
      button.focus();
    } else if ((event.key === 'ArrowDown' || event.key === 'ArrowUp') && event.target.classList?.contains('timerange-preset')) {
      event.preventDefault();
      const items = [...menu.querySelectorAll('.timerange-preset')];
      const i = items.indexOf(event.target) + (event.key === 'ArrowDown' ? 1 : -1);
      items[(i + items.length) % items.length].focus();
    }
  });
  el.addEventListener('focusout', (event) => {
    if (event.relatedTarget && !el.contains(event.relatedTarget)) close();
  });

  setValue(value);
  return { el, setValue, close };
}

function clockIcon() {
  return svg('svg', { viewBox: '0 0 24 24', class: 'icon', 'aria-hidden': 'true', width: 16, height: 16 },
    svg('circle', { cx: 12, cy: 12, r: 8, fill: 'none', stroke: 'currentColor', 'stroke-width': 2 }),
    svg('path', { d: 'M12 8v4l3 2', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round' }));
}
