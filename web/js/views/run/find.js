// Search inside the run: a query as span search takes it (status:error, kind:tool, name:…,
// words from inputs and outputs) sent to GET /runs/{id}/find, whose matches come in tree order
// with their positions. Enter jumps to the next match (Shift+Enter the previous one), the arrows
// beside the box too; matches past the first answer are fetched when reached.
import { h, icon } from '../../dom.js';
import * as api from '../../api.js';
import * as fmt from '../../format.js';

const LIMIT = 1000;

/**
 * `onMatch({span_id, position})` selects a match; `onResults(ids)` marks the loaded matches
 * (an empty Set when cleared); `from()` is the position to search from (the cursor).
 */
export function createFind(runId, { onMatch, onResults, from }) {
  const input = h('input', {
    type: 'search', class: 'run-find-input', placeholder: 'Find in run: status:error, tool:…, words',
    'aria-label': 'Find spans in this run', 'data-testid': 'run-find-input', 'data-search-input': '', spellcheck: 'false',
  });
  const count = h('span', { class: 'run-find-count muted small num', 'data-testid': 'run-find-count', 'aria-live': 'polite' });
  const error = h('span', { class: 'run-find-error small', 'data-testid': 'run-find-error', hidden: true });
  const prev = h('button', { type: 'button', class: 'icon-button', title: 'Previous match (Shift+Enter)', 'aria-label': 'Previous match', 'data-testid': 'run-find-prev', onclick: () => step(-1) }, icon('chevronRight', { size: 14 }));
  const next = h('button', { type: 'button', class: 'icon-button', title: 'Next match (Enter)', 'aria-label': 'Next match', 'data-testid': 'run-find-next', onclick: () => step(1) }, icon('chevronRight', { size: 14 }));
  prev.classList.add('run-find-prev');
  const el = h('div', { class: 'run-find', role: 'search' }, input, count, prev, next, error);

  let query = '';
  let matches = []; // {span_id, position} in tree order
  let total = 0;
  let current = -1;
  let busy = null;

  async function search(text) {
    query = text;
    matches = [];
    total = 0;
    current = -1;
    error.hidden = true;
    if (!text) {
      count.textContent = '';
      onResults(new Set());
      return;
    }
    count.textContent = 'Searching…';
    try {
      const answer = await api.get(`/runs/${encodeURIComponent(runId)}/find`, { q: text, limit: LIMIT });
      if (query !== text) return;
      matches = answer.matches || [];
      total = answer.total || 0;
      onResults(new Set(matches.map((m) => m.span_id)));
      if (!matches.length) {
        count.textContent = 'No match';
        return;
      }
      // The first match at or after the cursor, as a text editor's find does.
      const start = from() ?? -1;
      const at = matches.findIndex((m) => m.position >= start);
      go(at < 0 ? 0 : at);
    } catch (err) {
      if (query !== text) return;
      count.textContent = '';
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  /** The matches after the last one loaded, when the answer left some out. */
  async function more() {
    const last = matches[matches.length - 1];
    const answer = await api.get(`/runs/${encodeURIComponent(runId)}/find`, { q: query, limit: LIMIT, from: last.position + 1 });
    matches = matches.concat(answer.matches || []);
    onResults(new Set(matches.map((m) => m.span_id)));
  }

  async function step(delta) {
    const text = input.value.trim();
    if (text !== query) return search(text);
    if (!matches.length || busy) return undefined;
    let target = current + delta;
    if (target >= matches.length && matches.length < total) {
      busy = more().finally(() => { busy = null; });
      await busy;
    }
    if (target >= matches.length) target = 0;
    if (target < 0) target = matches.length - 1;
    return go(target);
  }

  function go(index) {
    current = index;
    count.textContent = `${fmt.count(index + 1)} / ${fmt.count(total)}`;
    onMatch(matches[index]);
  }

  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      step(event.shiftKey ? -1 : 1);
    } else if (event.key === 'Escape' && input.value) {
      event.preventDefault();
      event.stopPropagation();
      input.value = '';
      search('');
    }
  });
  input.addEventListener('search', () => { if (!input.value) search(''); });

  return { el };
}
