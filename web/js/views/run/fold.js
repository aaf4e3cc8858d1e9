// A run read top to bottom: the steps of the transcript, built from the span tree, and the
// folding of consecutive repeated tool calls. DOM-free, so it is unit tested in node.
//
// Agents resend the whole conversation on every model call, so a model step shows only what is
// new: the messages not shown before, then its output. A tool call a model makes and the tool
// span that ran it are one step (the tool span has the arguments and the result).
import { startOf } from './spantree.js';

/**
 * Steps:
 *  `{type: 'input', value}` the run's input;
 *  `{type: 'model', spanId, span, messages}` a model call's new messages (maybe none);
 *  `{type: 'tool', spanId, span, name, args, result}`;
 *  `{type: 'retrieval', spanId, span, query, documents}`;
 *  `{type: 'agent', spanId, span, name, input, output, steps}` a sub-agent, its own steps inside
 *    (`output` null when its steps already showed it);
 *  `{type: 'span', spanId, span}` any other span that carries content or failed;
 *  `{type: 'output', value}` the run's output, when no step already showed it;
 *  `{type: 'fold', name, args, count, steps}` (from foldRepeats) repeated tool calls.
 * Every step made from a span has `error`: null or `{message, exceptions: [{type, message, stacktrace}]}`.
 */
export function buildSteps(run, tree) {
  const ctx = { ...frame(run?.output, toolCallsWithSpans(tree), false), shownInput: run?.input };
  const steps = [];
  if (present(run?.input)) {
    steps.push({ type: 'input', value: run.input });
    markSeen(ctx.seen, run.input, 'user');
  }
  for (const root of tree.roots) steps.push(...stepsOf(root, ctx));
  if (present(run?.output) && !ctx.output.shown) steps.push({ type: 'output', value: run.output });
  return foldRepeats(steps);
}

/** One conversation: what it has shown so far, and the output it ends with. */
function frame(expectedOutput, toolCallIds, inAgent) {
  return { seen: new Set(), toolCallIds, inAgent, output: { expected: expectedOutput, shown: false } };
}

function childSteps(node, ctx) {
  const out = [];
  for (const child of node.children) out.push(...stepsOf(child, ctx));
  return out;
}

function stepsOf(node, ctx) {
  const span = node.span;
  const error = errorOf(span);
  const own = (step) => ({ spanId: node.id, span, error, ...step });
  switch (span.kind) {
    case 'llm':
      return [own({ type: 'model', messages: newMessages(span, ctx) }), ...childSteps(node, ctx)];
    case 'tool':
      return [own({ type: 'tool', name: span.tool_name || span.name, args: span.tool_args ?? span.input, result: span.output }), ...childSteps(node, ctx)];
    case 'retrieval':
      return [own({ type: 'retrieval', query: span.input, documents: span.output }), ...childSteps(node, ctx)];
    case 'agent':
      return ctx.inAgent ? [subAgent(node, ctx, own)] : mainAgent(node, ctx);
    default:
      // Containers (chains, plain spans) read as their children, then their own failure.
      if (node.children.length) return [...childSteps(node, ctx), ...(error ? [own({ type: 'span' })] : [])];
      return present(span.input) || present(span.output) || error ? [own({ type: 'span' })] : [];
  }
}

/** The run's own agent frames the transcript: its steps are the transcript's, not a section. */
function mainAgent(node, ctx) {
  const span = node.span;
  const steps = [];
  if (present(span.input) && !isSeen(ctx.seen, span.input) && !sameValue(span.input, ctx.shownInput)) {
    steps.push({ type: 'input', value: span.input });
    markSeen(ctx.seen, span.input, 'user');
  }
  steps.push(...childSteps(node, { ...ctx, inAgent: true }));
  const error = errorOf(span);
  if (error) steps.push({ type: 'span', spanId: node.id, span, error });
  return steps;
}

/** An agent called by an agent: a section with its own conversation. */
function subAgent(node, ctx, own) {
  const span = node.span;
  const inner = frame(span.output, ctx.toolCallIds, true);
  markSeen(inner.seen, span.input, 'user');
  const steps = foldRepeats(childSteps(node, inner));
  if (sameValue(span.output, ctx.output.expected)) ctx.output.shown = true;
  return own({
    type: 'agent',
    name: span.agent_name || span.name,
    input: span.input,
    output: inner.output.shown ? null : span.output,
    steps,
  });
}

/** A failed span's message and the exceptions its events record. */
export function errorOf(span) {
  const exceptions = (Array.isArray(span?.events) ? span.events : [])
    .filter((e) => e && e.name === 'exception')
    .map((e) => ({
      type: str(e.attributes?.['exception.type']),
      message: str(e.attributes?.['exception.message']),
      stacktrace: str(e.attributes?.['exception.stacktrace']),
    }));
  if (span?.status !== 'error' && exceptions.length === 0) return null;
  return { message: str(span?.status_message), exceptions };
}

/**
 * The messages of a model call not shown before: new input messages, then the output. Tool calls
 * and tool results that a tool span of the run stands for are left out (the tool step shows them).
 */
function newMessages(span, ctx) {
  const out = [];
  for (const message of asList(span.input_messages)) {
    const key = messageKey(message);
    if (ctx.seen.has(key)) continue;
    ctx.seen.add(key);
    const kept = withoutToolParts(message, ctx.toolCallIds);
    if (kept) out.push(kept);
  }
  for (const message of asList(span.output_messages)) {
    ctx.seen.add(messageKey(message));
    const kept = withoutToolParts(message, ctx.toolCallIds);
    if (kept) out.push(kept);
  }
  const expected = ctx.output.expected;
  if (asList(span.output_messages).length && sameValue(span.output, expected)) ctx.output.shown = true;
  else if (lastText(span.output_messages) && lastText(span.output_messages) === textOf(expected)) ctx.output.shown = true;
  return out;
}

function withoutToolParts(message, toolCallIds) {
  if (!message || typeof message !== 'object' || !Array.isArray(message.parts)) return message;
  const parts = message.parts.filter((p) => !(
    p && (p.type === 'tool_call' || p.type === 'tool_call_response') && p.id && toolCallIds.has(p.id)));
  if (parts.length === message.parts.length) return message;
  return parts.length ? { ...message, parts } : null;
}

/**
 * Ids of the tool calls a tool span of the run stands for. Most emitters record the call id on
 * the tool span; for those that do not (OpenLLMetry), a call is matched to the first unclaimed
 * tool span of the same name that starts after the model call.
 */
export function toolCallsWithSpans(tree) {
  const ids = new Set();
  const anonymous = [];
  for (const node of tree.order) {
    if (node.span.kind !== 'tool') continue;
    if (node.span.tool_call_id) ids.add(String(node.span.tool_call_id));
    else anonymous.push(node.span);
  }
  if (!anonymous.length) return ids;
  anonymous.sort((a, b) => startOf(a) - startOf(b));
  const claimed = new Set();
  const models = tree.order.filter((n) => n.span.kind === 'llm').map((n) => n.span).sort((a, b) => startOf(a) - startOf(b));
  for (const model of models) {
    for (const message of asList(model.output_messages)) {
      for (const part of asList(message?.parts)) {
        if (part?.type !== 'tool_call' || !part.id || ids.has(String(part.id))) continue;
        const match = anonymous.find((t) => !claimed.has(t) && (t.tool_name || t.name) === part.name && startOf(t) >= startOf(model));
        if (match) {
          claimed.add(match);
          ids.add(String(part.id));
        }
      }
    }
  }
  return ids;
}

function isSeen(seen, value) {
  if (Array.isArray(value)) return value.length > 0 && value.every((m) => seen.has(messageKey(m)));
  return typeof value === 'string' && seen.has(messageKey({ role: 'user', parts: [{ type: 'text', content: value }] }));
}

/** Marks a payload as shown: a message list's messages, or text as one message of `role`. */
function markSeen(seen, value, role) {
  if (Array.isArray(value) && value.every((m) => m && typeof m === 'object' && 'role' in m)) {
    for (const m of value) seen.add(messageKey(m));
  } else if (typeof value === 'string') {
    seen.add(messageKey({ role, parts: [{ type: 'text', content: value }] }));
  }
}

/** Identity of a message across model calls: role and content, whatever else the emitter added. */
export function messageKey(message) {
  if (!message || typeof message !== 'object') return `text:${String(message)}`;
  const role = typeof message.role === 'string' ? message.role.toLowerCase() : '';
  const content = Array.isArray(message.parts) ? message.parts : message.content;
  return `${role}:${stableStringify(content)}`;
}

/**
 * Folds runs of the same tool called with identical arguments (the `loop` signal's rule: model
 * calls between them do not break the run). `min` repeats make a fold; the fold keeps every
 * folded step, the first one is what shows.
 */
export function foldRepeats(steps, min = 3) {
  const out = [];
  let i = 0;
  while (i < steps.length) {
    const step = steps[i];
    if (step.type !== 'tool') {
      out.push(step);
      i += 1;
      continue;
    }
    const key = toolKey(step);
    let last = i;
    let count = 1;
    for (let j = i + 1; j < steps.length; j += 1) {
      const next = steps[j];
      if (next.type === 'model') continue;
      if (next.type !== 'tool' || toolKey(next) !== key) break;
      last = j;
      count += 1;
    }
    if (count >= min) {
      out.push({ type: 'fold', name: step.name, args: step.args, count, steps: steps.slice(i, last + 1) });
      i = last + 1;
    } else {
      out.push(step);
      i += 1;
    }
  }
  return out;
}

function toolKey(step) {
  return `${step.name}\u0000${stableStringify(step.args)}`;
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` compare equal. */
export function stableStringify(value) {
  const seen = new Set();
  const walk = (v) => {
    if (v === null || typeof v !== 'object') return v === undefined ? null : v;
    if (seen.has(v)) return '[cycle]';
    seen.add(v);
    const out = Array.isArray(v)
      ? v.map(walk)
      : Object.fromEntries(Object.keys(v).sort().map((k) => [k, walk(v[k])]));
    seen.delete(v);
    return out;
  };
  return JSON.stringify(walk(value));
}

/** Counts the steps of a list, folded and nested ones included: for "n steps" labels. */
export function countSteps(steps) {
  let n = 0;
  for (const step of steps) {
    if (step.type === 'fold') n += countSteps(step.steps);
    else if (step.type === 'agent') n += 1 + countSteps(step.steps);
    else n += 1;
  }
  return n;
}

function present(value) {
  if (value === null || value === undefined) return false;
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function sameValue(a, b) {
  return present(a) && present(b) && stableStringify(a) === stableStringify(b);
}

function asList(value) {
  return Array.isArray(value) ? value : [];
}

function lastText(messages) {
  const list = asList(messages);
  return list.length ? textOf([list[list.length - 1]]) : '';
}

function textOf(value) {
  if (typeof value === 'string') return value;
  // `{answer: "..."}`: a one-field object is its text.
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const fields = Object.values(value);
    return fields.length === 1 && typeof fields[0] === 'string' ? fields[0] : '';
  }
  const list = asList(value);
  const last = list[list.length - 1];
  if (!last || !Array.isArray(last.parts)) return '';
  return last.parts.filter((p) => p?.type === 'text' && typeof p.content === 'string').map((p) => p.content).join('\n');
}

function str(value) {
  return value === undefined || value === null ? '' : String(value);
}
