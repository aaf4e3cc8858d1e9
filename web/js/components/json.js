// A payload of any shape (an input, an output, tool arguments, an attribute value) as something a
// person can read: text stays text, JSON becomes a collapsible tree. Everything is built from text
// nodes, and nested levels are only built when opened, so a large payload costs little until read.
import { h, icon, setText } from '../dom.js';
import { parseMaybeJson } from '../format.js';
import { copyButton as copyAction } from './copy.js';

const TEXT_CLAMP = 1200; // characters of text shown before "Show more"
const STRING_CLAMP = 400; // characters of a string inside JSON shown before "…more"
const CHILD_PAGE = 200; // entries of an object or array built at a time
const INLINE_MAX = 64; // objects this short (as JSON) read best on one line

/**
 * `opts.open`: how many levels of JSON start open (default 2);
 * `opts.clamp`: characters of text shown before "Show more" (default 1200, 0 = never clamp);
 * `opts.copy`: show the copy button (default true);
 * `opts.empty`: what to show for null/undefined (default "—").
 */
export function renderPayload(value, opts = {}) {
  const parsed = parseMaybeJson(value);
  if (parsed === null || parsed === undefined) {
    return h('div', { class: 'payload payload-empty muted' }, opts.empty ?? '—');
  }
  if (typeof parsed === 'object') return jsonPayload(parsed, opts);
  return textPayload(String(parsed), opts);
}

function textPayload(text, opts) {
  const clamp = opts.clamp ?? TEXT_CLAMP;
  const body = h('div', { class: 'payload-text' });
  const root = h('div', { class: 'payload payload-text-wrap' }, body, opts.copy === false ? null : copyButton(() => text));
  root.append(clampInto(body, text, clamp) || '');
  return root;
}

/** What a copy of a payload holds: text as it is, anything else as indented JSON. */
export function payloadText(value) {
  const parsed = parseMaybeJson(value);
  if (parsed === null || parsed === undefined) return '';
  return typeof parsed === 'object' ? JSON.stringify(parsed, null, 2) : String(parsed);
}

/**
 * Any text a person may want to read whole but that can be any size (a string attribute, an
 * event's name, a key): the first `clamp` characters, then "Show more" on demand.
 * `opts.class` for the text's span.
 */
export function clampedText(text, { clamp = TEXT_CLAMP, class: cls } = {}) {
  const s = String(text);
  const body = h('span', { class: cls });
  const more = clampInto(body, s, clamp);
  return more ? h('span', { class: 'clamped' }, body, ' ', more) : body;
}

/**
 * The one clamp of the dashboard: puts `text` in `el`, only its first `clamp` characters when it
 * is longer, and returns the button that shows more (null when the text fits). Each click shows
 * ten times as much, so even a megabyte is shown in steps the page can lay out; the last step
 * shows all of it and then offers to show less. `quote` wraps the text in quotes (JSON strings).
 */
function clampInto(el, text, clamp, { quote = '' } = {}) {
  return clampSteps(text, clamp, (part, all) => setText(el, all ? `${quote}${part}${quote}` : `${quote}${part}…`));
}

/**
 * `text` drawn by `show(part, whole)` (markdown, say) under the same clamp: `part` is what to
 * draw now, `whole` whether it is all of `text`. Returns an element holding the drawing and its
 * "Show more"; the drawing is only ever made from the part shown, never from all of `text`.
 */
export function clampedView(text, { clamp = TEXT_CLAMP, show, class: cls } = {}) {
  const body = h('div', { class: 'clamped-body' });
  const more = clampSteps(String(text), clamp, (part, all) => body.replaceChildren(show(part, all)));
  return h('div', { class: ['clamped-view', cls] }, body, more);
}

/** The steps of the clamp: calls `show` with the part of `text` to show; returns "Show more" or null. */
function clampSteps(text, clamp, show) {
  if (!clamp || text.length <= clamp) {
    show(text, true);
    return null;
  }
  let shown = clamp;
  const more = h('button', { type: 'button', class: 'link-button payload-more', 'data-testid': 'show-more' });
  const total = text.length.toLocaleString('en-US');
  const render = () => {
    const all = shown >= text.length;
    show(all ? text : text.slice(0, shown), all);
    more.textContent = all ? 'Show less' : `Show more (${shown.toLocaleString('en-US')} of ${total} characters shown)`;
    more.dataset.expanded = all ? '1' : '0';
  };
  more.addEventListener('click', () => {
    shown = shown >= text.length ? clamp : Math.min(text.length, shown * 10);
    render();
  });
  render();
  return more;
}

function jsonPayload(value, opts) {
  const open = opts.open ?? 2;
  const tree = h('div', { class: 'json-tree', role: 'tree' }, jsonNode(null, value, 0, open));
  return h('div', { class: 'payload payload-json' },
    tree,
    opts.copy === false ? null : copyButton(() => JSON.stringify(value, null, 2)));
}

/** One key/value line; objects and arrays get a caret and build their children on first open. */
function jsonNode(key, value, depth, open) {
  const keyEl = key === null ? null : h('span', { class: 'json-key' }, typeof key === 'number' ? String(key) : shortKey(key), h('span', { class: 'json-punct' }, ': '));
  if (value === null || typeof value !== 'object') {
    return h('div', { class: 'json-line', role: 'treeitem' }, keyEl, scalar(value));
  }
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (entries.length === 0 || isShort(value)) {
    return h('div', { class: 'json-line', role: 'treeitem' }, keyEl, inline(value));
  }
  const caret = h('span', { class: 'json-caret' }, icon('chevronRight', { size: 12 }));
  const summary = h('span', { class: 'json-summary' }, summaryText(value, isArray, entries.length));
  const toggle = h('button', { type: 'button', class: 'json-toggle', 'aria-expanded': 'false' },
    caret, keyEl, h('span', { class: 'json-punct' }, isArray ? '[' : '{'), summary,
    h('span', { class: 'json-punct json-inline-close' }, isArray ? ']' : '}'));
  const children = h('div', { class: 'json-children', role: 'group' });
  const close = h('div', { class: 'json-close json-punct' }, isArray ? ']' : '}');
  const node = h('div', { class: 'json-node', role: 'treeitem' }, toggle, children, close);
  let built = false;
  const setOpen = (on) => {
    if (on && !built) {
      buildChildren(children, entries, depth, open);
      built = true;
    }
    node.classList.toggle('open', on);
    toggle.setAttribute('aria-expanded', String(on));
  };
  toggle.addEventListener('click', (event) => {
    // Alt-click opens or closes the whole subtree, as in browser devtools.
    const on = !node.classList.contains('open');
    setOpen(on);
    if (event.altKey) setSubtree(node, on);
  });
  node.jsonSetOpen = setOpen;
  setOpen(depth < open);
  return node;
}

function isShort(value) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch {
    return false;
  }
  return typeof text === 'string' && text.length <= INLINE_MAX && !text.includes('\\n');
}

/** A short object or array on one line: `{ id: "A-17", qty: 2 }`. */
function inline(value) {
  if (value === null || typeof value !== 'object') return scalar(value);
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  const out = h('span', { class: 'json-inline' }, h('span', { class: 'json-punct' }, isArray ? '[' : '{'));
  entries.forEach(([k, v], i) => {
    out.append(i ? h('span', { class: 'json-punct' }, ', ') : ' ');
    if (!isArray) out.append(h('span', { class: 'json-key' }, k), h('span', { class: 'json-punct' }, ': '));
    out.append(inline(v));
  });
  out.append(entries.length ? ' ' : '', h('span', { class: 'json-punct' }, isArray ? ']' : '}'));
  return out;
}

function setSubtree(node, on) {
  for (const child of node.querySelectorAll(':scope > .json-children > .json-node')) {
    child.jsonSetOpen(on);
    setSubtree(child, on);
  }
}

function buildChildren(container, entries, depth, open, start = 0) {
  const end = Math.min(entries.length, start + CHILD_PAGE);
  for (let i = start; i < end; i += 1) {
    const [k, v] = entries[i];
    container.append(jsonNode(k, v, depth + 1, open));
  }
  if (end < entries.length) {
    const more = h('button', { type: 'button', class: 'link-button json-more' }, `Show ${Math.min(CHILD_PAGE, entries.length - end)} more of ${entries.length - end}`);
    more.addEventListener('click', () => {
      more.remove();
      buildChildren(container, entries, depth, open, end);
    });
    container.append(more);
  }
}

/** A key is cut rather than clamped (it can sit in a toggle button); the copy button has it whole. */
function shortKey(key, max = STRING_CLAMP) {
  return key.length > max ? `${key.slice(0, max)}…` : key;
}

function summaryText(value, isArray, n) {
  if (isArray) return `${n} item${n === 1 ? '' : 's'}`;
  const keys = Object.keys(value);
  const shown = keys.slice(0, 4).map((k) => shortKey(k, 40)).join(', ');
  return keys.length > 4 ? `${shown}, … ${keys.length} keys` : shown;
}

function scalar(value) {
  if (typeof value === 'string') return stringValue(value);
  if (value === null) return h('span', { class: 'json-null' }, 'null');
  if (typeof value === 'number') return h('span', { class: 'json-number' }, String(value));
  if (typeof value === 'boolean') return h('span', { class: 'json-bool' }, String(value));
  return h('span', { class: 'json-string' }, String(value));
}

function stringValue(s) {
  const el = h('span', { class: 'json-string' });
  const more = clampInto(el, s, STRING_CLAMP, { quote: '"' });
  return more ? h('span', null, el, ' ', more) : el;
}

/**
 * copy.js's icon-only copy button, as payloads and ids use it: `getText` is called on click so
 * large payloads are not stringified upfront; `label` reads "Copy span ID".
 */
export function copyButton(getText, label = 'Copy value') {
  return copyAction(getText, { compact: true, what: label.replace(/^Copy\s*/, '') || 'value' });
}
