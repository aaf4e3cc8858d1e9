// Signals: what in a run is worth a look (crates/lemma-core/src/signals), read the same way on
// every page: coloured by severity, named, explained in a tooltip. Names, labels and
// explanations come from span attributes and evaluators as much as from the server's rules, so
// they are hostile like all span content: text nodes and attributes only (dom.js).
import { h, icon, link } from '../dom.js';
import { truncate } from '../format.js';

/** Most severe first, as the API lists signals. */
export const SEVERITIES = ['critical', 'warning', 'info'];

/**
 * The names the server's rules find, then the flags classifiers commonly set (signals/marks.rs),
 * with what each means: for the query help, completion and the filter builder. Apps name others
 * with `lemma.signal.<name>` attributes.
 */
export const KNOWN_SIGNALS = [
  ['error_streak', 'tool or model calls failed in a row'],
  ['tool_failing', 'one tool failed again and again'],
  ['loop', 'a tool called alike several times in a row'],
  ['similar_calls', 'calls with near-identical arguments'],
  ['cycle', 'the same calls repeated in a cycle'],
  ['agent_depth', 'sub-agents nested too deep'],
  ['fan_out', 'one span started too many sub-agents'],
  ['context_window', "a call nearly filled the model's context"],
  ['token_spike', "many times the agent's usual tokens"],
  ['cost_spike', "many times the agent's usual cost"],
  ['stalled', 'an open run went quiet'],
  ['rephrase', 'the user asked again in other words'],
  ['abandoned', 'the user left after a turn went wrong'],
  ['jailbreak_attempt', 'marked by a classifier'],
  ['prompt_injection', 'marked by a classifier'],
  ['pii_detected', 'marked by a classifier'],
  ['toxic', 'marked by a classifier'],
  ['user_frustrated', 'marked by a classifier'],
  ['hallucination', 'marked by a classifier'],
  ['agent_looping', 'marked by a classifier'],
].map(([name, hint]) => ({ name, hint }));

const TITLE_LINE = 300;
const TITLE_LINES = 12;

/** A signal's severity as one of SEVERITIES (summaries stored before severities are warnings). */
export function severityOf(sig) {
  return SEVERITIES.includes(sig?.severity) ? sig.severity : 'warning';
}

function rank(sig) {
  return SEVERITIES.indexOf(severityOf(sig));
}

/** The signals most severe first; the server's order is kept within a severity. */
export function bySeverity(list) {
  return [...(list || [])].sort((a, b) => rank(a) - rank(b));
}

/** The most severe of some signals, or null. */
export function worst(list) {
  return bySeverity(list)[0] || null;
}

/** One line for a signal: "critical · error_streak: 3 tool and model calls in a row failed". */
export function signalLine(sig) {
  const why = sig.explanation ? `: ${sig.explanation}` : '';
  return truncate(`${severityOf(sig)} · ${sig.kind}${why}`, TITLE_LINE);
}

/** The tooltip of several signals, one line each, clamped. */
export function signalsTitle(list) {
  const lines = bySeverity(list).map(signalLine);
  const more = lines.length - TITLE_LINES;
  return [...lines.slice(0, TITLE_LINES), more > 0 ? `… and ${more} more` : null].filter(Boolean).join('\n');
}

/** Span id → the signals pointing at it, for the marks in the tree and the transcript. */
export function signalsBySpan(list) {
  const out = new Map();
  for (const sig of list || []) {
    if (!sig?.span_id) continue;
    const id = String(sig.span_id);
    if (!out.has(id)) out.set(id, []);
    out.get(id).push(sig);
  }
  return out;
}

/**
 * A run's signals as one compact badge: the most severe one's name, coloured by its severity,
 * with how many more there are; every explanation is in its tooltip. With `href`, a link that
 * lists the runs with that signal (the page may handle the click itself: `data-signal-filter`).
 */
export function signalBadge(list, { href } = {}) {
  const sorted = bySeverity(list);
  const top = sorted[0];
  if (!top) return null;
  const sev = severityOf(top);
  const more = sorted.length - 1;
  const props = {
    class: ['badge', 'signal-badge', `sev-${sev}`],
    'data-testid': 'signal-badge',
    dataset: { signal: top.kind, severity: sev, count: sorted.length },
    title: `${signalsTitle(sorted)}${href ? `\n\nClick to list the runs with ${top.kind}` : ''}`,
  };
  const children = [
    h('span', { class: 'signal-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'signal-badge-name' }, truncate(top.kind, 40)),
    more > 0 ? h('span', { class: 'signal-badge-more' }, `+${more}`) : null,
  ];
  if (!href) return h('span', props, children);
  return link(href, { ...props, 'data-signal-filter': top.kind, 'aria-label': `${top.kind}, ${sev}${more > 0 ? `, and ${more} more signals` : ''}: list the runs with it` }, children);
}

/** One signal as a small badge (thread turns): its name, coloured, explained in its tooltip. */
export function signalPill(sig) {
  const sev = severityOf(sig);
  const text = sig.kind === 'loop' && sig.tool_name ? `loop: ${sig.tool_name} × ${sig.repeats}` : sig.kind;
  return h('span', { class: ['badge', 'signal-badge', `sev-${sev}`], dataset: { signal: sig.kind, severity: sev }, title: signalLine(sig) },
    h('span', { class: 'signal-dot', 'aria-hidden': 'true' }), truncate(text, 60));
}

/** The mark on a span a signal points at: the names on hover. */
export function signalMark(list) {
  if (!list?.length) return null;
  const sev = severityOf(worst(list));
  const names = [...new Set(bySeverity(list).map((s) => s.kind))];
  return h('span', {
    class: ['signal-mark', `sev-${sev}`],
    'data-testid': 'signal-mark',
    dataset: { signals: names.join(' '), severity: sev },
    title: signalsTitle(list),
    'aria-label': `Signals: ${names.join(', ')}`,
    role: 'img',
  }, icon('flag', { size: 12 }));
}

/** The severity as a small word in its colour. */
export function severityTag(sev) {
  return h('span', { class: ['signal-sev', `sev-${sev}`] }, sev);
}
