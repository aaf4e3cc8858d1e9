// The Ingestion health page's logic that needs no DOM: what the summary says, how a problem's
// counts and a refusal's reason read, and where a problem's example links to. The answer is
// `GET /api/v1/ingestion` (crates/lemma-server/src/api/ingestion.rs).
import { count } from '../format.js';
import { href } from '../router.js';

/** `n` with its noun: "1 span", "3 spans", "1,204 runs". */
export function plural(n, one, many = `${one}s`) {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** "the newest run", "the 12 newest runs": the runs problems were looked for in. */
export function checkedRuns(checked) {
  return checked.runs === 1 ? 'the newest run' : `the ${count(checked.runs)} newest runs`;
}

/**
 * The line at the top of the page: `{tone, title, detail}`, `tone` being `ok` (nothing to fix)
 * or `warn` (problems found).
 */
export function summary(answer) {
  const { problems, checked } = answer;
  const where = `${checkedRuns(checked)} of the last 24 hours`;
  const skipped = checked.skipped_runs
    ? `${plural(checked.skipped_runs, 'run')} with too many spans to read ${checked.skipped_runs === 1 ? 'was' : 'were'} left out.`
    : '';
  const looked = checked.runs
    ? `Checked ${where} (${plural(checked.spans, 'span')}) and the spans this server received.`
    : 'No run started in the last 24 hours; only the spans this server received were checked.';
  if (problems.length) {
    return {
      tone: 'warn',
      title: checked.runs ? `${plural(problems.length, 'problem')} found in ${where}` : `${plural(problems.length, 'problem')} found`,
      detail: [looked, skipped].filter(Boolean).join(' '),
    };
  }
  if (!checked.runs) {
    return {
      tone: 'ok',
      title: 'No runs in the last 24 hours to check',
      detail: 'Problems are looked for in the newest runs that started in the last 24 hours; send some traces and refresh.',
    };
  }
  return { tone: 'ok', title: `No problems found in ${where}`, detail: [looked, skipped].filter(Boolean).join(' ') };
}

/**
 * How many times a problem shows: "4 spans in 2 runs"; runs without a root count runs; late
 * spans are counted as they arrive (in no checked run).
 */
export function problemCounts(p) {
  if (p.problem === 'no_root') return plural(p.count, 'run');
  if (p.problem === 'late_spans' || !p.runs) return `${plural(p.count, 'span')} since this server started`;
  return `${plural(p.count, 'span')} in ${plural(p.runs, 'run')}`;
}

/** The example run's page, on the example span when there is one. */
export function exampleHref(example) {
  return href(`/runs/${encodeURIComponent(example.run_id)}`, { span: example.span_id || null });
}

const REASONS = {
  bad_request: 'Malformed request',
  payload_too_large: 'Body too large',
  unsupported_media_type: 'Unsupported content type',
  busy: 'Server busy',
  unavailable: 'Storage unavailable',
  shutting_down: 'Server shutting down',
  partial: 'Stored in part',
  unauthorized: 'Missing or wrong API key',
  internal: 'Server error',
};

/** A refusal reason (an error code, or `partial`) in words; an unknown code as it is. */
export function reasonLabel(reason) {
  return Object.hasOwn(REASONS, reason) ? REASONS[reason] : reason;
}

/** "HTTP · traces", "gRPC · logs": how a refused request came. */
export function via(refusal) {
  const transport = { http: 'HTTP', grpc: 'gRPC' }[refusal.transport] || refusal.transport;
  return [transport, refusal.signal].filter(Boolean).join(' · ');
}

/** What a partial success lost: "3 spans" ("records" for logs); empty when nothing is known. */
export function rejectedText(refusal) {
  if (refusal.rejected === null || refusal.rejected === undefined) return '';
  return plural(refusal.rejected, refusal.signal === 'logs' ? 'record' : 'span');
}

/** The requests refused for want of a valid key, all reasons together. */
export function unauthenticatedTotal(refused) {
  return (refused.unauthenticated || []).reduce((sum, r) => sum + r.count, 0);
}

