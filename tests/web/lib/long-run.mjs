// A long run posted over OTLP/JSON, for the specs and the manual measurements of the run page:
// an agent whose turns each hold model calls and tool calls, with two failed tool calls, one
// slow one, a loop of identical calls (which the tree folds) and one uniquely named span to find.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

const TURN = 8; // spans per turn: the turn, then chat, tool, chat, tool, chat, tool, chat
const BATCH = 4000;

/**
 * Posts a run of about `count` spans to `baseUrl` with `key`. Returns `{traceId, tag, needle,
 * errors: [span ids in tree order], loopTool, total}`.
 */
export async function postLongRun(baseUrl, key, count) {
  const traceId = randomBytes(16).toString('hex');
  const tag = randomBytes(4).toString('hex');
  // In the past, so lists sorted newest first keep the fixtures' order.
  const base = 1_690_000_000_000_000_000n + BigInt(Number.parseInt(tag, 16) % 1_000_000) * 1_000_000_000n;
  const ms = 1_000_000n;
  const spans = [];
  const id = () => randomBytes(8).toString('hex');
  const attr = (key2, value) => ({ key: key2, value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: String(value) } });
  const turns = Math.max(1, Math.floor((count - 1) / TURN));
  const rootId = id();
  const errors = [];
  const needle = { name: `needle-${tag}` };
  const loopTurn = Math.floor(turns * 0.3);
  const errorTurns = [Math.floor(turns * 0.1), Math.floor(turns * 0.9)];
  const slowTurn = Math.floor(turns * 0.6);
  const needleTurn = Math.floor(turns * 0.7);
  let t = base + 10n * ms;
  const span = (parent, name, kind, start, end, attributes = [], status) => {
    const s = {
      traceId,
      spanId: id(),
      parentSpanId: parent,
      name,
      kind: 1,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(end),
      attributes: [attr('lemma.span.kind', kind), ...attributes],
    };
    if (status) s.status = status;
    spans.push(s);
    return s;
  };
  for (let i = 0; i < turns; i += 1) {
    const turnStart = t;
    const turn = span(rootId, `turn ${String(i).padStart(6, '0')}`, 'chain', turnStart, 0n);
    const tools = i === loopTurn ? ['fetch_page', 'fetch_page', 'fetch_page', 'fetch_page', 'fetch_page', 'fetch_page'] : ['search', 'read', 'write'];
    for (let j = 0; j < tools.length; j += 1) {
      if (i !== loopTurn) {
        span(turn.spanId, 'chat gpt-4o', 'llm', t, t + 4n * ms, [
          attr('gen_ai.request.model', 'gpt-4o'),
          attr('gen_ai.usage.input_tokens', 100 + (i % 50)),
          attr('gen_ai.usage.output_tokens', 20),
        ]);
        t += 5n * ms;
      }
      const failed = errorTurns.includes(i) && j === 1;
      const slow = i === slowTurn && j === 0;
      const name = i === needleTurn && j === 2 ? needle.name : `tool ${tools[j]}`;
      const args = i === loopTurn ? { url: 'https://example.com/same' } : { query: `question ${i}.${j}`, turn: i };
      const s = span(turn.spanId, name, 'tool', t, t + (slow ? 900n : 3n) * ms, [
        attr('gen_ai.tool.name', tools[j]),
        attr('gen_ai.tool.call.arguments', JSON.stringify(args)),
        attr('gen_ai.tool.call.result', JSON.stringify({ ok: !failed, answer: `result ${i}.${j}` })),
      ], failed ? { code: 2, message: `tool ${tools[j]} failed in turn ${i}` } : undefined);
      if (failed) errors.push(s.spanId);
      if (name === needle.name) needle.spanId = s.spanId;
      t += (slow ? 901n : 4n) * ms;
    }
    if (i !== loopTurn) {
      span(turn.spanId, 'chat gpt-4o', 'llm', t, t + 4n * ms, [attr('gen_ai.request.model', 'gpt-4o')]);
      t += 5n * ms;
    }
    turn.endTimeUnixNano = String(t);
    t += 1n * ms;
  }
  span(undefined, `long-agent-${tag}`, 'agent', base, t + 10n * ms, [attr('lemma.agent.name', `long-agent-${tag}`)]);
  spans[spans.length - 1].spanId = rootId;
  delete spans[spans.length - 1].parentSpanId;
  for (let i = 0; i < spans.length; i += BATCH) {
    const body = { resourceSpans: [{ resource: { attributes: [attr('service.name', 'long-run-spec')] }, scopeSpans: [{ spans: spans.slice(i, i + BATCH) }] }] };
    const response = await fetch(new URL('/v1/traces', baseUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200, await response.text());
  }
  return { traceId, tag, needle, errors, loopTool: 'fetch_page', total: spans.length };
}
