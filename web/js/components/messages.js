// Canonical chat messages (`{role, parts, name?, finish_reason?}`, see docs/trace-contract.md)
// as a conversation: who said what, reasoning tucked away, tool calls with their arguments and
// tool results next to the name of the call they answer. All content reaches the page as text.
import { h, icon } from '../dom.js';
import { messageText } from '../format.js';
import { renderPayload } from './json.js';

const ROLE_LABELS = {
  system: 'System', developer: 'Developer', user: 'User', human: 'User',
  assistant: 'Assistant', model: 'Assistant', ai: 'Assistant', tool: 'Tool', function: 'Tool',
};

/**
 * `opts.compact`: denser layout for lists; `opts.toolNames`: a Map of tool call id → tool name
 * known from elsewhere (earlier spans), used when a result's call is not in `messages`;
 * `opts.open`: JSON levels open in arguments and results (default 2).
 */
export function renderMessages(messages, opts = {}) {
  const list = Array.isArray(messages) ? messages : messages ? [messages] : [];
  const toolNames = new Map(opts.toolNames || []);
  for (const message of list) {
    for (const part of partsOf(message)) {
      if (part.type === 'tool_call' && part.id && part.name) toolNames.set(part.id, part.name);
    }
  }
  const root = h('div', { class: ['messages', opts.compact && 'compact'], 'data-testid': 'messages' });
  if (list.length === 0) {
    root.append(h('div', { class: 'muted small' }, 'No messages'));
    return root;
  }
  for (const message of list) root.append(renderMessage(message, toolNames, opts));
  return root;
}

/** One message; exported for views that lay out messages themselves (a transcript). */
export function renderMessage(message, toolNames = new Map(), opts = {}) {
  const role = roleOf(message);
  const label = ROLE_LABELS[role] || capitalize(role || 'message');
  const head = h('div', { class: 'msg-head' },
    h('span', { class: 'msg-role' }, label),
    message?.name ? h('span', { class: 'msg-name' }, clip(message.name)) : null,
    message?.finish_reason ? h('span', { class: 'msg-finish', title: 'Finish reason' }, clip(message.finish_reason)) : null);
  const body = h('div', { class: 'msg-body' });
  const parts = partsOf(message);
  for (const part of parts) body.append(renderPart(part, toolNames, opts));
  if (parts.length === 0) body.append(h('div', { class: 'msg-text muted' }, '(empty)'));
  return h('div', { class: ['msg', `msg-${roleClass(role)}`], 'data-role': role || 'unknown' },
    h('div', { class: 'msg-avatar', 'aria-hidden': 'true' }, avatarLetter(role)),
    h('div', { class: 'msg-main' }, head, body));
}

/** One part of a message. */
export function renderPart(part, toolNames = new Map(), opts = {}) {
  const open = opts.open ?? 2;
  switch (part?.type) {
    case 'text':
      return renderPayload(typeof part.content === 'string' ? part.content : part.content ?? '', { clamp: opts.compact ? 600 : 2000, copy: false, open });
    case 'reasoning':
      return h('details', { class: 'msg-reasoning' },
        h('summary', null, 'Reasoning'),
        renderPayload(part.content ?? '', { copy: false, open }));
    case 'tool_call':
      return toolCall(part, open);
    case 'tool_call_response':
      return toolResult(part, toolNames, open);
    case 'media':
      return media(part);
    default:
      return h('div', { class: 'msg-other' },
        h('div', { class: 'msg-part-label' }, part?.type && part.type !== 'other' ? String(part.type) : 'Other content'),
        renderPayload(part?.type === 'other' ? part.value : part, { open }));
  }
}

function toolCall(part, open) {
  return h('div', { class: 'msg-tool-call', 'data-testid': 'tool-call' },
    h('div', { class: 'msg-tool-head' },
      h('span', { class: 'msg-tool-icon', 'aria-hidden': 'true' }, icon('chevronRight', { size: 12 })),
      h('span', { class: 'msg-tool-label' }, 'Tool call'),
      h('span', { class: 'msg-tool-name mono' }, clip(part.name || 'unnamed tool')),
      part.id ? h('span', { class: 'msg-tool-id mono', title: 'Tool call id' }, clip(part.id)) : null),
    renderPayload(part.arguments, { open, empty: 'no arguments' }));
}

function toolResult(part, toolNames, open) {
  const name = part.id ? toolNames.get(part.id) : null;
  return h('div', { class: 'msg-tool-result', 'data-testid': 'tool-result' },
    h('div', { class: 'msg-tool-head' },
      h('span', { class: 'msg-tool-label' }, 'Result'),
      name ? h('span', { class: 'msg-tool-name mono' }, name) : null,
      part.id ? h('span', { class: 'msg-tool-id mono', title: 'Tool call id' }, clip(part.id)) : null),
    renderPayload(part.response, { open, empty: 'no result' }));
}

function media(part) {
  const kind = part.modality || (part.mime_type ? String(part.mime_type).split('/')[0] : 'media');
  const ref = part.uri || part.file_id;
  return h('div', { class: 'msg-media' },
    h('span', { class: 'msg-media-kind' }, capitalize(String(kind))),
    part.mime_type ? h('span', { class: 'muted mono' }, clip(part.mime_type)) : null,
    // A reference only: the dashboard never loads content a span points at.
    ref ? h('span', { class: 'msg-media-ref mono', title: clip(ref, 1000) }, clip(ref)) : h('span', { class: 'muted' }, 'inline content not stored'));
}

/** Canonical parts, or parts made from a provider-shaped `{role, content}` message. */
function partsOf(message) {
  if (!message || typeof message !== 'object') {
    return message === null || message === undefined ? [] : [{ type: 'text', content: String(message) }];
  }
  if (Array.isArray(message.parts)) return message.parts.filter((p) => p && typeof p === 'object');
  const text = messageText(message);
  if (text) return [{ type: 'text', content: text }];
  if (message.content !== undefined) return [{ type: 'other', value: message.content }];
  return [];
}

function roleOf(message) {
  return message && typeof message === 'object' && typeof message.role === 'string' ? message.role.toLowerCase() : '';
}

function roleClass(role) {
  const label = ROLE_LABELS[role];
  if (label === 'Assistant') return 'assistant';
  if (label === 'User') return 'user';
  if (label === 'Tool') return 'tool';
  if (label === 'System' || label === 'Developer') return 'system';
  return 'other';
}

function avatarLetter(role) {
  const cls = roleClass(role);
  return { assistant: 'A', user: 'U', tool: 'T', system: 'S' }[cls] || (role ? role[0].toUpperCase() : '?');
}

function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/** Names, ids and references are cut: span content can make any of them megabytes long. */
function clip(v, max = 300) {
  const s = String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
