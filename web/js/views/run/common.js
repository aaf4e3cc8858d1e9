// Small pieces the run's views share: how a span is summed up in a row, the exception block,
// and a copyable id.
import { h, icon } from '../../dom.js';
import * as fmt from '../../format.js';
import { clampedText, copyButton } from '../../components/json.js';
import { durationMs } from './spantree.js';

/** What a row shows after the span's name: the model, else the tool, else the agent. */
export function detailOf(span) {
  const name = String(span.name || '');
  const detail = span.model || span.tool_name || span.agent_name;
  // "chat gpt-4.1" already says gpt-4.1.
  return detail && !name.includes(String(detail)) ? String(detail) : '';
}

export function tokensOf(span) {
  if (span.total_tokens != null) return span.total_tokens;
  if (span.input_tokens != null || span.output_tokens != null) return (span.input_tokens || 0) + (span.output_tokens || 0);
  return null;
}

export function spanDuration(span) {
  return fmt.duration(durationMs(span));
}

/** Exceptions recorded on a span (type, message, stack trace), or its status message alone. */
export function errorBlock(error, { title = 'Error' } = {}) {
  if (!error) return null;
  const exceptions = error.exceptions || [];
  return h('div', { class: 'error-block', role: 'group', 'data-testid': 'error-block' },
    h('div', { class: 'error-block-head' }, icon('alert', { size: 14 }), h('span', null, title)),
    error.message && !exceptions.some((e) => error.message.includes(e.message) && e.message)
      ? h('div', { class: 'error-message' }, clampedText(error.message)) : null,
    exceptions.map((e) => h('div', { class: 'exception', 'data-testid': 'exception' },
      h('div', { class: 'exception-line' },
        e.type ? h('span', { class: 'exception-type mono' }, clampedText(e.type, { clamp: 300 })) : null,
        e.message ? h('span', { class: 'exception-message' }, clampedText(e.message)) : null),
      e.stacktrace ? h('details', { class: 'stacktrace' },
        h('summary', null, 'Stack trace'),
        h('pre', null, clampedText(e.stacktrace, { clamp: 20000 }))) : null)));
}

const PRECISE = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 });
const PRECISE_DATE = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 });

/** Wall-clock time to the millisecond, from unix nanoseconds: where exact times are read. */
export function preciseTime(nanos, { date = false } = {}) {
  const d = new Date(nanos / 1e6);
  if (Number.isNaN(d.getTime())) return '—';
  return (date ? PRECISE_DATE : PRECISE).format(d);
}

/** An id in monospace with a copy button. */
export function copyableId(value, label) {
  return h('span', { class: 'copy-id' },
    h('span', { class: 'mono copy-id-text', title: value }, value),
    copyButton(() => value, `Copy ${label || 'id'}`));
}

/** Tool call id → tool name, from every tool span and model tool call of the run: names tool results. */
export function toolNamesOf(tree) {
  return toolNamesOfSpans(tree.order.map((node) => node.span));
}

/** The same from some spans only (a span read alone names the tool calls it holds). */
export function toolNamesOfSpans(spans) {
  const names = new Map();
  for (const s of spans) {
    if (s.tool_call_id && s.tool_name) names.set(String(s.tool_call_id), String(s.tool_name));
    const messages = [...(Array.isArray(s.input_messages) ? s.input_messages : []), ...(Array.isArray(s.output_messages) ? s.output_messages : [])];
    for (const message of messages) {
      for (const part of Array.isArray(message?.parts) ? message.parts : []) {
        if (part?.type === 'tool_call' && part.id && part.name) names.set(String(part.id), String(part.name));
      }
    }
  }
  return names;
}
