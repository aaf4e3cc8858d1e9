// The project's signal thresholds as the settings page reads and writes them (pure, for the unit
// tests). The server checks every range and its message names the field, so nothing here
// second-guesses a value: only text that is no number at all is stopped, since JSON could not
// carry it.

/**
 * The thresholds, in the order the form shows them, with the signals each one decides
 * (crates/lemma-core/src/signals/settings.rs); `placeholder` is the server's default.
 */
export const SIGNAL_FIELDS = [
  { key: 'error_streak', label: 'Failures in a row', signals: 'error_streak', unit: 'calls', placeholder: 3, hint: 'Failed tool or model calls in a row that make a streak (2 or more).' },
  { key: 'tool_failures', label: 'Failures of one tool', signals: 'tool_failing', unit: 'per run', placeholder: 3, hint: 'Failures of the same tool in a run (2 or more).' },
  { key: 'repeats', label: 'Repeats', signals: 'similar_calls, cycle', unit: 'times', placeholder: 3, hint: 'Repeats that make a stretch of similar calls or a cycle of calls (2 or more).' },
  { key: 'similar_arguments', label: 'Similar arguments', signals: 'similar_calls', unit: '0–1', placeholder: 0.85, hint: 'How alike two calls’ arguments must be to count as similar.' },
  { key: 'max_agent_depth', label: 'Deepest sub-agent', signals: 'agent_depth', unit: 'levels', placeholder: 5, hint: 'Sub-agents nested deeper than this.' },
  { key: 'max_fan_out', label: 'Sub-agents per span', signals: 'fan_out', unit: 'agents', placeholder: 25, hint: 'More sub-agents than this started by one span.' },
  { key: 'context_share', label: 'Context window share', signals: 'context_window', unit: '0–1', placeholder: 0.9, hint: 'Share of the model’s context window a call’s input may fill.' },
  { key: 'spike_factor', label: 'Spike factor', signals: 'token_spike, cost_spike', unit: '× median', placeholder: 3, hint: 'A run using this many times its agent’s median tokens or cost (more than 1).' },
  { key: 'spike_min_runs', label: 'Runs before spikes', signals: 'token_spike, cost_spike', unit: 'runs', placeholder: 5, hint: 'Finished runs of the agent needed before spikes are judged.' },
  { key: 'spike_min_tokens', label: 'Tokens for a spike', signals: 'token_spike', unit: 'tokens', placeholder: 2000, hint: 'Tokens a run must use before it can be a token spike.' },
  { key: 'stall_after_secs', label: 'Stalled after', signals: 'stalled', unit: 'seconds', placeholder: 300, hint: 'An open run with no new span for this long.' },
  { key: 'rephrase_similarity', label: 'Rephrase similarity', signals: 'rephrase', unit: '0–1', placeholder: 0.6, hint: 'How alike a user’s message must be to the one before to be asked again.' },
  { key: 'abandon_after_secs', label: 'Abandoned after', signals: 'abandoned', unit: 'seconds', placeholder: 1800, hint: 'A thread whose last turn went wrong, with no new turn for this long.' },
];

/** The form's text for each threshold from the server's settings (a missing one stays empty). */
export function formValues(settings) {
  const out = { enabled: settings?.enabled !== false };
  for (const f of SIGNAL_FIELDS) {
    const v = settings?.[f.key];
    out[f.key] = typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
  }
  return out;
}

/**
 * The PUT body for what the form holds: `{body}` or `{error, field}`. An empty field is left
 * out, so the server gives it its default; a number goes as typed (0, 1.5, 1e9 included).
 */
export function settingsBody(values) {
  const body = { enabled: Boolean(values.enabled) };
  for (const f of SIGNAL_FIELDS) {
    const text = String(values[f.key] ?? '').trim();
    if (text === '') continue;
    const n = Number(text);
    if (!Number.isFinite(n)) return { error: `${f.label}: “${text}” is not a number.`, field: f.key };
    body[f.key] = n;
  }
  return { body };
}

/** The field the server's message is about (its messages start with the field's name), or null. */
export function fieldOfMessage(message) {
  const first = /^([a-z_]+)\b/.exec(String(message || ''))?.[1];
  return SIGNAL_FIELDS.some((f) => f.key === first) ? first : null;
}
