// Experiments compared (`/compare?experiments=a,b[,c]`, the first the baseline): each one's
// totals side by side with the change from the baseline (green when better, red when worse), then
// every case: its input and expected answer, and per experiment the status, the output (with what
// changed from the baseline's marked word by word), the scores, latency, tokens, cost and a link
// to the run. Regressions are highlighted with the server's reasons; `&changed=1` (or
// `&regressions=1`) shows only those cases.
//
// A comparison may hold thousands of cases: the rows are built once into a fragment with light
// cells (clipped text, no payload trees), and the word diffs, the costly part, are only worked out
// for the cells that scroll into view, and in full when a row is expanded. Every output, input
// and name is anyone's text: text nodes only.
import { append, h, link, replace, setText } from '../dom.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import * as badges from '../components/badges.js';
import { renderPayload } from '../components/json.js';
import { empty, errorState, loading } from '../components/states.js';
import {
  caseFilter, compareHref, compareSummary, compareValues, parseNames, scoreDelta, scoreNames, scoreNumber,
  scoreText, TOTALS, valueText,
} from './experiments-data.js';
import { diffText } from './compare-diff.js';

/** Characters of an output shown in its cell; the row's details show all of it. */
const CELL_CHARS = 400;
/** Characters of an input or expected answer shown in its cell. */
const PREVIEW_CHARS = 200;
/** Past this, an unchanged stretch in a diff is cut to its ends. */
const CONTEXT_CHARS = 120;
/** Word diffs bigger than this (the product of the two lengths in words) wait for the details. */
const INLINE_CELLS = 40_000;

export function mount(root, ctx) {
  const names = parseNames(ctx.query?.get('experiments'));
  const controller = new AbortController();
  const { signal } = controller;
  let mode = modeOf(ctx.query);
  let view = null;
  ctx.setTitle('Compare experiments');

  const body = h('div', { class: 'compare-body' });
  replace(root, h('section', { class: 'compare-page', 'data-testid': 'compare-page' },
    h('div', { class: 'run-crumbs' }, link('/experiments', { class: 'muted' }, 'Experiments'), h('span', { class: 'muted' }, '/'), h('span', null, 'Compare')),
    h('div', { class: 'page-header' }, h('h1', null, 'Compare experiments')),
    body));

  if (names.length < 2) {
    replace(body, empty('Pick two or more experiments', 'Choose them on the ', link('/experiments', null, 'Experiments'), ' page; the first picked is the baseline.'));
  } else load();

  async function load() {
    replace(body, loading(`Comparing ${names.join(', ')}…`));
    try {
      const c = await api.get('/compare', { experiments: names.join(',') }, { signal });
      view = renderComparison(body, c, { mode, setMode });
    } catch (err) {
      if (err.name !== 'AbortError') replace(body, errorState(err, err.status === 404 || err.status === 400 ? null : load));
    }
  }

  function setMode(next) {
    ctx.navigate(compareHref(names, { changed: next === 'changed' }) + (next === 'regressions' ? '&regressions=1' : ''), { replace: true });
  }

  return {
    update(next) {
      if (parseNames(next.query?.get('experiments')).join(',') !== names.join(',')) return false;
      mode = modeOf(next.query);
      view?.setMode(mode);
      return true;
    },
    dispose() {
      controller.abort();
      view?.dispose();
    },
  };
}

function modeOf(query) {
  const on = (name) => ['1', 'true'].includes(query?.get(name) || '');
  if (on('regressions')) return 'regressions';
  return on('changed') ? 'changed' : 'all';
}

function renderComparison(body, c, { mode, setMode }) {
  const experiments = c.experiments || [];
  const scores = scoreNames(c);
  const tabs = [['all', 'All cases'], ['changed', 'Only changed'], ['regressions', 'Only regressions']].map(([value, label]) => h('button', {
    type: 'button', class: 'tab', 'aria-pressed': 'false', 'data-testid': `show-${value}`, dataset: { mode: value }, onclick: () => setMode(value),
  }, label));
  const shownNote = h('span', { class: 'muted small', 'data-testid': 'compare-shown', role: 'status', 'aria-live': 'polite' });
  const cases = casesTable(c, experiments, scores);

  replace(body,
    h('p', { class: 'muted compare-lede', 'data-testid': 'compare-about' },
      'Over ', link(`/datasets/${encodeURIComponent(experiments[0]?.dataset || '')}?version=${experiments[0]?.dataset_version}`, null, experiments[0]?.dataset || ''),
      ` v${experiments[0]?.dataset_version}. The baseline is `, h('strong', null, experiments[0]?.name || ''),
      ': every change is measured from it.'),
    totalsTable(c, experiments),
    h('div', { class: 'compare-toolbar' },
      h('h2', null, 'Cases'),
      h('span', { class: 'muted', 'data-testid': 'compare-summary' }, compareSummary(c)),
      h('span', { class: 'spacer' }),
      shownNote,
      h('div', { class: 'tabs', role: 'group', 'aria-label': 'Cases shown' }, tabs)),
    cases.el);
  cases.render();
  apply(mode);

  function apply(next) {
    for (const tab of tabs) {
      const on = tab.dataset.mode === next;
      tab.classList.toggle('active', on);
      tab.setAttribute('aria-pressed', String(on));
    }
    const shown = cases.filter(caseFilter(next));
    shownNote.textContent = next === 'all' ? '' : `Showing ${fmt.count(shown)} of ${fmt.count((c.cases || []).length)}`;
  }

  return { setMode: apply, dispose: cases.dispose };
}

/** Totals side by side: a row per measure, a column per experiment, deltas from the baseline. */
function totalsTable(c, experiments) {
  const rows = TOTALS.map((t) => ({
    key: t.key, label: t.label, better: t.better, show: t.show, delta: t.delta,
    values: experiments.map((e) => e[t.key]),
  }));
  for (const s of c.scores || []) {
    rows.push({ key: `score:${s.name}`, label: s.name, score: true, better: 'higher', show: scoreText, delta: scoreDelta, values: s.means });
  }
  return h('div', { class: 'table-wrap compare-totals-wrap' },
    h('table', { class: 'table compare-totals', 'data-testid': 'compare-totals' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Measure')),
        experiments.map((e, i) => h('th', { scope: 'col', class: 'num', 'data-testid': 'totals-experiment' },
          e.name, i === 0 ? h('span', { class: 'badge compare-baseline' }, 'baseline') : null)))),
      h('tbody', null, rows.map((r) => h('tr', { 'data-testid': 'totals-row', dataset: { key: r.key } },
        h('th', { scope: 'row', class: r.score ? 'compare-score-name' : null }, r.score ? ['Score ', h('code', null, r.label)] : r.label),
        r.values.map((v, i) => {
          const { delta, tone } = i === 0 ? { delta: null, tone: null } : compareValues(r.values[0], v, r.better);
          return h('td', { class: 'num', 'data-testid': 'totals-cell' },
            h('span', { class: 'compare-total' }, v === null || v === undefined ? '—' : r.show(v)),
            delta !== null ? h('span', { class: ['compare-delta', tone && `is-${tone}`], 'data-testid': 'totals-delta', dataset: { tone: tone || 'none' } }, r.delta(delta)) : null);
        }))))));
}

/**
 * The cases: `{el, render(), filter(fn) → shown, dispose()}`. A table in ARIA roles laid out as a
 * grid of rows, each `content-visibility: auto`: the browser lays out and paints only the rows
 * near the view, which is what keeps a thousand of them quick (table rows cannot skip layout).
 */
function casesTable(c, experiments, scores) {
  const rows = []; // {c, el, detail}
  const pending = new Map(); // row element → [[output cell, baseline text, text]], diffed once in view
  const observer = typeof IntersectionObserver === 'function'
    ? new IntersectionObserver(onVisible, { rootMargin: '400px 0px' }) : null;
  const columns = `190px minmax(150px, 1fr) minmax(130px, 0.8fr) repeat(${experiments.length}, minmax(260px, 1.7fr))`;
  const body = h('div', { class: 'compare-grid-body', role: 'rowgroup', onclick: onClick });
  const table = h('div', {
    class: 'compare-grid', role: 'table', 'aria-label': 'Cases', 'data-testid': 'compare-cases',
    style: { '--compare-columns': columns, 'min-width': `${520 + experiments.length * 260}px` },
  },
  h('div', { class: 'compare-grid-head', role: 'rowgroup' }, h('div', { class: 'compare-grid-row', role: 'row' },
    ['Case', 'Input', 'Expected'].map((t) => h('div', { class: 'compare-th', role: 'columnheader' }, t)),
    experiments.map((e, i) => h('div', { class: 'compare-th', role: 'columnheader', 'data-testid': 'cases-experiment' },
      e.name, i === 0 ? h('span', { class: 'badge compare-baseline' }, 'baseline') : null)))),
  body);
  const none = h('div', { class: 'muted compare-none', hidden: true, 'data-testid': 'compare-none' }, 'No case here.');
  const el = h('div', null, h('div', { class: 'table-wrap compare-cases-wrap' }, table), none);

  function render() {
    const started = performance.now();
    const fragment = document.createDocumentFragment();
    for (const row of c.cases || []) {
      const tr = caseRow(row);
      rows.push({ c: row, el: tr, detail: null });
      fragment.append(tr);
    }
    body.append(fragment);
    // Style and layout now, so the time measured is what the reader waits for.
    void table.offsetHeight;
    table.dataset.renderMs = (performance.now() - started).toFixed(1);
    requestAnimationFrame(() => setTimeout(() => {
      table.dataset.paintedMs = (performance.now() - started).toFixed(1);
    }, 0));
  }

  function caseRow(row) {
    const base = row.results?.[0] || null;
    const baseText = base ? valueText(base.output) : null;
    const diffs = [];
    const tr = h('div', {
      class: ['compare-grid-row', 'compare-row', row.regression && 'is-regression', row.changed && 'is-changed'], role: 'row',
      'data-testid': 'compare-case', dataset: { caseId: row.case_id, changed: String(row.changed), regression: String(row.regression) },
    },
    h('div', { class: 'compare-cell compare-case', role: 'rowheader' },
      h('div', { class: 'compare-case-head' },
        h('button', { type: 'button', class: 'icon-button compare-expand', 'aria-expanded': 'false', 'aria-label': `Details of case ${row.case_id}`, title: 'Details: whole texts and diffs', 'data-testid': 'case-expand' }),
        h('span', { class: 'mono compare-case-id', 'data-testid': 'case-id', title: row.case_id }, row.case_id)),
      row.regression ? h('span', { class: 'badge status-error', 'data-testid': 'case-regression' }, 'Regression')
        : row.changed ? h('span', { class: 'badge', 'data-testid': 'case-changed' }, 'Changed') : null,
      row.reasons?.length ? h('ul', { class: 'compare-reasons', 'data-testid': 'case-reasons' }, row.reasons.map((r) => h('li', null, r))) : null),
    h('div', { class: 'compare-cell compare-text', role: 'cell', 'data-testid': 'case-input' }, clip(valueText(row.input), PREVIEW_CHARS)),
    h('div', { class: 'compare-cell compare-text', role: 'cell', 'data-testid': 'case-expected' }, row.expected === null || row.expected === undefined ? h('span', { class: 'muted' }, '—') : clip(valueText(row.expected), PREVIEW_CHARS)),
    (row.results || []).map((r, i) => resultCell(r, i, base, baseText, diffs)));
    if (diffs.length) {
      pending.set(tr, diffs);
      observer?.observe(tr);
    }
    return tr;
  }

  function resultCell(r, i, base, baseText, diffs) {
    if (!r) return h('div', { class: 'compare-cell compare-result is-missing', role: 'cell', 'data-testid': 'case-result', dataset: { state: 'missing' } }, h('span', { class: 'muted' }, 'Not run'));
    const text = valueText(r.output);
    const output = h('div', { class: 'compare-output', 'data-testid': 'case-output' });
    const same = i > 0 && base && text === baseText;
    if (i > 0 && base && !same) {
      output.classList.add('is-different');
      diffs.push([output, baseText, text]);
    } else if (same) output.classList.add('is-same');
    if (text) setText(output, clipText(text, CELL_CHARS));
    else output.append(h('span', { class: 'muted' }, 'no output'));
    return h('div', { class: 'compare-cell compare-result', role: 'cell', 'data-testid': 'case-result', dataset: { status: r.status || 'unset' } },
      h('div', { class: 'compare-result-head' },
        badges.status(r.status),
        link(`/runs/${encodeURIComponent(r.run_id)}`, { class: 'compare-run-link', 'data-testid': 'case-run-link', title: `Run ${r.run_id}` }, 'Run'),
        same ? h('span', { class: 'muted small' }, 'same output') : null),
      output,
      scoreChips(r, i, base),
      h('div', { class: 'compare-measures muted small', 'data-testid': 'case-measures' },
        `${fmt.duration(r.duration_ms)} · ${fmt.compact(r.total_tokens)} tok · ${fmt.cost(r.cost_usd)}`));
  }

  function scoreChips(r, i, base) {
    const present = scores.filter((name) => Object.hasOwn(r.scores || {}, name));
    if (!present.length) return null;
    return h('ul', { class: 'compare-scores' }, present.map((name) => {
      const value = r.scores[name];
      const { delta, tone } = i > 0 && base ? compareValues(scoreNumber(base.scores?.[name]), scoreNumber(value), 'higher') : { delta: null, tone: null };
      return h('li', { class: ['compare-score', tone && `is-${tone}`], 'data-testid': 'case-score', dataset: { score: name, tone: tone || 'none' } },
        h('span', { class: 'compare-score-name' }, name), ' ', h('b', null, scoreText(value)),
        delta ? h('span', { class: 'compare-score-delta' }, ` ${scoreDelta(delta)}`) : null);
    }));
  }

  function onVisible(entries) {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      for (const [cell, a, b] of pending.get(entry.target) || []) {
        const diff = diffText(a, b, { maxCells: INLINE_CELLS });
        // Too long to compare here: the details compare them in full.
        if (diff.unit !== 'word') continue;
        replace(cell, diffView(diff.parts, { context: CONTEXT_CHARS, limit: CELL_CHARS * 2 }));
        cell.dataset.diff = 'word';
      }
      pending.delete(entry.target);
    }
  }

  function onClick(event) {
    const button = event.target.closest('[data-testid="case-expand"]');
    if (!button) return;
    const row = rows.find((r) => r.el.contains(button));
    if (!row) return;
    if (row.detail) {
      row.detail.remove();
      row.detail = null;
      button.setAttribute('aria-expanded', 'false');
      row.el.classList.remove('is-open');
      return;
    }
    row.detail = h('div', { class: 'compare-grid-row compare-detail', role: 'row', 'data-testid': 'case-detail' },
      h('div', { class: 'compare-cell compare-detail-cell', role: 'cell' }, details(row.c)));
    row.el.after(row.detail);
    row.el.classList.add('is-open');
    button.setAttribute('aria-expanded', 'true');
  }

  function details(row) {
    const base = row.results?.[0];
    return h('div', { class: 'compare-details' },
      h('div', { class: 'compare-detail-part' }, h('div', { class: 'run-io-label' }, 'Input'), renderPayload(row.input, { open: 2 })),
      h('div', { class: 'compare-detail-part' }, h('div', { class: 'run-io-label' }, 'Expected'), renderPayload(row.expected, { open: 2, empty: 'No expected answer' })),
      (row.results || []).map((r, i) => h('div', { class: 'compare-detail-part', 'data-testid': 'detail-result' },
        h('div', { class: 'run-io-label' }, experiments[i]?.name, i === 0 ? ' (baseline)' : ''),
        !r ? h('p', { class: 'muted' }, 'Not run in this experiment.')
          : i > 0 && base ? fullDiff(valueText(base.output), valueText(r.output), r.output)
            : renderPayload(r.output, { open: 2, empty: 'No output' }))));
  }

  function fullDiff(a, b, output) {
    if (a === b) return [h('p', { class: 'muted small' }, 'The same output as the baseline.'), renderPayload(output, { open: 2, empty: 'No output' })];
    const diff = diffText(a, b);
    return h('div', { class: 'compare-full-diff', 'data-testid': 'detail-diff', dataset: { unit: diff.unit } },
      h('p', { class: 'muted small' }, diff.unit === 'whole'
        ? 'Too long to compare word by word: the differing part is shown removed, then added.'
        : `Compared ${diff.unit} by ${diff.unit} with the baseline: removed text struck out, added text underlined.`),
      h('div', { class: 'compare-output is-full' }, diffView(diff.parts, { context: 2000 })));
  }

  return {
    el,
    render,
    filter(keep) {
      let shown = 0;
      for (const row of rows) {
        const on = keep(row.c);
        row.el.hidden = !on;
        if (row.detail) row.detail.hidden = !on;
        if (on) shown += 1;
      }
      none.hidden = shown > 0;
      return shown;
    },
    dispose: () => observer?.disconnect(),
  };
}

/** A diff as text with `<del>` and `<ins>`; long unchanged stretches cut to their ends. */
function diffView(parts, { context, limit = Infinity }) {
  const fragment = document.createDocumentFragment();
  let used = 0;
  for (const p of parts) {
    if (used >= limit) {
      fragment.append(h('span', { class: 'muted' }, ' …'));
      break;
    }
    let text = p.text;
    if (p.op === '=' && text.length > context * 2) text = `${text.slice(0, context)} … ${text.slice(-context)}`;
    if (text.length > limit - used) text = `${text.slice(0, Math.max(0, limit - used))}…`;
    used += text.length;
    if (p.op === '=') append(fragment, [text]);
    else fragment.append(h(p.op === '-' ? 'del' : 'ins', { class: p.op === '-' ? 'diff-del' : 'diff-ins', 'data-testid': p.op === '-' ? 'diff-del' : 'diff-ins' }, text));
  }
  return fragment;
}

function clip(text, max) {
  if (!text) return h('span', { class: 'muted' }, '—');
  return h('span', { title: text.length > max ? fmt.truncate(text, 1000) : null }, clipText(text, max));
}

function clipText(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
