// Cases pasted or uploaded as JSON lines or CSV: a text box, a file picker that fills it, and the
// format (guessed from the file's name or the text until the user picks one). The text goes to
// the server as it is, which parses it and names a wrong line or row in its 400.
import { h } from '../dom.js';
import { CASE_FORMATS, detectFormat } from './experiments-data.js';

let seq = 0;

const PLACEHOLDER = {
  jsonl: '{"id": "q1", "input": "What is the capital of France?", "expected": "Paris"}\n{"input": {"question": "2 + 2?"}, "expected": "4", "tags": ["math"]}',
  csv: 'id,input,expected,tags,metadata.source\nq1,What is the capital of France?,Paris,geo;easy,manual',
};

/** Returns `{el, read() → {text, format, contentType}, reset(), focus()}`. */
export function casesInput({ testid = 'cases' } = {}) {
  const id = `cases-${++seq}`;
  let chosen = false; // the user picked the format: no more guessing
  const text = h('textarea', {
    class: 'input dataset-cases-text', id, rows: 8, spellcheck: 'false', 'data-testid': `${testid}-text`,
    placeholder: PLACEHOLDER.jsonl,
  });
  const formatSelect = h('select', { class: 'settings-select', 'aria-label': 'Format of the cases', 'data-testid': `${testid}-format` },
    CASE_FORMATS.map((f) => h('option', { value: f.value }, f.label)));
  const file = h('input', { type: 'file', class: 'visually-hidden', accept: '.jsonl,.ndjson,.json,.csv,.txt,text/csv,application/x-ndjson', 'data-testid': `${testid}-file`, tabindex: '-1' });
  const upload = h('button', { type: 'button', class: 'button small', 'data-testid': `${testid}-upload`, onclick: () => file.click() }, 'Upload a file…');
  const fileName = h('span', { class: 'muted small', 'data-testid': `${testid}-file-name` });
  const help = h('p', { class: 'muted small dataset-cases-help' });

  formatSelect.addEventListener('change', () => {
    chosen = true;
    syncHelp();
  });
  text.addEventListener('input', () => {
    if (!chosen) setFormat(detectFormat(text.value));
  });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    text.value = await f.text();
    fileName.textContent = f.name;
    chosen = false;
    setFormat(detectFormat(text.value, f.name));
    file.value = '';
  });

  function setFormat(value) {
    formatSelect.value = value;
    syncHelp();
  }

  function syncHelp() {
    text.placeholder = PLACEHOLDER[formatSelect.value];
    help.textContent = formatSelect.value === 'csv'
      ? 'CSV with a header row: input (required), id, expected, tags (separated by ;) and metadata.<key> columns. A cell holding JSON (an object, a list, true or false) is read as JSON.'
      : 'One case per line: {"input": …} with optional "id", "expected", "tags" and "metadata". Cases without an id are numbered.';
  }
  syncHelp();

  const el = h('div', { class: 'alerts-field dataset-cases' },
    h('label', { for: id }, 'Cases'),
    text,
    h('div', { class: 'dataset-cases-tools' },
      h('label', { class: 'dataset-cases-format' }, 'Format ', formatSelect),
      upload, file, fileName),
    help);

  return {
    el,
    read() {
      const fmt = CASE_FORMATS.find((f) => f.value === formatSelect.value) || CASE_FORMATS[0];
      return { text: text.value, format: fmt.value, contentType: fmt.type };
    },
    reset() {
      text.value = '';
      fileName.textContent = '';
      chosen = false;
      setFormat('jsonl');
    },
    focus: () => text.focus(),
  };
}
