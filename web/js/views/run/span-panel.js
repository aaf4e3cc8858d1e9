// Everything about one span: what it did (messages, tool call, retrieved documents, input and
// output) first, as that is what a reader opens a span for; then what it cost, and every
// attribute, event, log and resource value exactly as received.
import { h, icon } from '../../dom.js';
import * as fmt from '../../format.js';
import * as badges from '../../components/badges.js';
import { clampedText, copyButton, payloadText, renderPayload } from '../../components/json.js';
import { renderDocuments, renderMessages } from '../../components/messages.js';
import { copyableId, errorBlock, preciseTime, toolNamesOfSpans } from './common.js';
import { errorOf } from './fold.js';
import { durationMs, endOf, startOf } from './spantree.js';
import { addToDatasetButton } from '../dataset-add.js';

const VALUE_CLAMP = 1200; // characters of a value shown before "Show more"
const NAME_CLAMP = 300; // of a name, a key or an id

/**
 * `span` read in full from GET /runs/{id}/spans/{span_id} (null when the id is not in the run);
 * `ctx`: {start (the run's start, unix ns), parentName (span id → name, when known), orphan,
 * actions: {select, close, openLink}}.
 */
export function renderSpanPanel(span, id, ctx) {
  const { actions } = ctx;
  const tree = { start: ctx.start };
  const closeButton = closeButtonOf(actions);
  if (!span) {
    return h('div', { class: 'span-panel-inner' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Span not found'), h('span', { class: 'spacer' }), closeButton),
      h('div', { class: 'state empty' }, h('strong', null, 'No span with this id in the run'), h('code', null, id)));
  }
  return h('div', { class: 'span-panel-inner', 'data-testid': 'span-panel', dataset: { spanId: span.span_id } },
    h('div', { class: 'panel-head' },
      badges.kind(span.kind),
      h('h2', { class: 'panel-title', title: clip(span.name, 1000), 'data-testid': 'panel-title' }, span.name ? clampedText(span.name, { clamp: NAME_CLAMP }) : '(unnamed)'),
      h('span', { class: 'spacer' }),
      closeButton),
    h('div', { class: 'panel-sub' },
      // Only a failure earns a pill: most spans are "unset", which says nothing.
      span.status === 'error' ? badges.status(span.status, span.status_message) : null,
      h('span', { class: 'num' }, fmt.duration(durationMs(span))),
      h('span', { class: 'muted' }, `at +${fmt.duration((startOf(span) - tree.start) / 1e6)}`),
      span.model ? h('span', { class: 'chip mono' }, clip(span.model, NAME_CLAMP)) : null,
      h('span', { class: 'spacer' }),
      addToDatasetButton({ read: async () => spanCase(span, ctx.runId), what: 'span', testid: 'span-add-to-dataset' })),
    h('div', { class: 'panel-body' },
      errorSection(span),
      conversation(span),
      toolSection(span),
      retrievalSection(span),
      ioSection(span),
      overview(span, ctx),
      attributesSection(span.attributes),
      eventsSection(span.events, tree),
      logsSection(span.logs),
      section('Resource', 'resource', span.resource && Object.keys(span.resource).length ? kvTable(span.resource) : null, { open: false }),
      section('Scope', 'scope', span.scope && (span.scope.name || span.scope.version) ? kvTable(span.scope) : null, { open: false }),
      linksSection(span.links, actions)));
}

/** A span as a test case: its input and output, else its messages. */
function spanCase(span, runId) {
  const some = (v) => v !== null && v !== undefined && v !== '';
  const input = some(span.input) ? span.input : span.input_messages?.length ? span.input_messages : span.tool_args;
  const output = some(span.output) ? span.output : span.output_messages?.length ? span.output_messages : undefined;
  return { input, output, runId, spanId: span.span_id };
}

/** What the panel shows while the span is read: the row's name, and a close button. */
export function renderPanelLoading(row, actions) {
  return h('div', { class: 'span-panel-inner', 'data-testid': 'span-panel-loading', 'aria-busy': 'true' },
    h('div', { class: 'panel-head' },
      row ? badges.kind(row.kind) : null,
      h('h2', { class: 'panel-title' }, row ? row.name || '(unnamed)' : 'Loading span…'),
      h('span', { class: 'spacer' }),
      closeButtonOf(actions)),
    h('div', { class: 'state loading' }, 'Loading span…'));
}

function closeButtonOf(actions) {
  return h('button', { type: 'button', class: 'icon-button', title: 'Close (Esc)', 'aria-label': 'Close span details', 'data-testid': 'panel-close', onclick: actions.close }, icon('x'));
}

function section(title, testid, body, { open = true, count } = {}) {
  if (!body) return null;
  return h('details', { class: 'panel-section', 'data-testid': `panel-${testid}`, open },
    h('summary', null, h('span', { class: 'panel-section-caret', 'aria-hidden': 'true' }, icon('chevronRight', { size: 14 })),
      title, count != null ? h('span', { class: 'panel-count' }, String(count)) : null),
    h('div', { class: 'panel-section-body' }, body));
}

function errorSection(span) {
  const error = errorOf(span);
  return error ? h('div', { class: 'panel-error' }, errorBlock(error, { title: span.status === 'error' ? 'Failed' : 'Exception' })) : null;
}

function overview(span, { actions, parentName, orphan }) {
  const parentId = span.parent_span_id;
  const rows = [
    ['Span ID', copyableId(span.span_id, 'span ID')],
    ['Parent', parentId && !orphan
      ? h('button', { type: 'button', class: 'link-button', onclick: () => actions.select(parentId) }, parentName(parentId) || parentId)
      : parentId ? h('span', null, h('span', { class: 'mono' }, span.parent_span_id), h('span', { class: 'muted' }, ' (not received)')) : h('span', { class: 'muted' }, 'none (root)')],
    ['Trace ID', copyableId(span.trace_id, 'trace ID')],
    ['Status', span.status === 'ok' ? 'OK' : null],
    ['Start', preciseTime(startOf(span), { date: true })],
    ['End', preciseTime(endOf(span), { date: true })],
    ['Duration', fmt.duration(durationMs(span))],
    ['Operation', span.operation],
    ['OTel kind', span.otel_kind],
    ['Model', span.model],
    ['Provider', span.provider],
    ['Response ID', idValue(span.response_id, 'response ID')],
    ['First chunk', firstChunk(span)],
    ['Recorded by', span.scope?.name === 'lemma.proxy' ? "Lemma's LLM proxy" : null],
    ['Tokens', tokens(span)],
    ['Cost', span.cost_usd != null ? `${fmt.cost(span.cost_usd)}${span.cost_source ? ` (${span.cost_source})` : ''}` : null],
    ['Agent', span.agent_name],
    ['Thread', idValue(span.thread_id, 'thread ID')],
    ['User', idValue(span.user_id, 'user ID')],
    ['Session', idValue(span.session_id, 'session ID')],
    ['Environment', span.environment],
    ['Tags', span.tags?.length ? h('span', { class: 'panel-tags' }, span.tags.map((t) => badges.tag(t))) : null],
    ['Metadata', span.metadata && Object.keys(span.metadata).length ? renderPayload(span.metadata, { open: 1 }) : null],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [k, typeof v === 'string' ? clampedText(v, { clamp: VALUE_CLAMP }) : v]);
  return section('Overview', 'overview', h('dl', { class: 'kv panel-kv' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
}

/** An id from span content (any length, any text): clamped, with a copy button for all of it. */
function idValue(value, label) {
  if (value === null || value === undefined || value === '') return null;
  const text = String(value);
  return h('span', { class: 'copy-id' },
    h('span', { class: 'mono copy-id-text' }, clampedText(text, { clamp: NAME_CLAMP })),
    copyButton(() => text, `Copy ${label}`));
}

/** A label over a payload, with a copy button for all of the payload when there is one. */
function partHead(label, value) {
  const present = value !== null && value !== undefined && value !== '';
  return h('div', { class: 'panel-part-head' },
    h('span', { class: 'step-part-label' }, label),
    present ? copyButton(() => payloadText(value), `Copy ${label.toLowerCase()}`) : null);
}

/** How long a streamed model call took to send its first content (`gen_ai.response.time_to_first_chunk`, seconds). */
function firstChunk(span) {
  const seconds = Number(span.attributes?.['gen_ai.response.time_to_first_chunk']);
  return Number.isFinite(seconds) && seconds >= 0 ? `after ${fmt.duration(seconds * 1000)}` : null;
}

function tokens(span) {
  const parts = [
    ['in', span.input_tokens], ['out', span.output_tokens], ['total', span.total_tokens],
    ['cache read', span.cache_read_tokens], ['cache write', span.cache_write_tokens], ['reasoning', span.reasoning_tokens],
  ].filter(([, v]) => v !== null && v !== undefined);
  if (!parts.length) return null;
  return h('span', { class: 'num panel-tokens' }, parts.map(([k, v]) => h('span', null, h('b', null, fmt.count(v)), ` ${k}`)));
}

function toolSection(span) {
  if (span.kind !== 'tool' && !span.tool_name && span.tool_args == null) return null;
  const args = span.tool_args ?? span.input;
  // Arguments and results are code-like: monospace, in boxes as big as what they hold.
  return section('Tool call', 'tool', h('div', { class: 'panel-tool' },
    h('div', { class: 'panel-tool-head' },
      h('span', { class: 'msg-tool-name mono', 'data-testid': 'panel-tool-name' }, clampedText(span.tool_name || span.name || '', { clamp: NAME_CLAMP })),
      span.tool_call_id ? h('span', { class: 'panel-tool-id', title: 'Tool call id' }, idValue(span.tool_call_id, 'tool call ID')) : null),
    partHead('Arguments', args),
    h('div', { class: 'panel-code', 'data-testid': 'panel-tool-args' }, renderPayload(args, { open: 3, empty: 'no arguments', copy: false })),
    partHead('Result', span.output),
    h('div', { class: 'panel-code', 'data-testid': 'panel-tool-result' }, renderPayload(span.output, { open: 2, empty: 'no result recorded', copy: false }))));
}

/** A retrieval's (or a reranker's) query, and the documents it found as cards. */
function retrievalSection(span) {
  if (span.kind !== 'retrieval' && span.kind !== 'reranker') return null;
  const docs = renderDocuments(span.output);
  if (!docs && span.input == null) return null;
  const found = fmt.parseMaybeJson(span.output);
  return section(span.kind === 'reranker' ? 'Reranking' : 'Retrieval', 'retrieval', h('div', { class: 'panel-retrieval' },
    partHead('Query', span.input),
    h('div', { class: 'panel-code' }, renderPayload(span.input, { open: 2, empty: 'no query recorded', copy: false })),
    partHead('Documents', span.output),
    docs || h('div', { class: 'panel-code' }, renderPayload(span.output, { open: 2, empty: 'no documents recorded', copy: false }))),
  { count: docs ? found.length : null });
}

function conversation(span) {
  const input = Array.isArray(span.input_messages) ? span.input_messages : [];
  const output = Array.isArray(span.output_messages) ? span.output_messages : [];
  if (!input.length && !output.length) return null;
  const toolNames = toolNamesOfSpans([span]);
  return section('Messages', 'messages', h('div', { class: 'panel-conversation' },
    input.length ? h('div', { class: 'panel-msg-group' }, h('div', { class: 'step-part-label' }, `Input · ${input.length} message${input.length === 1 ? '' : 's'}`), renderMessages(input, { toolNames, markdown: true })) : null,
    output.length ? h('div', { class: 'panel-msg-group output' }, h('div', { class: 'step-part-label' }, 'Output'), renderMessages(output, { toolNames, markdown: true })) : null), { count: input.length + output.length });
}

function ioSection(span) {
  const hasMessages = (span.input_messages?.length || 0) + (span.output_messages?.length || 0) > 0;
  const shownElsewhere = hasMessages || span.kind === 'tool' || span.tool_name || span.kind === 'retrieval' || span.kind === 'reranker';
  if ((span.input === null || span.input === undefined) && (span.output === null || span.output === undefined)) return null;
  const state = (s) => (s ? h('span', { class: 'badge signal-loop' }, s) : null);
  const head = (label, value, s) => h('div', { class: 'panel-part-head' },
    h('span', { class: 'step-part-label' }, label, ' ', state(s)),
    value !== null && value !== undefined && value !== '' ? copyButton(() => payloadText(value), `Copy ${label.toLowerCase()}`) : null);
  // Raw input/output repeat the messages, tool call or documents when those are shown: closed then.
  return section(shownElsewhere ? 'Raw input / output' : 'Input / output', 'io', h('div', { class: 'panel-io' },
    head('Input', span.input, span.input_state),
    renderPayload(span.input, { open: 2, empty: 'none', copy: false }),
    head('Output', span.output, span.output_state),
    renderPayload(span.output, { open: 2, empty: 'none', copy: false })), { open: !shownElsewhere });
}

function attributesSection(attributes) {
  const entries = attributes && typeof attributes === 'object' ? Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)) : [];
  if (!entries.length) return null;
  const filter = h('input', { type: 'search', class: 'panel-filter', placeholder: 'Filter attributes', 'aria-label': 'Filter attributes', 'data-testid': 'attr-filter' });
  // What the filter searches is kept beside the rows, not in the DOM: a value can be megabytes.
  const search = new Map();
  const rows = entries.map(([k, v]) => {
    const row = h('tr', null, attrKey(k), h('td', null, attrValue(v)));
    search.set(row, `${k}\u0000${typeof v === 'string' ? v : JSON.stringify(v)}`.toLowerCase());
    return row;
  });
  const none = h('div', { class: 'muted small', hidden: true }, 'No attribute matches.');
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows) {
      row.hidden = Boolean(q) && !search.get(row).includes(q);
      if (!row.hidden) shown += 1;
    }
    none.hidden = shown > 0;
  });
  return section('Attributes', 'attributes', h('div', null,
    filter,
    h('table', { class: 'attr-table', 'data-testid': 'attr-table' }, h('tbody', null, rows)),
    none), { count: entries.length });
}

function attrKey(k) {
  return h('th', { class: 'mono', scope: 'row' }, clampedText(k, { clamp: NAME_CLAMP }));
}

/** Every value of the panel is clamped (json.js): a megabyte attribute costs what 1,200 characters do until asked for. */
function attrValue(v) {
  if (v !== null && typeof v === 'object') return renderPayload(v, { open: 1 });
  const parsed = fmt.parseMaybeJson(v);
  if (parsed !== v && parsed && typeof parsed === 'object') return renderPayload(parsed, { open: 0 });
  return clampedText(String(v), { clamp: VALUE_CLAMP, class: ['attr-value', typeof v !== 'string' && 'mono'] });
}

function eventsSection(events, tree) {
  const list = Array.isArray(events) ? events : [];
  if (!list.length) return null;
  return section('Events', 'events', h('ol', { class: 'panel-events' }, list.map((e) => {
    const attrs = e?.attributes && typeof e.attributes === 'object' ? e.attributes : {};
    const isException = e?.name === 'exception';
    const rest = isException
      ? Object.fromEntries(Object.entries(attrs).filter(([k]) => !['exception.type', 'exception.message', 'exception.stacktrace'].includes(k)))
      : attrs;
    return h('li', { class: ['panel-event', isException && 'exception-event'] },
      h('div', { class: 'panel-event-head' },
        h('span', { class: 'panel-event-name' }, clampedText(String(e?.name ?? 'event'), { clamp: NAME_CLAMP })),
        e?.time_unix_nano ? h('span', { class: 'muted num small' }, `+${fmt.duration((Number(e.time_unix_nano) - tree.start) / 1e6)}`) : null),
      isException ? errorBlock({ message: '', exceptions: [{ type: str(attrs['exception.type']), message: str(attrs['exception.message']), stacktrace: str(attrs['exception.stacktrace']) }] }, { title: 'Exception' }) : null,
      Object.keys(rest).length ? kvTable(rest) : null);
  })), { count: list.length });
}

function logsSection(logs) {
  const list = Array.isArray(logs) ? logs : [];
  if (!list.length) return null;
  return section('Logs', 'logs', h('ol', { class: 'panel-events' }, list.map((log) => h('li', { class: 'panel-event' },
    h('div', { class: 'panel-event-head' },
      h('span', { class: 'badge' }, clip(String(log?.severity_text || log?.severity_number || 'log'), NAME_CLAMP)),
      log?.event_name ? h('span', { class: 'panel-event-name' }, clampedText(String(log.event_name), { clamp: NAME_CLAMP })) : null,
      log?.time_unix_nano ? h('span', { class: 'muted num small' }, fmt.time(log.time_unix_nano)) : null),
    log?.body !== undefined && log?.body !== null ? renderPayload(log.body, { open: 1 }) : null,
    log?.attributes && Object.keys(log.attributes).length ? kvTable(log.attributes) : null))), { count: list.length, open: true });
}

function linksSection(links, actions) {
  const list = Array.isArray(links) ? links : [];
  if (!list.length) return null;
  return section('Links', 'links', h('ul', { class: 'panel-events' }, list.map((l) => h('li', { class: 'panel-event' },
    h('div', { class: 'mono small' }, clampedText(`${str(l?.trace_id)} / ${str(l?.span_id)}`, { clamp: NAME_CLAMP })),
    l?.trace_id && l?.span_id ? h('button', { type: 'button', class: 'link-button', onclick: () => actions.openLink(l) }, 'Open') : null,
    l?.attributes && Object.keys(l.attributes).length ? kvTable(l.attributes) : null))), { count: list.length, open: false });
}

function kvTable(obj) {
  return h('table', { class: 'attr-table' }, h('tbody', null, Object.entries(obj).map(([k, v]) => h('tr', null, attrKey(k), h('td', null, attrValue(v))))));
}

/** Cut, for places with no room for a "Show more" (tooltips, chips). */
function clip(v, max) {
  const s = str(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function str(v) {
  return v === null || v === undefined ? '' : String(v);
}
