// The top of a run: what it was (name, agent, status), whether it is still arriving, what is
// worth a look in it (signals), what it cost, where it belongs (thread, user, environment,
// tags), what it was asked and what it answered.
import { h, icon, link, replace } from '../../dom.js';
import * as fmt from '../../format.js';
import * as badges from '../../components/badges.js';
import { renderPayload } from '../../components/json.js';
import { bySeverity, severityOf, severityTag } from '../../components/signals.js';
import { renderMessages } from '../../components/messages.js';
import { copyableId } from './common.js';

/**
 * `payloadsOmitted`: the run's input and output were too large for the outline's answer.
 * `onSignal(signal)`: a signal of the list was chosen (to show the span it points at).
 * `actions`: buttons for the title row ("Add to dataset").
 * The header is made of parts; `updateHeader` redraws only those whose data changed, so a run
 * still arriving refreshes without the header flickering or its cards folding back.
 */
export function renderHeader(run, options = {}) {
  const el = h('section', { class: 'run-header', 'data-testid': 'run-header' });
  el.headerParts = new Map();
  updateHeader(el, run, options);
  return el;
}

/** Redraws the parts of a header whose data changed. */
export function updateHeader(el, run, { payloadsOmitted = false, onSignal = null, actions = null } = {}) {
  const parts = [
    ['crumbs', [run.run_id], () => h('div', { class: 'run-crumbs' }, link('/runs', { class: 'muted' }, 'Runs'), h('span', { class: 'muted' }, '/'), copyableId(run.run_id, 'run ID'))],
    ['title', [run.name, run.agent_name, run.status, run.status_message, run.has_root], () => titleRow(run, actions)],
    ['banner', [run.status, run.status_message], () => (run.status === 'error' && run.status_message
      ? h('div', { class: 'run-error-banner', role: 'alert', 'data-testid': 'run-status-message' }, run.status_message) : null)],
    ['signals', [run.signals], () => signalsList(run.signals || [], onSignal)],
    ['facts', [run.agent_names, run.agent_name, run.start_time, run.start_time_unix_nano, run.duration_ms, run.total_tokens, run.input_tokens, run.output_tokens,
      run.cache_read_tokens, run.cache_write_tokens, run.reasoning_tokens, run.cost_usd, run.span_count, run.error_count, run.thread_id, run.user_id, run.environment], () => facts(run)],
    ['tags', [run.tags], () => ((run.tags || []).length ? h('div', { class: 'run-tags' }, run.tags.map((t) => badges.tag(t))) : null)],
    ['metrics', [run.metrics], () => metrics(run)],
    ['io', [run.input, run.output, payloadsOmitted], () => [io(run),
      payloadsOmitted ? h('div', { class: 'muted small', 'data-testid': 'run-io-omitted' }, 'The run\'s input and output are too large to show here: open the root span to read them.') : null]],
  ];
  for (const [key, data, draw] of parts) {
    const signature = JSON.stringify(data);
    let part = el.headerParts.get(key);
    if (!part) {
      // `display: contents`: the parts lay out as if they were the header's own children.
      part = { el: h('div', { class: 'run-header-part', dataset: { part: key } }), signature: null };
      el.headerParts.set(key, part);
      el.append(part.el);
    }
    if (part.signature === signature) continue;
    part.signature = signature;
    replace(part.el, draw());
  }
  return el;
}

/** `actions`: buttons kept at the row's end (the same element across redraws). */
function titleRow(run, actions) {
  const title = run.name || run.agent_name || 'Unnamed run';
  return h('div', { class: 'run-title-row' },
    h('h1', { class: 'run-title', 'data-testid': 'run-title' }, title),
    badges.status(run.status, run.status_message),
    run.has_root ? null : h('span', {
      class: 'badge run-in-progress', 'data-testid': 'run-in-progress',
      title: 'The root span has not arrived: the run is still going (or was cut off). This page shows new spans as they arrive.',
    }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'In progress'),
    actions ? h('div', { class: 'run-title-actions' }, actions) : null);
}

const SIGNALS_SHOWN = 5;

/** The run's signals, most severe first, each choosing the span it points at. */
function signalsList(signals, onSignal) {
  if (!signals.length) return null;
  const sorted = bySeverity(signals);
  const items = sorted.map((sig, i) => signalItem(sig, onSignal, i >= SIGNALS_SHOWN));
  const hidden = sorted.length - SIGNALS_SHOWN;
  const more = hidden > 0 ? h('button', { type: 'button', class: 'link-button run-signals-more', 'data-testid': 'run-signals-more' }, `Show ${hidden} more`) : null;
  more?.addEventListener('click', () => {
    for (const item of items) item.hidden = false;
    more.remove();
  });
  return h('div', { class: 'run-signals', 'data-testid': 'run-signals', role: 'group', 'aria-label': 'Signals' },
    h('div', { class: 'run-signals-label' }, 'Signals'),
    h('ul', { class: 'run-signals-list' }, items),
    more);
}

function signalItem(sig, onSignal, hidden) {
  const sev = severityOf(sig);
  const extra = [
    sig.label != null && sig.label !== '' ? h('span', { class: 'chip run-signal-label', title: String(sig.label) }, String(sig.label)) : null,
    typeof sig.score === 'number' ? h('span', { class: 'muted num' }, `score ${fmt.compact(sig.score)}`) : null,
  ];
  const body = [
    severityTag(sev),
    h('span', { class: 'run-signal-name' }, sig.kind),
    h('span', { class: 'run-signal-text' }, sig.explanation || ''),
    extra,
  ];
  const target = sig.span_id && onSignal
    ? h('button', { type: 'button', class: 'run-signal-button', title: 'Show the span it points at', onclick: () => onSignal(sig) },
      body, h('span', { class: 'run-signal-go', 'aria-hidden': 'true' }, icon('chevronRight', { size: 14 })))
    : h('div', { class: 'run-signal-button' }, body);
  return h('li', {
    class: ['run-signal', `sev-${sev}`], 'data-testid': 'run-signal', hidden,
    dataset: { signal: sig.kind, severity: sev, spanId: sig.span_id || null },
  }, target);
}

/** Metric events (feedback, scores, evaluations), newest value of each name last. */
function metrics(run) {
  if (!(run.metrics || []).length) return null;
  return h('div', { class: 'run-metrics', 'data-testid': 'run-metrics' },
    h('span', { class: 'run-metrics-label' }, 'Metrics'),
    run.metrics.map((m) => h('span', {
      class: ['metric', metricTone(m.value)],
      'data-testid': 'run-metric',
      title: [m.comment, m.source && `source: ${m.source}`, fmt.dateTime(m.time_unix_nano)].filter(Boolean).join('\n'),
    }, h('span', { class: 'metric-name' }, m.name), h('span', { class: 'metric-value' }, metricValue(m.value)))));
}

function metricValue(value) {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(Math.abs(value) < 1 ? 3 : 2);
  return fmt.truncate(String(value), 60);
}

function metricTone(value) {
  if (value === true) return 'metric-good';
  if (value === false) return 'metric-bad';
  return null;
}

function facts(run) {
  const items = [
    ['Agent', agents(run)],
    ['Started', h('span', { title: String(run.start_time || '') }, fmt.dateTime(run.start_time_unix_nano ?? run.start_time))],
    ['Duration', h('span', { class: 'num' }, fmt.duration(run.duration_ms))],
    ['Tokens', tokens(run)],
    ['Cost', h('span', { class: 'num' }, fmt.cost(run.cost_usd))],
    ['Spans', h('span', { class: 'num' }, fmt.count(run.span_count),
      run.error_count ? h('span', { class: 'fact-error' }, ` · ${fmt.count(run.error_count)} failed`) : null)],
    ['Thread', run.thread_id ? link(`/threads/${encodeURIComponent(run.thread_id)}`, { 'data-testid': 'run-thread' }, run.thread_id) : null],
    ['User', run.user_id],
    ['Environment', run.environment],
  ];
  return h('dl', { class: 'run-facts' },
    items.filter(([, value]) => value !== null && value !== undefined && value !== '')
      .map(([label, value]) => h('div', { class: 'run-fact' }, h('dt', null, label), h('dd', null, value))));
}

function agents(run) {
  const names = run.agent_names?.length ? run.agent_names : run.agent_name ? [run.agent_name] : [];
  if (!names.length) return null;
  return names.length === 1 ? names[0] : `${names[0]} +${names.length - 1}`;
}

function tokens(run) {
  if (run.total_tokens == null && run.input_tokens == null) return null;
  const cache = [
    run.cache_read_tokens ? `${fmt.compact(run.cache_read_tokens)} cache read` : '',
    run.cache_write_tokens ? `${fmt.compact(run.cache_write_tokens)} cache write` : '',
    run.reasoning_tokens ? `${fmt.compact(run.reasoning_tokens)} reasoning` : '',
  ].filter(Boolean).join(' · ');
  return h('span', { class: 'num', title: `${fmt.count(run.input_tokens)} in · ${fmt.count(run.output_tokens)} out${cache ? ` · ${cache}` : ''}` },
    fmt.count(run.total_tokens),
    h('span', { class: 'muted' }, ` (${fmt.compact(run.input_tokens)} in / ${fmt.compact(run.output_tokens)} out${cache ? ` · ${cache}` : ''})`));
}

function io(run) {
  if (isAbsent(run.input) && isAbsent(run.output)) return null;
  return h('div', { class: 'run-io' },
    ioCard('Input', run.input, 'run-input'),
    ioCard('Output', run.output, 'run-output'));
}

function ioCard(label, value, testid) {
  const body = h('div', { class: 'run-io-body' }, content(value));
  const toggle = h('button', { type: 'button', class: 'link-button run-io-toggle', hidden: true }, 'Show all');
  const card = h('div', { class: 'run-io-card clamped', 'data-testid': testid },
    h('div', { class: 'run-io-label' }, label), body, toggle);
  toggle.addEventListener('click', () => {
    const clamped = card.classList.toggle('clamped');
    toggle.textContent = clamped ? 'Show all' : 'Show less';
  });
  // Only long content gets the toggle: measure once the card is laid out.
  requestAnimationFrame(() => {
    if (body.scrollHeight > body.clientHeight + 4) toggle.hidden = false;
    else card.classList.remove('clamped');
  });
  return card;
}

function content(value) {
  if (isMessageList(value)) return renderMessages(value, { compact: true, open: 1 });
  return renderPayload(value, { open: 1, clamp: 0, empty: 'None recorded' });
}

function isAbsent(value) {
  return value === null || value === undefined || value === '';
}

export function isMessageList(value) {
  return Array.isArray(value) && value.length > 0 && value.every((m) => m && typeof m === 'object' && typeof m.role === 'string');
}
