// "Export" on the runs page: the spans of every run matching the page's query and time range,
// one JSON span per line (JSONL, as the API returns them), built in the browser and downloaded.
// Each run's spans are counted against its summary, as `lemma export` does: a file missing
// spans is not handed over as if it were whole.
import { h } from '../dom.js';
import * as api from '../api.js';
import { count } from '../format.js';
import { dialogButton, openDialog } from '../components/dialog.js';
import { exportFileName, exportRuns, runsNoun } from './runs-lifecycle.js';

const SHORT_LISTED = 10;

/** `query()` is the page's effective query (its time range included). Returns `{el, close}`. */
export function exportButton({ query }) {
  let dialog = null;
  const el = h('button', {
    type: 'button', class: 'button', 'data-testid': 'export-runs', 'aria-haspopup': 'dialog',
    title: 'Download the spans of the runs matching the query and time range',
    onclick: () => { dialog = exportDialog(query()); },
  }, 'Export');
  return { el, close: () => dialog?.close() };
}

function exportDialog(q) {
  let controller = null;
  const dialog = openDialog({ title: 'Export runs', testid: 'export-dialog', onClose: () => controller?.abort() });
  const status = h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'export-status' });
  ready();
  return dialog;

  function ready() {
    dialog.setBody(
      h('p', null, q ? ['The runs matching ', h('code', { 'data-testid': 'export-query' }, q)] : 'All runs of the project (no query)', '.'),
      h('p', { class: 'muted' }, 'Format: JSONL, one span per line as the API returns it, with its log records. Metric events are not included.'),
      status);
    dialog.setActions([
      dialogButton('Cancel', () => dialog.close()),
      dialogButton('Export', start, { kind: 'primary', testid: 'export-start' }),
    ]);
  }

  async function start() {
    controller = new AbortController();
    const { signal } = controller;
    dialog.body.querySelector('.export-short')?.remove();
    status.textContent = 'Listing runs…';
    dialog.setActions([dialogButton('Cancel export', () => controller.abort(), { testid: 'export-cancel' })]);
    let result;
    try {
      result = await exportRuns(api.get, q, {
        signal,
        onProgress: ({ runs, known, more, spans }) => {
          status.textContent = `Exported ${count(runs)} of ${count(known)}${more ? '+' : ''} runs (${count(spans)} spans)…`;
        },
      });
    } catch (err) {
      if (!dialog.isOpen()) return;
      status.textContent = err.name === 'AbortError' ? 'Export cancelled: nothing was downloaded.' : `Export failed: ${err.message}`;
      dialog.setActions([dialogButton('Close', () => dialog.close()), dialogButton('Export again', start, { kind: 'primary', testid: 'export-start' })]);
      return;
    }
    if (!dialog.isOpen()) return;
    finish(result);
  }

  function finish({ parts, runs, spans, short }) {
    const name = exportFileName();
    const file = new Blob(parts, { type: 'application/x-ndjson' });
    const done = `${runsNoun(runs, count)} (${count(spans)} spans)`;
    if (runs === 0) {
      status.textContent = 'No runs match: there is nothing to export.';
      dialog.setActions([dialogButton('Close', () => dialog.close())]);
      return;
    }
    if (short.length === 0) {
      status.textContent = `Exported ${done} to ${name}.`;
      download(file, name, dialog.el);
      dialog.setActions([
        dialogButton('Download again', () => download(file, name, dialog.el), { testid: 'export-download' }),
        dialogButton('Close', () => dialog.close(), { kind: 'primary' }),
      ]);
      return;
    }
    // Runs still receiving spans (or changed while exporting): say which, and let the user decide.
    status.textContent = `Exported ${done}, but ${runsNoun(short.length, count)} came out short, probably still receiving spans. Export again once they finish, or download the file as it is.`;
    dialog.body.append(h('ul', { class: 'export-short', role: 'alert', 'data-testid': 'export-short' },
      short.slice(0, SHORT_LISTED).map((s) => h('li', null, h('code', null, s.runId), `: ${count(s.written)} of ${count(s.expected)} spans`)),
      short.length > SHORT_LISTED ? h('li', null, `and ${count(short.length - SHORT_LISTED)} more`) : null));
    dialog.setActions([
      dialogButton('Close', () => dialog.close()),
      dialogButton('Download anyway', () => download(file, name, dialog.el), { testid: 'export-download' }),
      dialogButton('Export again', start, { kind: 'primary', testid: 'export-start' }),
    ]);
  }
}

/**
 * Saves `blob` as `name` through a temporary link (no inline script; the CSP allows it), put
 * inside the open modal dialog since the page behind it is inert.
 */
function download(blob, name, parent) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { download: name, hidden: true });
  a.href = url; // set directly: dom.js keeps only http(s) links, and this one is ours
  parent.appendChild(a);
  a.click();
  a.remove();
  // The download has its own reference once started; release ours after a while.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
