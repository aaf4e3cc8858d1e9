// What changed between two polls of the runs list: which runs are new and which ones' summaries
// moved (a run still in progress gains spans, tokens and finally its root). Pure, so the table
// can keep the rows that did not change (and the focus inside them).

/** The fields of a run summary that change while its spans arrive. */
export function runSignature(run) {
  return [
    run.status, run.status_message, run.has_root, run.span_count, run.error_count,
    run.end_time_unix_nano, run.total_tokens, run.cost_usd, run.name, run.agent_name,
    run.thread_id, run.user_id,
    // Which signals, not only how many: a badge changes when one is found or goes.
    (run.signals || []).map((s) => `${s.kind}/${s.severity}/${s.span_id || ''}`).join(' '),
  ].join('\u0001');
}

/**
 * Compares the runs shown with a fresh page: `{added, changed}` as Sets of run ids. On the very
 * first load (`previous` null) nothing counts as added.
 */
export function diffRuns(previous, next) {
  const added = new Set();
  const changed = new Set();
  if (!previous) return { added, changed };
  const before = new Map(previous.map((run) => [run.run_id, runSignature(run)]));
  for (const run of next) {
    const signature = before.get(run.run_id);
    if (signature === undefined) added.add(run.run_id);
    else if (signature !== runSignature(run)) changed.add(run.run_id);
  }
  return { added, changed };
}
