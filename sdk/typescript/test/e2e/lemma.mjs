// What the end-to-end tests share: where the servers are, and reading runs back through
// Lemma's REST API. crates/lemma-cli/tests/integration/sdk_typescript.rs starts two `lemma serve` and the
// fake LLM, and sets LEMMA_URL, LEMMA_API_KEY, LEMMA_URL_2 and OPENAI_BASE_URL.
import assert from 'node:assert/strict';

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: the end-to-end tests are run by crates/lemma-cli/tests/integration/sdk_typescript.rs`);
  }
  return value.replace(/\/+$/, '');
}

export const LEMMA_URL = env('LEMMA_URL');
export const API_KEY = env('LEMMA_API_KEY');
export const LEMMA_URL_2 = () => env('LEMMA_URL_2');
export const OPENAI_BASE_URL = () => env('OPENAI_BASE_URL');

/** GET a path of the REST API; returns the status and JSON body. */
export async function get(path, base = LEMMA_URL) {
  const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${API_KEY}` } });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/**
 * The run `runId` as the API returns it ({ run, spans }), once it has `spans` spans and its
 * root. Export is synchronous with the commit, so this rarely waits.
 */
export async function waitForRun(runId, spans, base = LEMMA_URL) {
  const deadline = Date.now() + 20_000;
  let last;
  for (;;) {
    last = await get(`/api/v1/runs/${runId}`, base);
    if (last.status === 200 && last.body.run.span_count === spans && last.body.run.has_root) return last.body;
    if (Date.now() > deadline) {
      assert.fail(`run ${runId} at ${base} did not get ${spans} spans with a root: last answer ${last.status} ${JSON.stringify(last.body)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The span tree as `name (kind)` lines, two spaces a level, children in start order. */
export function outline(spans) {
  const children = (parent) =>
    spans
      .filter((s) => (s.parent_span_id ?? null) === parent)
      .sort((a, b) => a.start_time_unix_nano - b.start_time_unix_nano || a.end_time_unix_nano - b.end_time_unix_nano);
  const lines = [];
  const walk = (span, depth) => {
    lines.push(`${'  '.repeat(depth)}${span.name} (${span.kind})`);
    for (const c of children(span.span_id)) walk(c, depth + 1);
  };
  for (const root of children(null)) walk(root, 0);
  return lines.join('\n');
}

/** The one span named `name`. */
export function spanNamed(spans, name) {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one span ${name} in ${spans.map((s) => s.name).join(', ')}`);
  return found[0];
}

/** The agent span (`ai.agent.run`) of agent `name`. */
export function agentSpan(spans, name) {
  const found = spans.filter((s) => s.name === 'ai.agent.run' && s.agent_name === name);
  assert.equal(found.length, 1, `one agent span ${name}`);
  return found[0];
}
