// The Stats page's signals: how many runs had each signal over the page's range, as a chart in
// the page's style and a table of totals whose names list those runs. `GET /stats/signals`
// counts every run of the project by when it started, so the page's search does not narrow it
// (the card says so). Signal names come from span attributes too: text nodes only.
import { h, link, replace } from '../dom.js';
import * as api from '../api.js';
import * as format from '../format.js';
import { href } from '../router.js';
import { timeSeriesChart } from '../components/charts.js';
import { severityOf, severityTag } from '../components/signals.js';
import { errorState, loading } from '../components/states.js';
import { signalCountParams, signalSeries, term } from './stats-data.js';

// Series are signal names, so they take colours in turn rather than by severity.
const PALETTE = ['var(--error)', 'var(--warn)', 'var(--accent)', 'var(--kind-retrieval)', 'var(--kind-agent)', 'var(--kind-evaluator)'];

/** The card for `stats` (a /stats answer); `range` the page's, for the links; `q` its search. */
export function signalsPanel(stats, { range, q, signal }) {
  const body = h('div', { class: 'stats-signals-body' });
  const sub = h('span', { class: 'stats-card-sub muted', 'data-testid': 'stats-signals-sub' });
  const el = h('section', { class: 'card stats-card stats-signals', 'data-testid': 'stats-signals', 'aria-busy': 'true' },
    h('header', { class: 'stats-card-header' }, h('h2', null, 'Signals'), sub),
    body);
  load();
  return el;

  async function load() {
    replace(body, loading('Counting signals…'));
    el.setAttribute('aria-busy', 'true');
    try {
      show(await api.get('/stats/signals', signalCountParams(stats), { signal }));
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(body, errorState(err, load));
    } finally {
      el.setAttribute('aria-busy', 'false');
    }
  }

  function show(answer) {
    const data = signalSeries(answer);
    const scope = q ? ' · every run, the search does not apply' : '';
    if (!data.totals.length) {
      sub.textContent = `none${scope}`;
      replace(body, h('p', { class: 'muted stats-signals-none', 'data-testid': 'stats-signals-none' }, 'No run started in this range had a signal.'));
      return;
    }
    const shown = data.series.length < data.names ? ` (the ${data.series.length} most frequent charted)` : '';
    sub.textContent = `${format.count(data.names)} ${data.names === 1 ? 'signal' : 'signals'}${shown}${scope}`;
    replace(body, h('div', { class: 'stats-signals-grid' },
      h('div', { class: 'stats-signals-chart', 'data-testid': 'chart-signals' },
        timeSeriesChart({
          title: 'Runs with each signal over time', times: data.times, bucketMs: data.bucketMs, integer: true,
          format: (v) => format.count(v), axisFormat: format.compact,
          series: data.series.map((s, i) => ({ key: s.name, label: s.name, color: PALETTE[i % PALETTE.length], values: s.values })),
        })),
      totalsTable(data.totals)));
  }

  function totalsTable(totals) {
    return h('div', { class: 'stats-signals-totals' },
      h('table', { class: 'table bar-table', 'data-testid': 'signal-totals', 'aria-label': 'Runs with each signal in the range' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, 'Signal'), h('th', { scope: 'col' }, 'Severity'), h('th', { scope: 'col', class: 'num' }, 'Runs'))),
        h('tbody', null, totals.map((t) => {
          const sev = severityOf(t);
          return h('tr', { 'data-testid': 'signal-total', dataset: { signal: t.name, severity: sev } },
            h('th', { scope: 'row' }, link(href('/runs', { q: term('signal', t.name), range }), {
              class: 'bar-label-text mono', 'data-testid': 'signal-runs-link', title: `List the runs with ${t.name}`,
            }, t.name)),
            h('td', null, severityTag(sev)),
            h('td', { class: 'num', 'data-testid': 'signal-total-runs' }, format.count(t.runs)));
        }))));
  }
}
