// Stats: how a project's agents are doing over a time range, for any query: summary tiles,
// runs, errors, latency, tokens and cost over time, runs with signals (stats-signals.js), and
// breakdowns by agent and by model.
// Everything that matters is in the URL (`q`, `range`), so a view can be shared.
import { h, icon, link, replace } from '../dom.js';
import * as api from '../api.js';
import * as format from '../format.js';
import { href } from '../router.js';
import { barChart, timeSeriesChart } from '../components/charts.js';
import { axisCost, bucketName, durationTicks, shortDuration } from '../components/scale.js';
import { searchBar } from '../components/search.js';
import { errorState, loading } from '../components/states.js';
import { signalsPanel } from './stats-signals.js';
import { parseRange, rangeLabel, timeRangePicker } from '../components/timerange.js';
import {
  chartSeries, choseRange, COARSE_BUCKET, DEFAULT_RANGE, EPOCH, FINE_BUCKET, firstDataStart, isoSeconds,
  readState, requestBounds, stateQuery, term, WIDER_RANGES,
} from './stats-data.js';

const COLORS = {
  runs: 'var(--accent)',
  errors: 'var(--error)',
  p50: 'var(--kind-llm)',
  p95: 'var(--kind-agent)',
  tokens: 'var(--kind-retrieval)',
  input: 'var(--kind-llm)',
  output: 'var(--kind-retrieval)',
  cost: 'var(--ok)',
};

export function mount(root, ctx) {
  let state = readState(ctx.query);
  let chosen = choseRange(ctx.query);
  // Set when the default range was empty and a wider one is shown instead.
  let widenedFrom = null;
  let controller = null;
  let generation = 0;
  let hasResults = false;

  const search = searchBar({
    value: state.q,
    label: 'Filter the runs counted',
    placeholder: 'Filter runs…  e.g. agent:support-agent model:gpt-4o',
    onSubmit: (q) => go({ ...state, q }),
  });
  const range = timeRangePicker({ value: state.range, fallback: DEFAULT_RANGE, onChange: (value) => go({ ...state, range: value }, { chosen: true }) });
  const caption = h('span', { class: 'stats-caption muted', 'data-testid': 'stats-caption' });
  const refresh = h('button', { type: 'button', class: 'icon-button', title: 'Refresh', 'aria-label': 'Refresh', onclick: () => load() }, icon('refresh'));
  const results = h('div', { class: 'stats-results', 'aria-busy': 'false' });

  replace(root, h('section', { class: 'stats-page', 'data-testid': 'stats' },
    h('div', { class: 'page-header' }, h('h1', null, 'Stats'), caption, h('div', { class: 'spacer' }), refresh),
    h('div', { class: 'stats-toolbar' }, search.el, range.el),
    results));
  ctx.setTitle('Stats');
  load();

  function go(next, { chosen: picked = chosen } = {}) {
    const url = href('/stats', stateQuery(next, { chosen: picked }));
    if (url === window.location.pathname + window.location.search) load();
    else ctx.navigate(url);
  }

  async function load() {
    controller?.abort();
    controller = new AbortController();
    const token = ++generation;
    results.classList.add('is-loading');
    results.setAttribute('aria-busy', 'true');
    if (!hasResults) replace(results, loading('Crunching the numbers…'));
    try {
      let stats = await fetchStats(state, controller.signal);
      widenedFrom = null;
      if (!stats.totals.runs && !chosen) {
        for (const wider of WIDER_RANGES) {
          const next = await fetchStats({ ...state, range: wider }, controller.signal);
          if (!next.totals.runs) continue;
          widenedFrom = state.range;
          state = { ...state, range: wider };
          range.setValue(wider);
          stats = next;
          break;
        }
      }
      if (token !== generation) return;
      search.clearError();
      show(stats);
    } catch (err) {
      if (err.name === 'AbortError' || token !== generation) return;
      hasResults = false;
      if (err.status === 400 && /^invalid query/.test(err.message)) {
        search.setError(err);
        replace(results, h('div', { class: 'card stats-empty' },
          h('strong', null, 'Fix the search to see stats'),
          h('p', { class: 'muted' }, 'The query above could not be read; the mark shows where.')));
      } else {
        replace(results, errorState(err, load));
      }
      caption.textContent = '';
    } finally {
      if (token === generation) {
        results.classList.remove('is-loading');
        results.setAttribute('aria-busy', 'false');
      }
    }
  }

  function show(stats) {
    hasResults = true;
    const range = parseRange(state.range, DEFAULT_RANGE);
    caption.textContent = `${rangeLabel(range)} · per ${bucketName(stats.bucket_seconds)}`;
    if (widenedFrom) {
      caption.textContent += ` · no runs ${rangePhrase(parseRange(widenedFrom, DEFAULT_RANGE))}`;
    }
    caption.title = `${format.dateTime(stats.from_time)} → ${format.dateTime(stats.to_time)}`;
    if (!stats.totals.runs) {
      replace(results, tiles(stats.totals), emptyState());
      return;
    }
    const data = chartSeries(stats);
    replace(results,
      tiles(stats.totals),
      h('div', { class: 'stats-charts' },
        chartCard('Runs', `${format.count(stats.totals.runs)} runs, ${format.count(stats.totals.errors)} failed`, 'chart-runs',
          timeSeriesChart({
            title: 'Runs and errors over time', times: data.times, bucketMs: data.bucketMs, integer: true,
            format: (v) => format.count(v), axisFormat: format.compact,
            series: [
              { key: 'runs', label: 'Runs', color: COLORS.runs, values: data.runs, area: true },
              { key: 'errors', label: 'Errors', color: COLORS.errors, values: data.errors },
            ],
          })),
        chartCard('Latency', `p50 ${format.duration(stats.totals.p50_ms)} · p95 ${format.duration(stats.totals.p95_ms)}`, 'chart-latency',
          timeSeriesChart({
            title: 'Run duration percentiles over time', times: data.times, bucketMs: data.bucketMs,
            format: (v) => format.duration(v), axisFormat: shortDuration, ticks: durationTicks,
            series: [
              { key: 'p50', label: 'p50', color: COLORS.p50, values: data.p50 },
              { key: 'p95', label: 'p95', color: COLORS.p95, values: data.p95 },
            ],
          })),
        chartCard('Tokens', `${format.count(stats.totals.total_tokens)} tokens`, 'chart-tokens',
          timeSeriesChart({
            title: 'Tokens over time', times: data.times, bucketMs: data.bucketMs, integer: true,
            format: (v) => format.count(v), axisFormat: format.compact,
            series: [{ key: 'tokens', label: 'Tokens', color: COLORS.tokens, values: data.tokens, area: true }],
          })),
        chartCard('Cost', stats.totals.cost_usd === null ? 'no cost recorded' : `${format.cost(stats.totals.cost_usd)} in total`, 'chart-cost',
          timeSeriesChart({
            title: 'Cost over time (USD)', times: data.times, bucketMs: data.bucketMs,
            format: format.cost, axisFormat: axisCost,
            series: [{ key: 'cost', label: 'Cost', color: COLORS.cost, values: data.cost, area: true }],
          }))),
      signalsPanel(stats, { range: state.range, q: state.q, signal: controller?.signal }),
      h('div', { class: 'stats-breakdowns' },
        breakdownCard('By agent', `${stats.by_agent.length} ${stats.by_agent.length === 1 ? 'agent' : 'agents'}`, agentChart(stats.by_agent)),
        breakdownCard('By model', `${stats.by_model.length} ${stats.by_model.length === 1 ? 'model' : 'models'}`, modelChart(stats.by_model))));
  }

  function tiles(t) {
    const tile = (key, label, value, sub, { title, tone, raw } = {}) => h('div', { class: ['stats-tile', tone && `tone-${tone}`], 'data-testid': `tile-${key}` },
      h('div', { class: 'stats-tile-label' }, label),
      h('div', { class: 'stats-tile-value num', title: title || null, 'data-value': raw ?? null }, value),
      h('div', { class: 'stats-tile-sub' }, sub));
    const perRun = t.cost_usd !== null && t.runs ? t.cost_usd / t.runs : null;
    return h('div', { class: 'stats-tiles', 'data-testid': 'stats-tiles' },
      tile('runs', 'Runs', format.count(t.runs), `${format.count(t.errors)} failed`, { raw: t.runs }),
      tile('error-rate', 'Error rate', format.percent(t.error_rate), t.runs ? `${format.count(t.errors)} of ${format.count(t.runs)} runs` : 'no runs', { tone: t.errors ? 'error' : null, raw: t.error_rate }),
      tile('p50', 'Latency p50', format.duration(t.p50_ms), 'median run duration', { raw: t.p50_ms }),
      tile('p95', 'Latency p95', format.duration(t.p95_ms), `p99 ${format.duration(t.p99_ms)}`, { raw: t.p95_ms }),
      tile('tokens', 'Tokens', format.compact(t.total_tokens), `${format.compact(t.input_tokens)} in · ${format.compact(t.output_tokens)} out`, { title: `${format.count(t.total_tokens)} tokens`, raw: t.total_tokens }),
      tile('cost', 'Cost', format.cost(t.cost_usd), perRun === null ? 'no cost recorded' : `${format.cost(perRun)} per run`, { raw: t.cost_usd }));
  }

  function agentChart(agents) {
    return barChart({
      title: 'Runs by agent', testid: 'by-agent',
      columns: [{ label: 'Agent' }, { label: 'Runs' }, { label: 'Error rate', num: true }, { label: 'p50', num: true }, { label: 'p95', num: true }, { label: 'Tokens', num: true }, { label: 'Cost', num: true }],
      series: [{ key: 'ok', label: 'Succeeded', color: COLORS.runs }, { key: 'errors', label: 'Failed', color: COLORS.errors }],
      format: (v) => format.count(v),
      items: agents.map((a) => ({
        // Runs without an agent are one group, which `-has:agent` finds (as `agent:` does not).
        label: a.agent ?? 'No agent',
        link: runsLink(a.agent == null ? '-has:agent' : term('agent', a.agent)),
        segments: [a.runs - a.errors, a.errors],
        cells: [format.percent(a.error_rate), format.duration(a.p50_ms), format.duration(a.p95_ms), format.compact(a.total_tokens), format.cost(a.cost_usd)],
      })),
    });
  }

  function modelChart(models) {
    return barChart({
      title: 'Tokens by model', testid: 'by-model',
      columns: [{ label: 'Model' }, { label: 'Tokens' }, { label: 'Calls', num: true }, { label: 'Runs', num: true }, { label: 'Cost', num: true }],
      series: [{ key: 'input', label: 'Input', color: COLORS.input }, { key: 'output', label: 'Output', color: COLORS.output }],
      format: (v) => format.compact(v),
      items: models.map((m) => ({
        label: m.model,
        // The dated snapshots counted under the model, after its provider.
        sublabel: [m.provider, ...(m.snapshots ?? [])].filter(Boolean).join(' · '),
        link: runsLink(term('model', m.model)),
        segments: [m.input_tokens, m.output_tokens],
        cells: [format.count(m.calls), format.count(m.runs), format.cost(m.cost_usd)],
      })),
    });
  }

  /** The runs behind a breakdown row: this page's query narrowed to the row. */
  function runsLink(rowTerm) {
    const q = [state.q, rowTerm].filter(Boolean).join(' ');
    return href('/runs', { q, range: state.range });
  }

  function emptyState() {
    const when = rangePhrase(parseRange(state.range, DEFAULT_RANGE));
    const wider = ['7d', '30d', 'all'].filter((r) => r !== state.range);
    return h('div', { class: 'card stats-empty', 'data-testid': 'empty' },
      h('div', { class: 'stats-empty-art', 'aria-hidden': 'true' }, icon('search', { size: 22 })),
      h('strong', null, state.q ? 'No runs match this search' : 'No runs in this time range'),
      h('p', { class: 'muted' },
        state.q ? ['No run matching ', h('code', null, state.q), ` started ${when}.`] : `No run started ${when}.`,
        state.q ? ' Try a wider range or clear the search.' : ' Try a wider range, or send some traces.'),
      h('div', { class: 'stats-empty-actions' },
        wider.map((r) => h('button', { type: 'button', class: 'button', onclick: () => go({ ...state, range: r }) }, rangeLabel(parseRange(r)))),
        state.q && h('button', { type: 'button', class: 'button', 'data-testid': 'clear-search', onclick: () => go({ ...state, q: '' }) }, icon('x'), 'Clear the search'),
        link('/welcome', { class: 'button ghost' }, 'How to send traces', icon('chevronRight'))));
  }

  return {
    update(next) {
      state = readState(next.query);
      chosen = choseRange(next.query);
      search.setValue(state.q);
      range.setValue(state.range);
      search.close();
      range.close();
      load();
    },
    dispose() {
      controller?.abort();
      search.close();
      range.close();
    },
  };
}

/**
 * The stats for a state. A range without a start ("All time") is first narrowed to where the
 * runs begin, coarsely then by the hour, so the chart does not spread a few days over decades.
 */
async function fetchStats(state, signal) {
  const bounds = requestBounds(state.range);
  const get = (params) => api.get('/stats', { q: state.q, ...params }, { signal });
  if (!bounds.open) return get({ from: bounds.from, to: bounds.to });
  const coarse = await get({ from: EPOCH, to: bounds.to, bucket: COARSE_BUCKET.text });
  const first = firstDataStart(coarse);
  if (first === null) return coarse;
  const until = bounds.to ? Math.min(first + COARSE_BUCKET.ms, Date.parse(bounds.to)) : first + COARSE_BUCKET.ms;
  const fine = await get({ from: isoSeconds(first), to: isoSeconds(until), bucket: FINE_BUCKET.text });
  return get({ from: isoSeconds(firstDataStart(fine) ?? first), to: bounds.to });
}

/** "in the last 24 hours", "between … and …", "yet": how the empty state says when. */
function rangePhrase(range) {
  if (range.kind === 'relative') return `in the ${rangeLabel(range).toLowerCase()}`;
  if (range.kind === 'custom') {
    if (range.from && range.to) return `between ${format.dateTime(range.from)} and ${format.dateTime(range.to)}`;
    return range.from ? `after ${format.dateTime(range.from)}` : `before ${format.dateTime(range.to)}`;
  }
  return 'yet';
}

function chartCard(title, subtitle, testid, chart) {
  return h('section', { class: 'card stats-card', 'data-testid': testid },
    h('header', { class: 'stats-card-header' }, h('h2', null, title), h('span', { class: 'stats-card-sub muted' }, subtitle)),
    chart);
}

function breakdownCard(title, subtitle, chart) {
  return h('section', { class: 'card stats-card stats-breakdown' },
    h('header', { class: 'stats-card-header' }, h('h2', null, title), h('span', { class: 'stats-card-sub muted' }, subtitle)),
    chart);
}
