// Ingestion health: "my spans don't appear, or look wrong: why?". What this server refused (and
// why), the services sending spans and how fast, and the problems seen in the newest runs
// (missing parents, runs without a root, clock skew, calls recorded twice, late spans), each
// with an example run and the change that fixes it. One request: `GET /api/v1/ingestion`.
//
// Service names, span names (in a problem's detail) and refusal messages come from whoever
// sends spans: like everything else here they only reach the page as text, through `h()`.
import { h, icon, link, replace } from '../dom.js';
import * as api from '../api.js';
import * as format from '../format.js';
import { empty, errorState, loading } from '../components/states.js';
import {
  exampleHref, plural, problemCounts, reasonLabel, rejectedText, summary, unauthenticatedTotal, via,
} from './health-data.js';

export function mount(root, ctx) {
  ctx.setTitle('Ingestion health');
  let controller = null;
  let generation = 0;
  let hasResults = false;

  const refresh = h('button', { type: 'button', class: 'button', 'data-testid': 'health-refresh', onclick: () => load() },
    icon('refresh'), 'Refresh');
  const summaryEl = h('div', { class: 'health-summary card', role: 'status', 'aria-live': 'polite', 'data-testid': 'health-summary' });
  const results = h('div', { class: 'health-results', 'aria-busy': 'false' });

  replace(root, h('section', { class: 'health-page', 'data-testid': 'health' },
    h('div', { class: 'page-header' },
      h('h1', null, 'Ingestion health'),
      h('span', { class: 'muted health-lede' }, 'Why spans may be missing or look wrong')),
    h('div', { class: 'health-bar' }, summaryEl, refresh),
    results));
  load();

  async function load() {
    controller?.abort();
    controller = new AbortController();
    const token = ++generation;
    results.classList.add('is-loading');
    results.setAttribute('aria-busy', 'true');
    refresh.disabled = true;
    if (!hasResults) {
      replace(summaryEl, h('span', { class: 'muted' }, 'Checking…'));
      replace(results, loading('Checking the newest runs…'));
    }
    try {
      const answer = await api.get('/ingestion', null, { signal: controller.signal });
      if (token !== generation) return;
      show(answer);
    } catch (err) {
      if (err.name === 'AbortError' || token !== generation) return;
      hasResults = false;
      replace(summaryEl, h('span', { class: 'muted' }, 'Could not check the ingestion.'));
      replace(results, errorState(err, load));
    } finally {
      if (token === generation) {
        results.classList.remove('is-loading');
        results.setAttribute('aria-busy', 'false');
        refresh.disabled = false;
      }
    }
  }

  function show(answer) {
    hasResults = true;
    const now = Date.now();
    const s = summary(answer);
    summaryEl.dataset.tone = s.tone;
    replace(summaryEl,
      h('span', { class: 'health-summary-icon', 'aria-hidden': 'true' }, icon(s.tone === 'ok' ? 'check' : 'alert')),
      h('div', { class: 'health-summary-text' },
        h('strong', { 'data-testid': 'health-summary-title' }, s.title),
        h('span', { class: 'muted small' }, s.detail, ' Updated ', when(new Date(now), now, format.time), '.')));
    replace(results,
      problemsSection(answer.problems),
      servicesSection(answer.services, now),
      refusedSection(answer.refused, answer.counting_since, now),
      unauthenticatedSection(answer.refused, now),
      h('p', { class: 'muted small health-since', 'data-testid': 'health-since' },
        'Refused requests, services and late spans are what this server counted since it started, ',
        when(answer.counting_since, now, format.dateTime),
        ' (', format.ago(answer.counting_since, now), '): a restart starts them over, and other servers sharing the store count their own. ',
        'The other problems are read from the stored runs.'));
  }

  return {
    dispose() {
      controller?.abort();
    },
  };
}

/** A `<time>` element: `text(t)` shown, the exact date and time on hover. */
function when(t, now, text = (v) => format.ago(v, now)) {
  const d = format.toDate(t);
  return h('time', { datetime: Number.isNaN(d.getTime()) ? null : d.toISOString(), title: format.dateTime(d) }, text(d));
}

function section(testid, title, sub, ...body) {
  const id = `health-${testid}-title`;
  return h('section', { class: 'health-section', 'aria-labelledby': id, 'data-testid': `health-${testid}` },
    h('header', { class: 'health-section-header' },
      h('h2', { id }, title),
      sub ? h('span', { class: 'muted small' }, sub) : null),
    ...body);
}

function problemsSection(problems) {
  if (!problems.length) {
    return section('problems', 'Problems', null,
      h('div', { class: 'card health-none', 'data-testid': 'problems-none' },
        h('span', { class: 'health-none-icon', 'aria-hidden': 'true' }, icon('check')),
        h('p', null, 'Nothing to fix. Looked for spans whose parent never arrived, runs without a root span, child spans that start before their parent, model calls recorded twice, and spans that arrived minutes after they ended.')));
  }
  return section('problems', 'Problems', 'The most frequent first',
    h('div', { class: 'health-problems' }, problems.map(problemCard)));
}

function problemCard(p) {
  const titleId = `problem-${p.problem}-title`;
  return h('article', { class: 'card health-problem', 'aria-labelledby': titleId, 'data-testid': 'problem', dataset: { problem: p.problem } },
    h('header', { class: 'health-problem-header' },
      h('span', { class: 'health-problem-icon', 'aria-hidden': 'true' }, icon('alert')),
      h('h3', { id: titleId, 'data-testid': 'problem-title' }, p.title),
      h('span', { class: 'badge health-count', 'data-testid': 'problem-counts' }, problemCounts(p))),
    h('div', { class: 'health-problem-body' },
      h('div', { class: 'health-example' },
        h('span', { class: 'health-label' }, 'Example'),
        h('p', { class: 'health-detail', 'data-testid': 'problem-detail' }, p.example.detail),
        link(exampleHref(p.example), { class: 'health-example-link', 'data-testid': 'problem-example' },
          p.example.span_id ? 'Open the span in its run' : 'Open the run', icon('chevronRight'))),
      h('div', { class: 'health-fix' },
        h('span', { class: 'health-label' }, 'How to fix it'),
        h('p', { 'data-testid': 'problem-fix' }, p.fix))));
}

function servicesSection(services, now) {
  if (!services.length) {
    return section('services', 'Services sending spans', null,
      h('div', { class: 'card' },
        empty('No spans received yet',
          h('p', null, 'No service has sent spans to this server since it started. Point an OpenTelemetry exporter at it, or run the demo.'),
          link('/welcome', { class: 'button primary', 'data-testid': 'health-send-traces' }, 'Send traces', icon('chevronRight')))));
  }
  return section('services', 'Services sending spans', plural(services.length, 'service'),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table health-table', 'data-testid': 'services-table' },
        h('caption', { class: 'health-caption' }, 'Spans received per service (its resource\'s service.name), the most recently seen first'),
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, 'Service'),
          h('th', { scope: 'col' }, 'Last seen'),
          h('th', { scope: 'col', class: 'num' }, 'Last minute'),
          h('th', { scope: 'col', class: 'num' }, 'Last hour'),
          h('th', { scope: 'col', class: 'num' }, 'Total'))),
        h('tbody', null, services.map((s) => h('tr', { 'data-testid': 'service-row' },
          h('th', { scope: 'row', class: 'health-service', 'data-testid': 'service-name' }, s.service),
          h('td', { class: 'nowrap', 'data-testid': 'service-last-seen' }, when(s.last_seen, now)),
          h('td', { class: 'num', 'data-testid': 'service-minute' }, format.count(s.spans_last_minute)),
          h('td', { class: 'num', 'data-testid': 'service-hour' }, format.count(s.spans_last_hour)),
          h('td', { class: 'num', 'data-testid': 'service-total' }, format.count(s.spans_total))))))));
}

function refusedSection(refused, since, now) {
  if (!refused.total) {
    return section('refused', 'Refused requests', null,
      h('p', { class: 'card health-quiet', 'data-testid': 'refused-none' },
        'No request of this project was refused since this server started ',
        format.ago(since, now), '.'));
  }
  return section('refused', 'Refused requests', h('span', { 'data-testid': 'refused-total' }, `${plural(refused.total, 'request')} refused or stored in part`),
    h('div', { class: 'health-refused' },
      h('div', { class: 'table-wrap health-reasons' },
        h('table', { class: 'table health-table', 'data-testid': 'refused-reasons' },
          h('caption', { class: 'health-caption' }, 'By reason'),
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'Reason'),
            h('th', { scope: 'col', class: 'num' }, 'Requests'),
            h('th', { scope: 'col' }, 'Last'))),
          h('tbody', null, refused.by_reason.map((r) => reasonRow(r, now, 'refused-reason'))))),
      h('div', { class: 'table-wrap health-recent' },
        h('table', { class: 'table health-table', 'data-testid': 'refused-recent' },
          h('caption', { class: 'health-caption' }, 'Latest, newest first'),
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'Time'),
            h('th', { scope: 'col' }, 'Reason'),
            h('th', { scope: 'col', class: 'num' }, 'Status'),
            h('th', { scope: 'col' }, 'Via'),
            h('th', { scope: 'col' }, 'Message'),
            h('th', { scope: 'col', class: 'num' }, 'Lost'))),
          h('tbody', null, refused.recent.map((r) => h('tr', { 'data-testid': 'refused-row', dataset: { reason: r.reason } },
            h('td', { class: 'nowrap', 'data-testid': 'refused-at' }, when(r.at, now)),
            h('td', { class: 'nowrap', 'data-testid': 'refused-reason-label' }, reasonLabel(r.reason)),
            h('td', { class: 'num', 'data-testid': 'refused-status' }, String(r.status)),
            h('td', { class: 'nowrap', 'data-testid': 'refused-via' }, via(r)),
            h('td', { class: 'health-message', 'data-testid': 'refused-message' }, r.message),
            h('td', { class: 'num', 'data-testid': 'refused-rejected' }, rejectedText(r) || '—'))))))));
}

function reasonRow(r, now, testid) {
  return h('tr', { 'data-testid': testid, dataset: { reason: r.reason } },
    h('th', { scope: 'row' }, reasonLabel(r.reason), ' ', h('code', null, r.reason)),
    h('td', { class: 'num', 'data-testid': `${testid}-count` }, format.count(r.count)),
    h('td', { class: 'nowrap' }, when(r.last_at, now)));
}

function unauthenticatedSection(refused, now) {
  const total = unauthenticatedTotal(refused);
  const hint = h('p', { class: 'muted health-hint' },
    'Requests that came with no API key, or a key that is wrong or revoked. They belong to no project, so every project of this server sees the same count. ',
    'If your spans do not arrive, check that the exporter sends ', h('code', null, 'Authorization: Bearer <key>'), ' with a key of this project.');
  return section('unauthenticated', 'Requests without a valid key',
    h('span', { 'data-testid': 'unauthenticated-total' }, total ? `${plural(total, 'request')} refused` : 'none'),
    hint,
    total
      ? h('div', { class: 'table-wrap health-reasons' },
        h('table', { class: 'table health-table', 'data-testid': 'unauthenticated-reasons' },
          h('caption', { class: 'health-caption' }, 'By reason, for the whole server'),
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'Reason'),
            h('th', { scope: 'col', class: 'num' }, 'Requests'),
            h('th', { scope: 'col' }, 'Last'))),
          h('tbody', null, refused.unauthenticated.map((r) => reasonRow(r, now, 'unauthenticated-reason')))))
      : null);
}
