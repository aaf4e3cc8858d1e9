// Copy to clipboard: a button with feedback, and a code snippet with one. The Clipboard API only
// exists in secure contexts (https, localhost); a dashboard reached over plain http on another
// host falls back to the older selection-based copy.
import { h, icon, replace } from '../dom.js';
import { highlight } from './highlight.js';

const FEEDBACK_MS = 1600;

/** Copies `text` (a string or a function returning one). Resolves to whether it worked. */
export async function copyText(text) {
  const value = typeof text === 'function' ? text() : String(text);
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(value);
      return true;
    } catch {
      // permission refused: try the fallback
    }
  }
  return copyBySelection(value);
}

function copyBySelection(value) {
  const area = h('textarea', { class: 'copy-buffer', readonly: true, 'aria-hidden': 'true', tabindex: -1 });
  area.value = value;
  document.body.appendChild(area);
  const focused = document.activeElement;
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  focused?.focus?.();
  return ok;
}

/**
 * A button that copies `text` and says so ("Copied", or "Press Ctrl+C" when the browser
 * refused). `label` is shown next to the icon; without it the button is icon-only.
 */
export function copyButton(text, { label = 'Copy', what = 'text', compact = false, onFail } = {}) {
  const caption = h('span', { class: 'copy-caption' });
  const button = h('button', {
    type: 'button', class: ['button', 'small', 'copy-button', compact && 'icon-only'],
    title: `Copy ${what}`, 'aria-label': `Copy ${what}`, 'data-testid': 'copy',
  });
  let timer = 0;

  function set(state, words) {
    button.dataset.state = state;
    replace(button, icon(state === 'copied' ? 'check' : state === 'failed' ? 'alert' : 'copy'), compact ? null : replace(caption, words));
  }

  button.addEventListener('click', async (event) => {
    event.stopPropagation(); // a copy is all the click means, also inside a clickable row
    const ok = await copyText(text);
    clearTimeout(timer);
    set(ok ? 'copied' : 'failed', ok ? 'Copied' : 'Press Ctrl+C');
    button.setAttribute('aria-label', ok ? 'Copied' : `Copy failed: select the ${what} and press Ctrl+C`);
    if (!ok) onFail?.();
    timer = setTimeout(() => {
      set('idle', label);
      button.setAttribute('aria-label', `Copy ${what}`);
    }, FEEDBACK_MS);
  });
  set('idle', label);
  return button;
}

/**
 * A block of code with a title bar and a copy button. `language` (`python`, `js`, `sh`) colours
 * strings, comments and keywords; the text itself is only ever set as text.
 */
export function snippet(code, { language = 'sh', title, testid } = {}) {
  const pre = h('pre', { class: 'snippet-code', tabindex: 0 }, h('code', null, highlightNodes(code, language)));
  const selectAll = () => {
    const range = document.createRange();
    range.selectNodeContents(pre);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  };
  return h('div', { class: 'snippet', 'data-language': language, 'data-testid': testid || 'snippet' },
    h('div', { class: 'snippet-bar' },
      h('span', { class: 'snippet-title' }, title || LANGUAGE_NAMES[language] || language),
      copyButton(code, { what: `${(title || 'code').toLowerCase()} snippet`, onFail: selectAll })),
    pre);
}

const LANGUAGE_NAMES = { sh: 'Terminal', python: 'Python', js: 'JavaScript', ts: 'TypeScript' };

function highlightNodes(code, language) {
  return highlight(code, language).map(([kind, text]) => (kind === 'plain' ? text : h('span', { class: `tok-${kind}` }, text)));
}
