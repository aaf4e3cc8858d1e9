// Canonical chat messages (`{role, parts, name?, finish_reason?}`, see docs/trace-contract.md)
// as a conversation: who said what, reasoning tucked away, tool calls with their arguments and
// tool results next to the name of the call they answer. All content reaches the page as text.
// Also retrieved documents: what a model is given to read, drawn as cards beside its messages.
import { h, icon } from '../dom.js';
import { messageText, parseMaybeJson } from '../format.js';
import { copyButton } from './copy.js';
import { clampedText, clampedView, renderPayload } from './json.js';
import { renderMarkdown } from './markdown.js';

const ROLE_LABELS = {
  system: 'System', developer: 'Developer', user: 'User', human: 'User',
  assistant: 'Assistant', model: 'Assistant', ai: 'Assistant', tool: 'Tool', function: 'Tool',
};

/**
 * `opts.compact`: denser layout for lists; `opts.toolNames`: a Map of tool call id → tool name
 * known from elsewhere (earlier spans), used when a result's call is not in `messages`;
 * `opts.open`: JSON levels open in arguments and results (default 2); `opts.markdown`: text as
 * markdown, each message with a copy button and a switch to its raw text (and JSON when it holds
 * more than text).
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
  const parts = partsOf(message);
  const body = h('div', { class: 'msg-body' });
  const draw = (view) => {
    body.replaceChildren();
    if (view === 'json') {
      // One level more than parts: a message is `{role, parts: [...]}` around what it says.
      body.append(renderPayload(message, { open: (opts.open ?? 2) + 1, copy: false }));
      return;
    }
    for (const part of parts) body.append(renderPart(part, toolNames, { ...opts, view, role }));
    if (parts.length === 0) body.append(h('div', { class: 'msg-text muted' }, '(empty)'));
  };
  const head = h('div', { class: 'msg-head' },
    h('span', { class: 'msg-role' }, label),
    message?.name ? h('span', { class: 'msg-name' }, clip(message.name)) : null,
    message?.finish_reason ? h('span', { class: 'msg-finish', title: 'Finish reason' }, clip(message.finish_reason)) : null,
    opts.markdown ? h('span', { class: 'msg-actions' },
      viewSwitch(viewsOf(parts), draw),
      copyButton(() => copyTextOf(message, parts), { compact: true, what: 'message' })) : null);
  draw(opts.markdown ? 'rendered' : 'plain');
  return h('div', { class: ['msg', `msg-${roleClass(role)}`], 'data-role': role || 'unknown' },
    h('div', { class: 'msg-avatar', 'aria-hidden': 'true' }, avatarLetter(role)),
    h('div', { class: 'msg-main' }, head, body));
}

const VIEW_LABELS = { rendered: 'Rendered', raw: 'Raw', json: 'JSON' };

/** The ways a message can be read: rendered, its raw text when it has text, JSON when it has more. */
function viewsOf(parts) {
  const isText = (p) => (p.type === 'text' || p.type === 'reasoning') && typeof p.content === 'string';
  return ['rendered', parts.some(isText) && 'raw', parts.some((p) => !isText(p)) && 'json'].filter(Boolean);
}

function viewSwitch(views, draw) {
  if (views.length < 2) return null;
  const buttons = views.map((view) => h('button', {
    type: 'button', class: 'msg-view', 'aria-pressed': String(view === 'rendered'), 'data-testid': `msg-view-${view}`,
  }, VIEW_LABELS[view]));
  buttons.forEach((button, i) => button.addEventListener('click', () => {
    for (const other of buttons) other.setAttribute('aria-pressed', String(other === button));
    draw(views[i]);
  }));
  return h('span', { class: 'msg-views', role: 'group', 'aria-label': 'Show the message as' }, buttons);
}

/** A message's text when it is only text, else the message as JSON. */
function copyTextOf(message, parts) {
  if (parts.length && parts.every((p) => p.type === 'text' && typeof p.content === 'string')) return parts.map((p) => p.content).join('\n\n');
  return JSON.stringify(message, null, 2) ?? '';
}

/**
 * Text as its view asks: `plain` (a payload), `raw` (the source, monospace), `rendered`
 * (markdown; a tool's output and JSON text keep their payload look). Clamped before drawing.
 */
function textPart(content, opts) {
  const clamp = opts.compact ? 600 : 2000;
  if (typeof content !== 'string') return renderPayload(content ?? '', { clamp, copy: false, open: opts.open ?? 2 });
  if (opts.view === 'raw') return h('div', { class: 'msg-raw', 'data-testid': 'msg-raw' }, clampedText(content, { clamp }));
  const structured = parseMaybeJson(content) !== content;
  if (opts.view !== 'rendered' || ROLE_LABELS[opts.role] === 'Tool' || structured) return renderPayload(content, { clamp, copy: false, open: opts.open ?? 2 });
  return clampedView(content, { clamp, class: 'msg-md', show: (part) => renderMarkdown(part) });
}

/** One part of a message; `opts.view` as in textPart (default `plain`). */
export function renderPart(part, toolNames = new Map(), opts = {}) {
  const open = opts.open ?? 2;
  switch (part?.type) {
    case 'text':
      return textPart(part.content, opts);
    case 'reasoning':
      return h('details', { class: 'msg-reasoning' },
        h('summary', null, 'Reasoning'),
        textPart(part.content, opts));
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

// ---- Retrieved documents ----

const DOC_PAGE = 20; // cards built at a time

/**
 * Retrieved documents as cards: rank, score, id and source, then the content (clamped) and the
 * rest as JSON. `value` is a retrieval span's output: GenAI's `[{id, content, score, metadata}]`
 * (OpenInference's documents arrive in that shape), strings, or `{text}` / `{page_content}`
 * objects. Returns null when `value` is not such a list, for the caller to show it as a payload.
 */
export function renderDocuments(value, { clamp = 1200 } = {}) {
  const list = parseMaybeJson(value);
  if (!Array.isArray(list) || !list.length) return null;
  const docs = list.map(documentOf);
  if (docs.some((d) => !d)) return null;
  const root = h('ol', { class: 'docs', 'data-testid': 'documents' });
  const add = (from) => {
    const end = Math.min(docs.length, from + DOC_PAGE);
    for (let i = from; i < end; i += 1) root.append(documentCard(docs[i], i, clamp));
    if (end < docs.length) {
      const more = h('button', { type: 'button', class: 'link-button docs-more' }, `Show ${Math.min(DOC_PAGE, docs.length - end)} more of ${docs.length - end} documents`);
      more.addEventListener('click', () => {
        more.parentElement.remove();
        add(end);
      });
      root.append(h('li', { class: 'docs-more-item' }, more));
    }
  };
  add(0);
  return root;
}

const CONTENT_KEYS = ['content', 'text', 'page_content', 'pageContent'];
const SCORE_KEYS = ['score', 'relevance_score', 'relevanceScore'];
const SOURCE_KEYS = ['source', 'url', 'uri', 'file_name', 'filename', 'file_path', 'title'];

/** `{content, score, id, source, extra}` of one item, or null when it does not look like a document. */
function documentOf(item) {
  if (typeof item === 'string') return { content: item, score: null, id: null, source: null, extra: null };
  if (!item || typeof item !== 'object' || Array.isArray(item)) return null;
  const doc = item.document && typeof item.document === 'object' && !Array.isArray(item.document) ? item.document : item;
  const metadata = doc.metadata && typeof doc.metadata === 'object' && !Array.isArray(doc.metadata) ? doc.metadata : {};
  const pick = (keys, ...from) => {
    for (const o of from) for (const k of keys) if (o[k] !== undefined && o[k] !== null && o[k] !== '') return [k, o[k]];
    return [null, null];
  };
  const [contentKey, content] = pick(CONTENT_KEYS, doc);
  const [scoreKey, rawScore] = pick(SCORE_KEYS, doc, item);
  const score = rawScore === null || rawScore === '' || typeof rawScore === 'object' ? null : Number(rawScore);
  const [, id] = pick(['id', 'document_id'], doc, item, metadata);
  const [sourceKey, source] = pick(SOURCE_KEYS, doc, metadata);
  if (contentKey === null && scoreKey === null && id === null) return null;
  // What the card does not show in its head or body stays readable below it.
  const extra = Object.fromEntries(Object.entries(doc).filter(([k]) => ![contentKey, scoreKey, 'id', 'document_id', sourceKey, 'metadata'].includes(k)));
  const meta = Object.fromEntries(Object.entries(metadata).filter(([k]) => k !== sourceKey));
  if (Object.keys(meta).length) extra.metadata = meta;
  return {
    content,
    score: Number.isFinite(score) ? score : null,
    id: id === null ? null : String(typeof id === 'object' ? JSON.stringify(id) : id),
    source: source === null || typeof source === 'object' ? null : String(source),
    extra: Object.keys(extra).length ? extra : null,
  };
}

function documentCard(doc, i, clamp) {
  const score = doc.score;
  return h('li', { class: 'doc', 'data-testid': 'document' },
    h('div', { class: 'doc-head' },
      h('span', { class: 'doc-rank num' }, `#${i + 1}`),
      doc.id !== null ? h('span', { class: 'doc-id mono', title: clip(doc.id, 1000) }, clip(doc.id, 120)) : null,
      doc.source !== null ? h('span', { class: 'doc-source', title: clip(doc.source, 1000) }, clip(doc.source, 200)) : null,
      score !== null ? h('span', { class: 'doc-score', title: `Score ${score}`, 'data-testid': 'doc-score' },
        score >= 0 && score <= 1 ? h('span', { class: 'doc-score-bar', 'aria-hidden': 'true' }, h('span', { style: { width: `${score * 100}%` } })) : null,
        h('span', { class: 'num' }, formatScore(score))) : null),
    doc.content === null ? null
      : typeof doc.content === 'string' ? h('div', { class: 'doc-content' }, clampedText(doc.content, { clamp }))
        : renderPayload(doc.content, { open: 1, copy: false }),
    doc.extra ? h('details', { class: 'doc-extra' }, h('summary', null, 'Metadata'), renderPayload(doc.extra, { open: 1 })) : null);
}

/** Three significant digits: 0.91, 0.912, 12.3; tiny scores in exponent form. */
export function formatScore(score) {
  if (Number.isInteger(score)) return String(score);
  if (Math.abs(score) < 0.001) return score.toExponential(2);
  return String(Number(score.toPrecision(3)));
}
