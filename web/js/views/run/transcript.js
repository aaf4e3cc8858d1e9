// The transcript: the run read top to bottom as a conversation with actions. Steps come from
// fold.js; this file only draws them. Long runs render in batches (the first screen at once, the
// rest over the next frames) and steps off screen skip layout (CSS content-visibility).
import { h, icon } from '../../dom.js';
import * as fmt from '../../format.js';
import * as badges from '../../components/badges.js';
import { signalMark } from '../../components/signals.js';
import { renderPayload } from '../../components/json.js';
import { renderDocuments, renderMessages } from '../../components/messages.js';
import { errorBlock, spanDuration, tokensOf, toolNamesOf } from './common.js';
import { isMessageList } from './header.js';
import { countSteps } from './fold.js';

const FIRST_BATCH = 40;
const BATCH = 120;

/**
 * `steps` from buildSteps; `model.marksOf(spanId)` the signals pointing at a span; `actions.select(spanId)`;
 * `all` draws every step at once (a run drawn again in place, whose scroll must land where it
 * was). Returns `{el, setSelected(id), dispose()}`.
 */
export function createTranscriptView(steps, model, actions, { all = false } = {}) {
  const toolNames = toolNamesOf(model.tree);
  const ctx = { actions, toolNames, marksOf: model.marksOf };
  const list = h('div', { class: 'transcript-steps' });
  const el = h('div', { class: 'transcript', 'data-testid': 'transcript', tabindex: '-1' }, list);
  if (!steps.length) list.append(h('div', { class: 'state empty' }, h('strong', null, 'Nothing to read'), 'No span of this run carries messages, tool calls or content.'));

  let frame = 0;
  let next = 0;
  let pending = null; // a span to reveal once its step is rendered
  const renderBatch = (size) => {
    const end = Math.min(steps.length, next + size);
    for (; next < end; next += 1) list.append(renderStep(steps[next], ctx));
    if (next < steps.length) {
      frame = requestAnimationFrame(() => renderBatch(BATCH));
      return;
    }
    markSelected(model.selected);
    if (pending) reveal(pending);
  };

  /** The step of a span, opening the folded repeat that holds it (folds build their steps when opened). */
  function locate(id) {
    const target = findStep(el, id);
    if (target || !id) return target;
    const fold = [...el.querySelectorAll('.fold')].find((f) => f.foldSpanIds?.has(id));
    fold?.foldOpen();
    return fold ? findStep(el, id) : null;
  }

  function markSelected(id) {
    for (const old of el.querySelectorAll('.step.selected')) old.classList.remove('selected');
    locate(id)?.classList.add('selected');
  }

  /** Scrolls a span's step into view, opening the fold or section that hides it. */
  function reveal(id) {
    const target = locate(id);
    pending = !target && next < steps.length ? id : null;
    if (!target) return;
    for (let parent = target.parentElement; parent && parent !== el; parent = parent.parentElement) {
      if (parent.tagName === 'DETAILS') parent.open = true;
    }
    target.scrollIntoView({ block: 'nearest' });
  }
  renderBatch(all ? steps.length : FIRST_BATCH);

  return {
    el,
    setSelected: markSelected,
    reveal,
    focus() {},
    refresh() {},
    dispose() {
      cancelAnimationFrame(frame);
    },
  };
}

function findStep(el, id) {
  for (const step of el.querySelectorAll('[data-span-id]')) if (step.dataset.spanId === id) return step;
  return null;
}

/** One step as the transcript draws it (the windowed transcript draws its steps the same way). */
export function renderStep(step, ctx) {
  switch (step.type) {
    case 'input': return inputStep(step.value);
    case 'output': return outputStep(step.value);
    case 'model': return modelStep(step, ctx);
    case 'tool': return toolStep(step, ctx);
    case 'retrieval': return retrievalStep(step, ctx);
    case 'agent': return agentStep(step, ctx);
    case 'fold': return foldStep(step, ctx);
    default: return spanStep(step, ctx);
  }
}

function inputStep(value) {
  let body;
  if (isMessageList(value)) body = renderMessages(value);
  else if (typeof value === 'string') body = renderMessages([{ role: 'user', parts: [{ type: 'text', content: value }] }]);
  else body = [h('div', { class: 'step-label' }, 'Input'), renderPayload(value, { open: 2 })];
  return h('div', { class: 'step step-input', 'data-testid': 'step-input' }, body);
}

function outputStep(value) {
  return h('div', { class: 'step step-output', 'data-testid': 'step-output' },
    h('div', { class: 'step-label' }, 'Final output'),
    isMessageList(value) ? renderMessages(value) : renderPayload(value, { open: 2 }));
}

/** The clickable line that names a step's span, with its numbers. */
function stepHead(step, ctx, { label, name, extra }) {
  const span = step.span;
  const tokens = tokensOf(span);
  return h('button', {
    type: 'button',
    class: 'step-head',
    title: 'Show this span',
    onclick: () => ctx.actions.select(step.spanId),
  },
  badges.kind(span.kind),
  label ? h('span', { class: 'step-head-label' }, label) : null,
  name ? h('span', { class: 'step-head-name' }, name) : null,
  signalMark(ctx.marksOf?.(step.spanId)),
  extra || null,
  h('span', { class: 'step-head-meta' },
    span.status === 'error' ? badges.status('error', span.status_message) : null,
    tokens != null ? h('span', { class: 'num' }, `${fmt.compact(tokens)} tok`) : null,
    h('span', { class: 'num' }, spanDuration(span))));
}

function modelStep(step, ctx) {
  const calls = requestedTools(step.span);
  const hasMessages = step.messages.length > 0;
  return h('div', { class: ['step', 'step-model', !hasMessages && 'quiet'], dataset: { spanId: step.spanId }, 'data-testid': 'step-model' },
    stepHead(step, ctx, {
      name: step.span.model || step.span.name,
      extra: calls.length ? h('span', { class: 'step-head-note' }, `→ ${calls.join(', ')}`) : null,
    }),
    hasMessages ? renderMessages(step.messages, { toolNames: ctx.toolNames }) : null,
    errorBlock(step.error));
}

function toolStep(step, ctx) {
  return h('div', { class: ['step', 'step-tool', step.error && 'failed'], dataset: { spanId: step.spanId }, 'data-testid': 'step-tool' },
    stepHead(step, ctx, { name: step.name }),
    h('div', { class: 'step-body' },
      h('div', { class: 'step-part' }, h('div', { class: 'step-part-label' }, 'Arguments'), lazyPayload(step.args, 'no arguments')),
      step.result !== null && step.result !== undefined || !step.error
        ? h('div', { class: 'step-part' }, h('div', { class: 'step-part-label' }, 'Result'), lazyPayload(step.result, 'no result recorded'))
        : null),
    errorBlock(step.error));
}

function retrievalStep(step, ctx) {
  return h('div', { class: ['step', 'step-tool', 'step-retrieval'], dataset: { spanId: step.spanId }, 'data-testid': 'step-retrieval' },
    stepHead(step, ctx, { name: step.span.name }),
    h('div', { class: 'step-body' },
      h('div', { class: 'step-part' }, h('div', { class: 'step-part-label' }, 'Query'), lazyPayload(step.query, 'no query recorded')),
      // The same cards as the span panel; a list that is not documents stays a payload.
      h('div', { class: 'step-part step-documents' }, h('div', { class: 'step-part-label' }, 'Documents'),
        renderDocuments(step.documents, { clamp: 600 }) || lazyPayload(step.documents, 'no documents recorded'))),
    errorBlock(step.error));
}

function spanStep(step, ctx) {
  const span = step.span;
  const hasIo = present(span.input) || present(span.output);
  return h('div', { class: ['step', 'step-span', step.error && 'failed'], dataset: { spanId: step.spanId }, 'data-testid': 'step-span' },
    stepHead(step, ctx, { name: span.name }),
    hasIo ? h('div', { class: 'step-body' },
      present(span.input) ? h('div', { class: 'step-part' }, h('div', { class: 'step-part-label' }, 'Input'), lazyPayload(span.input)) : null,
      present(span.output) ? h('div', { class: 'step-part' }, h('div', { class: 'step-part-label' }, 'Output'), lazyPayload(span.output)) : null) : null,
    errorBlock(step.error, { title: span.parent_span_id ? 'Error' : 'The run failed' }));
}

function agentStep(step, ctx) {
  const body = h('div', { class: 'agent-steps' });
  if (present(step.input)) body.append(inputStep(step.input));
  for (const inner of step.steps) body.append(renderStep(inner, ctx));
  if (present(step.output)) body.append(outputStep(step.output));
  const error = errorBlock(step.error);
  if (error) body.append(error);
  return h('details', { class: ['step', 'step-agent', step.error && 'failed'], dataset: { spanId: step.spanId }, 'data-testid': 'step-agent', open: true },
    h('summary', { class: 'agent-summary' },
      h('span', { class: 'agent-caret', 'aria-hidden': 'true' }, icon('chevronRight', { size: 14 })),
      badges.kind('agent'),
      h('span', { class: 'step-head-name' }, step.name),
      signalMark(ctx.marksOf?.(step.spanId)),
      h('span', { class: 'muted small' }, `sub-agent · ${stepsLabel(countSteps(step.steps))}`),
      h('span', { class: 'step-head-meta' },
        h('button', { type: 'button', class: 'link-button', onclick: (event) => { event.preventDefault(); ctx.actions.select(step.spanId); } }, 'Open span'),
        h('span', { class: 'num' }, spanDuration(step.span)))),
    body);
}

function foldStep(step, ctx) {
  const rest = h('div', { class: 'fold-rest' });
  const label = `× ${step.count} identical ${step.name} calls`;
  const button = h('button', { type: 'button', class: 'fold-line', 'aria-expanded': 'false', 'data-testid': 'fold' },
    h('span', { class: 'fold-caret', 'aria-hidden': 'true' }, icon('chevronRight', { size: 14 })),
    h('span', { class: 'fold-count' }, label),
    h('span', { class: 'fold-args mono' }, fmt.truncate(fmt.oneLine(JSON.stringify(step.args) ?? ''), 80)),
    h('span', { class: 'fold-hint' }, 'Show all'));
  const el = h('div', { class: 'fold', 'data-testid': 'fold-group' }, renderStep(step.steps[0], ctx), button, rest);
  let built = false;
  const setOpen = (on) => {
    if (on && !built) {
      built = true;
      for (const inner of step.steps.slice(1)) rest.append(renderStep(inner, ctx));
    }
    el.classList.toggle('open', on);
    button.setAttribute('aria-expanded', String(on));
    button.querySelector('.fold-hint').textContent = on ? 'Hide' : 'Show all';
  };
  el.foldOpen = () => setOpen(true);
  el.foldSpanIds = new Set(step.steps.map((s) => s.spanId));
  button.addEventListener('click', () => setOpen(!el.classList.contains('open')));
  return el;
}

/** A payload that only builds its JSON tree when it nears the screen: a long run opens fast. */
function lazyPayload(value, empty) {
  if (value === null || value === undefined || typeof value !== 'object') return renderPayload(value, { open: 1, empty, clamp: 600 });
  const slot = h('div', { class: 'payload-slot' }, h('div', { class: 'payload-json payload-placeholder mono' }, fmt.truncate(JSON.stringify(value), 200)));
  if (typeof IntersectionObserver !== 'function') {
    slot.replaceChildren(renderPayload(value, { open: 1, empty }));
    return slot;
  }
  const observer = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    observer.disconnect();
    slot.replaceChildren(renderPayload(value, { open: 1, empty }));
  }, { rootMargin: '400px' });
  observer.observe(slot);
  return slot;
}

/** Tool names the model asked for in this call (shown when the tool steps carry the details). */
function requestedTools(span) {
  const names = [];
  for (const message of Array.isArray(span.output_messages) ? span.output_messages : []) {
    for (const part of Array.isArray(message?.parts) ? message.parts : []) {
      if (part?.type === 'tool_call' && part.name) names.push(String(part.name));
    }
  }
  return names;
}

function stepsLabel(n) {
  return `${n} step${n === 1 ? '' : 's'}`;
}

function present(value) {
  if (value === null || value === undefined || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
