// Alert rules, channels and events as the alerts page reads and writes them (pure, for the unit
// tests). The server checks every rule and channel and its 400 says what to fix, so nothing here
// second-guesses a value: only text that is no number at all is stopped, since JSON could not
// carry it. The model is crates/lemma-core/src/alerts.
import * as format from '../format.js';

/** What a window rule can measure, as the server names it, with how the page words it. */
export const MEASURES = [
  { value: 'count', label: 'Runs', unit: 'runs' },
  { value: 'error_rate', label: 'Error rate', unit: '0 to 1' },
  { value: 'p95_latency_ms', label: 'p95 latency', unit: 'ms' },
  { value: 'cost_usd', label: 'Cost', unit: 'USD' },
];

export const OPS = ['>', '>=', '<', '<='];

/** Units a window is typed in; it is sent in seconds. */
export const WINDOW_UNITS = [
  { unit: 'd', secs: 86400, label: 'days' },
  { unit: 'h', secs: 3600, label: 'hours' },
  { unit: 'min', secs: 60, label: 'minutes' },
  { unit: 's', secs: 1, label: 'seconds' },
];

/** A new rule's condition, and a window's when one is first chosen. */
export const DEFAULT_WINDOW = { type: 'window', measure: 'error_rate', op: '>', threshold: 0.2, window_secs: 600 };

/** Query examples for a rule, in the search bar's menu (components/search.js). */
export const RULE_EXAMPLES = [
  { query: 'signal:error_streak', hint: 'calls failed in a row' },
  { query: 'signal.severity:critical', hint: 'any critical signal' },
  { query: 'signal:loop,cycle', hint: 'an agent going round in circles' },
  { query: 'status:error', hint: 'failed runs' },
  { query: 'env:prod', hint: 'one environment' },
  { query: 'agent:', hint: 'one agent', template: true },
  { query: 'duration>30s', hint: 'slower than 30 seconds' },
  { query: 'cost>0.5', hint: 'costing over 50 cents' },
];

function measureOf(name) {
  return MEASURES.find((m) => m.value === name) || null;
}

/** A number of seconds in the largest unit it fills exactly: `{amount, unit}`. */
export function splitWindow(secs) {
  const n = Number(secs);
  if (!Number.isFinite(n) || n <= 0) return { amount: n, unit: 's' };
  const u = WINDOW_UNITS.find((w) => n % w.secs === 0) || WINDOW_UNITS[WINDOW_UNITS.length - 1];
  return { amount: n / u.secs, unit: u.unit };
}

/** "10 min", "1 day", "90 s". */
export function secondsWords(secs) {
  const { amount, unit } = splitWindow(secs);
  if (unit === 'd') return `${amount} ${amount === 1 ? 'day' : 'days'}`;
  return `${amount} ${unit}`;
}

/** A measured value as people read it for its measure; a plain number when it is not known. */
export function measureValue(measure, value) {
  const n = Number(value);
  if (value === null || value === undefined || !Number.isFinite(n)) return '—';
  switch (measure) {
    case 'error_rate': return `${(n * 100).toFixed(1)}%`;
    case 'cost_usd': return format.cost(n);
    case 'p95_latency_ms': return `${Math.round(n)} ms`;
    case 'count': return format.count(n);
    default: return String(Math.round(n * 10000) / 10000);
  }
}

/** "each matching run", or "error rate > 20.0% over the last 10 min". */
export function conditionWords(condition) {
  if (!condition || condition.type === 'each_run') return 'each matching run';
  if (condition.type !== 'window') return String(condition.type);
  const m = measureOf(condition.measure);
  const label = m ? m.label.toLowerCase() : String(condition.measure);
  return `${label} ${condition.op} ${measureValue(condition.measure, condition.threshold)} over the last ${secondsWords(condition.window_secs)}`;
}

/** The rule's query as a list shows it: an empty one watches every run. */
export function queryWords(query) {
  return String(query || '').trim() ? String(query) : 'every run';
}

/** What the rule editor shows for a rule (or a new one). */
export function ruleForm(rule) {
  const c = rule?.condition?.type === 'window' ? rule.condition : null;
  const w = c || DEFAULT_WINDOW;
  const { amount, unit } = splitWindow(w.window_secs);
  return {
    name: rule?.name ?? '',
    query: rule?.query ?? '',
    type: c ? 'window' : 'each_run',
    measure: w.measure,
    op: w.op,
    threshold: String(w.threshold),
    amount: String(amount),
    unit,
    channels: [...(rule?.channels || [])],
    enabled: rule ? rule.enabled !== false : true,
  };
}

function number(text, label, field) {
  const value = String(text ?? '').trim();
  if (value === '') return { error: `Enter the ${label}.`, field };
  const n = Number(value);
  if (!Number.isFinite(n)) return { error: `The ${label} “${value}” is not a number.`, field };
  return { n };
}

/**
 * The body a rule is created or replaced with, from what the editor holds: `{body}` or
 * `{error, field}`. Names, queries, ranges and channels are the server's to judge.
 */
export function ruleBody(form) {
  const body = {
    name: String(form.name ?? ''),
    query: String(form.query ?? '').trim(),
    condition: { type: 'each_run' },
    channels: [...(form.channels || [])],
    enabled: Boolean(form.enabled),
  };
  if (form.type === 'window') {
    const threshold = number(form.threshold, 'threshold', 'threshold');
    if (threshold.error) return threshold;
    const amount = number(form.amount, 'window', 'window');
    if (amount.error) return amount;
    const unit = WINDOW_UNITS.find((u) => u.unit === form.unit) || WINDOW_UNITS[WINDOW_UNITS.length - 1];
    const secs = amount.n * unit.secs;
    if (!Number.isInteger(secs)) return { error: `A window is a whole number of seconds, not ${amount.n} ${unit.label}.`, field: 'window' };
    body.condition = { type: 'window', measure: form.measure, op: form.op, threshold: threshold.n, window_secs: secs };
  }
  return { body };
}

/** What the channel editor shows for a channel (or a new one). */
export function channelForm(channel) {
  return { name: channel?.name ?? '', kind: channel?.kind || 'webhook', url: channel?.url ?? '', secret: '', removeSecret: false };
}

/**
 * The body a channel is created or replaced with. A secret is never shown back, so on an edit
 * an empty field keeps the one the channel has (left out) and "remove" sends `""`.
 */
export function channelBody(form, { editing = false } = {}) {
  const body = { name: String(form.name ?? ''), kind: form.kind, url: String(form.url ?? '').trim() };
  const secret = String(form.secret ?? '');
  if (editing && form.removeSecret) body.secret = '';
  else if (secret !== '') body.secret = secret;
  return { body };
}

export const KINDS = [
  { value: 'webhook', label: 'Webhook', words: 'the event as JSON' },
  { value: 'slack', label: 'Slack', words: 'a Slack-compatible incoming webhook' },
];

export function kindLabel(kind) {
  return KINDS.find((k) => k.value === kind)?.label || String(kind);
}

/**
 * How many keys (runs, or the window) each rule is firing for now: the newest event of each key
 * says. `events` are newest first, as the API lists them; a key older than the events read is
 * not counted.
 */
export function firingByRule(events) {
  const seen = new Set();
  const out = new Map();
  for (const e of events || []) {
    const k = `${e.rule_id}\u0001${e.key}`;
    if (seen.has(k)) continue;
    seen.add(k);
    if (e.state === 'firing') out.set(e.rule_id, (out.get(e.rule_id) || 0) + 1);
  }
  return out;
}

const QUERY_POSITION = /\binvalid at position (\d+): ([\s\S]*)$/;

/**
 * A rule's 400 about its query ("the rule's query is invalid at position 7: …") in the words the
 * search bar marks a position from (`setError`), or null for any other message.
 */
export function queryProblem(message) {
  const m = QUERY_POSITION.exec(String(message || ''));
  return m ? `invalid query at position ${m[1]}: ${m[2]}` : null;
}

/** "1 attempt", "6 attempts". */
function attempts(n) {
  const k = Number(n) || 0;
  return `${k} ${k === 1 ? 'attempt' : 'attempts'}`;
}

/**
 * A delivery beside its status badge: "1 attempt · HTTP 200", "2 attempts so far",
 * "6 attempts · HTTP 500" (why it failed is shown apart).
 */
export function deliveryWords(d) {
  const parts = [d.status === 'pending' ? `${attempts(d.attempts)} so far` : attempts(d.attempts)];
  if (d.response_status) parts.push(`HTTP ${d.response_status}`);
  return parts.join(' · ');
}

/** What a test send came to, from the receiver's answer. */
export function testWords(answer) {
  const http = answer?.status ? `HTTP ${answer.status}` : null;
  if (answer?.delivered) return `Delivered: the receiver answered ${http || 'with success'}.`;
  const why = [http && `the receiver answered ${http}`, answer?.error].filter(Boolean).join(': ');
  return `Not delivered: ${why || 'no answer'}.`;
}

/** The fields of events that change between two reads (deliveries go on after an event). */
export function eventsSignature(events) {
  return (events || []).map((e) => [e.id, e.state, ...(e.deliveries || []).map((d) => `${d.channel_id}/${d.status}/${d.attempts}/${d.response_status ?? ''}/${d.error ?? ''}`)].join(' ')).join('\n');
}

/** The question the delete dialogs ask. */
export function deleteRuleQuestion(rule) {
  return `Delete the rule “${rule.name}”? It stops raising events; the events it raised stay in the history.`;
}

export function deleteChannelQuestion(channel) {
  return `Delete the channel “${channel.name}”? A rule that still notifies it must be changed first.`;
}
