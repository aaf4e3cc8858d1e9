// How numbers, times and payloads read in the dashboard: one place, so every view agrees.

const NUMBER = new Intl.NumberFormat('en-US');

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function count(n) {
  if (n === null || n === undefined) return '—';
  return NUMBER.format(n);
}

/** 1234 → 1.2k, 3400000 → 3.4M: for tight table cells and chart axes. */
export function compact(n) {
  if (n === null || n === undefined) return '—';
  const abs = Math.abs(n);
  if (abs < 1000) return String(Math.round(n * 100) / 100);
  for (const [size, unit] of [[1e9, 'B'], [1e6, 'M'], [1e3, 'k']]) {
    if (abs >= size) return `${(n / size).toFixed(abs >= size * 10 ? 0 : 1)}${unit}`;
  }
  return String(n);
}

/**
 * The one way a cost reads, so values side by side compare: four significant digits under $1
 * (at least two decimals: $0.50, $0.01235, $0.0000387), two decimals from $1 ($1,234.50), never
 * exponent notation. `null` (no price known) is a dash, not $0.
 */
export function cost(usd) {
  if (usd === null || usd === undefined || Number.isNaN(Number(usd))) return '—';
  const n = Number(usd);
  if (n === 0) return '$0.00';
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  if (abs >= 1) return `${sign}$${abs.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  let text = abs.toLocaleString('en-US', { maximumSignificantDigits: 4, useGrouping: false });
  // 0.9999 rounds up to "1": print it as a whole amount rather than "$1" beside "$1.00".
  if (!text.includes('.')) return `${sign}$${Number(text).toFixed(2)}`;
  const decimals = text.length - text.indexOf('.') - 1;
  if (decimals < 2) text = text.padEnd(text.length + 2 - decimals, '0');
  return `${sign}$${text}`;
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined) return '—';
  return `${(ratio * 100).toFixed(ratio < 0.1 && ratio > 0 ? 1 : 0)}%`;
}

/** Unix nanoseconds (number or string) or an ISO string to a Date. */
export function toDate(t) {
  if (t instanceof Date) return t;
  if (typeof t === 'string' && !/^\d+$/.test(t)) return new Date(t);
  return new Date(Number(t) / 1e6);
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function dateTime(t) {
  const d = toDate(t);
  return Number.isNaN(d.getTime()) ? '—' : DATE_TIME.format(d);
}

export function time(t) {
  const d = toDate(t);
  return Number.isNaN(d.getTime()) ? '—' : TIME.format(d);
}

/** "4 min ago": for lists, with the exact time in the element's title. */
export function ago(t, now = Date.now()) {
  const d = toDate(t);
  const s = Math.round((now - d.getTime()) / 1000);
  if (Number.isNaN(s)) return '—';
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.floor(s / 86400)} d ago`;
  return dateTime(d);
}

/** One line of text for a payload (an input or output of any shape), for previews. */
export function preview(value, max = 160) {
  return truncate(oneLine(previewText(value)), max);
}

function previewText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'object') return String(value);
  // Chat-shaped payloads read best as their last message's text.
  const messages = Array.isArray(value) ? value : Array.isArray(value.messages) ? value.messages : null;
  if (messages && messages.length) {
    const text = messageText(messages[messages.length - 1]);
    if (text) return text;
  }
  for (const key of ['text', 'content', 'message', 'prompt', 'query', 'question', 'input', 'output', 'answer', 'result']) {
    if (typeof value[key] === 'string' && value[key]) return value[key];
  }
  return JSON.stringify(value);
}

/** The text of a canonical message (parts) or a provider-shaped one (content). */
export function messageText(message) {
  if (!message || typeof message !== 'object') return typeof message === 'string' ? message : '';
  if (Array.isArray(message.parts)) {
    return message.parts.map((p) => (p.type === 'text' && typeof p.content === 'string' ? p.content : '')).filter(Boolean).join('\n');
  }
  if (typeof message.content === 'string') return message.content;
  if (Array.isArray(message.content)) {
    return message.content.map((c) => (typeof c === 'string' ? c : c?.text || '')).filter(Boolean).join('\n');
  }
  return '';
}

export function oneLine(text) {
  return String(text).replace(/\s+/g, ' ').trim();
}

export function truncate(text, max) {
  const s = String(text);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Pretty JSON for a value that may be a JSON string. */
export function parseMaybeJson(value) {
  if (typeof value !== 'string') return value;
  const t = value.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return value;
  try {
    return JSON.parse(t);
  } catch {
    return value;
  }
}
