// The redaction rules as the settings page reads and writes them, and the shapes its counts and
// previews are shown in (pure, for the unit tests). The server checks the rules and its message
// says what is wrong, so nothing here second-guesses a name or a regex.

/** The rule name the server counts dropped keys under. */
export const DROPPED_KEYS = 'drop_keys';

/** `n thing` / `n things`, the number formatted by `format` (String by default). */
export function plural(n, one, many = `${one}s`, format = String) {
  return `${format(n)} ${n === 1 ? one : many}`;
}

/** The form's state from the server's rules: every field present, copies the form may change. */
export function formRules(rules) {
  return {
    detectors: [...(rules?.detectors || [])],
    patterns: (rules?.patterns || []).map((p) => ({ name: p.name, regex: p.regex })),
    drop_keys: [...(rules?.drop_keys || [])],
  };
}

/**
 * The rules to send for what the form holds. Detectors keep the order they are listed in; rows
 * left empty are left out (an added row not filled in is no rule); a pattern's name is trimmed
 * (names have no spaces) but its regex goes as typed, spaces being part of a regex; keys are
 * trimmed, as the server reads them. `{}` when nothing is left: redaction off.
 */
export function rulesBody({ detectors = [], patterns = [], drop_keys: dropKeys = [] }) {
  const body = {};
  if (detectors.length) body.detectors = [...detectors];
  const kept = patterns
    .map((p) => ({ name: String(p.name ?? '').trim(), regex: String(p.regex ?? '') }))
    .filter((p) => p.name !== '' || p.regex.trim() !== '');
  if (kept.length) body.patterns = kept;
  const keys = dropKeys.map((k) => String(k ?? '').trim()).filter(Boolean);
  if (keys.length) body.drop_keys = keys;
  return body;
}

/** True when the rules redact nothing. */
export function isOff(rules) {
  return !rules?.detectors?.length && !rules?.patterns?.length && !rules?.drop_keys?.length;
}

/** "email, card, 1 pattern, 2 dropped keys", or "off". */
export function rulesSummary(rules) {
  if (isOff(rules)) return 'off';
  const parts = [...(rules.detectors || [])];
  if (rules.patterns?.length) parts.push(plural(rules.patterns.length, 'pattern'));
  if (rules.drop_keys?.length) parts.push(plural(rules.drop_keys.length, 'dropped key'));
  return parts.join(', ');
}

/** How a rule's count is labelled: its name, or "dropped keys" for keys dropped whole. */
export function ruleLabel(rule) {
  return rule === DROPPED_KEYS ? 'dropped keys' : rule;
}

/** Per-rule counts, most first (then by name). */
export function sortedCounts(counts) {
  return [...(counts || [])].sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
}

/**
 * The per-day counts as a compact table: the rules that counted anything (most first) as
 * columns, and a row per day that counted anything, newest first, with its total.
 */
export function dayTable(byDay) {
  const totals = new Map();
  const days = new Map();
  for (const { day, rule, count } of byDay || []) {
    totals.set(rule, (totals.get(rule) || 0) + count);
    if (!days.has(day)) days.set(day, { day, total: 0, counts: {} });
    const row = days.get(day);
    row.counts[rule] = (row.counts[rule] || 0) + count;
    row.total += count;
  }
  const rules = sortedCounts([...totals].map(([rule, count]) => ({ rule, count }))).map((c) => c.rule);
  const rows = [...days.values()].filter((r) => r.total > 0).sort((a, b) => b.day.localeCompare(a.day));
  return { rules, rows };
}

/** The one line that sums a preview up. */
export function previewSummary({ spans_checked: checked, spans_changed: changed }, format = String) {
  if (!checked) return 'The project has no spans yet: there is nothing to preview.';
  if (checked === 1) return `These rules would ${changed ? '' : 'not '}change the project's only span.`;
  if (!changed) return `These rules would change none of the ${format(checked)} newest spans.`;
  return `These rules would change ${format(changed)} of the ${format(checked)} newest spans.`;
}

/** What an example's value becomes: the redacted text, or "dropped" for a key dropped whole. */
export function afterText(after) {
  return after === null || after === undefined ? 'dropped' : after;
}

/** The page of a run, at the span a change is in. */
export function exampleHref({ run_id: runId, span_id: spanId }) {
  const path = `/runs/${encodeURIComponent(runId)}`;
  return spanId ? `${path}?span=${encodeURIComponent(spanId)}` : path;
}
