// The transcript of a run too long to read whole: its steps taken from the outline in tree order
// (model calls, tool calls, retrievals, agents, failures, other leaf spans), a window of them in
// the page at a time. More steps load as the end of the window nears, earlier ones on request,
// and the window drops steps at its far end past MAX_STEPS, so the page stays small. Each step
// shows its line at once (the outline has it) and its content once it nears the screen, read
// alone from GET /runs/{id}/spans/{span_id}.
//
// Without the whole run, a model call shows what arrived since the model last spoke (the input
// messages after its last assistant message) and its output, not a conversation de-duplicated
// across the run, and repeated calls are not folded here (the tree folds them).
import { h } from '../../dom.js';
import * as api from '../../api.js';
import * as badges from '../../components/badges.js';
import { signalMark } from '../../components/signals.js';
import { errorState } from '../../components/states.js';
import { spanDuration, toolNamesOfSpans } from './common.js';
import { errorOf } from './fold.js';
import { renderStep } from './transcript.js';

const BATCH = 40;
const MAX_STEPS = 160;
const SCAN = 2000; // outline rows read per look for steps
const PARALLEL = 4;

export function createWindowedTranscript(run, outline, model, actions) {
  const runPath = `/runs/${encodeURIComponent(run.run_id)}`;
  const list = h('div', { class: 'transcript-steps' });
  const earlier = h('button', { type: 'button', class: 'button small ghost transcript-earlier', 'data-testid': 'transcript-earlier', hidden: true, onclick: () => loadEarlier() }, 'Earlier steps');
  const end = h('div', { class: 'transcript-end muted small', 'aria-hidden': 'true' });
  const el = h('div', { class: 'transcript windowed', 'data-testid': 'transcript', tabindex: '-1' }, earlier, list, end);
  const ctx = { actions, toolNames: new Map(), marksOf: (id) => model.marks?.get(id) };
  let first = 0; // outline position of the first step shown
  let next = 0; // outline position to look for the next step from
  let busy = false;
  let disposed = false;
  let generation = 0; // a new start drops what an older one is still reading
  const queue = [];
  let reading = 0;

  const near = new IntersectionObserver((entries) => {
    for (const e of entries) if (e.isIntersecting) { near.unobserve(e.target); queue.push(e.target); }
    pump();
  }, { root: el, rootMargin: '600px' });
  const bottom = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadLater();
  }, { root: el, rootMargin: '800px' });
  bottom.observe(end);

  /** Step rows in [from, …): up to `count` of them, and where the look stopped. */
  async function stepsFrom(from, count) {
    const out = [];
    let p = from;
    while (out.length < count && p < outline.total) {
      const rows = await outline.rows(p, Math.min(outline.total, p + SCAN));
      for (const row of rows) {
        p = row.position + 1;
        if (isStep(row)) out.push(row);
        if (out.length >= count) break;
      }
      if (!rows.length) break;
    }
    return { rows: out, next: p };
  }

  async function loadLater() {
    if (busy || disposed || next >= outline.total) return;
    busy = true;
    const g = generation;
    try {
      const { rows, next: after } = await stepsFrom(next, BATCH);
      if (disposed || g !== generation) return;
      next = after;
      list.append(...rows.map(card));
      trim('top');
      if (next >= outline.total && run.output != null) list.append(renderStep({ type: 'output', value: run.output }, ctx));
    } finally {
      if (g === generation) busy = false;
    }
    // Still at the bottom (short steps): keep reading.
    if (next < outline.total && end.getBoundingClientRect().top < el.getBoundingClientRect().bottom + 800) loadLater();
  }

  async function loadEarlier() {
    if (busy || first <= 0) return;
    busy = true;
    const g = generation;
    try {
      // Look back in slices until a batch of steps is found.
      let from = first;
      let found = [];
      while (from > 0 && found.length < BATCH) {
        const start = Math.max(0, from - SCAN);
        const rows = (await outline.rows(start, from)).filter(isStep);
        found = rows.concat(found);
        from = start;
      }
      if (g !== generation) return;
      found = found.slice(-BATCH);
      first = found.length ? found[0].position : 0;
      const height = list.scrollHeight;
      list.prepend(...found.map(card));
      el.scrollTop += list.scrollHeight - height;
      trim('bottom');
    } finally {
      if (g === generation) {
        busy = false;
        earlier.hidden = first <= 0;
      }
    }
  }

  /** Drops steps past MAX_STEPS at one end, keeping the view where it is. */
  function trim(side) {
    while (list.children.length > MAX_STEPS) {
      const victim = side === 'top' ? list.firstElementChild : list.lastElementChild;
      const height = victim.offsetHeight;
      victim.remove();
      if (side === 'top') el.scrollTop -= height;
      near.unobserve(victim);
    }
    if (side === 'top') {
      const firstCard = list.querySelector('[data-position]');
      first = firstCard ? Number(firstCard.dataset.position) : first;
      earlier.hidden = first <= 0;
    } else {
      const cards = list.querySelectorAll('[data-position]');
      const last = cards[cards.length - 1];
      if (last) next = Number(last.dataset.position) + 1;
    }
  }

  /** A step's line from its outline row; its content once read. */
  function card(row) {
    const el2 = h('div', { class: ['step', 'step-pending', row.status === 'error' && 'failed', row.span_id === model.selected && 'selected'], dataset: { spanId: row.span_id, position: row.position } },
      h('button', { type: 'button', class: 'step-head', title: 'Show this span', onclick: () => actions.select(row.span_id) },
        badges.kind(row.kind),
        h('span', { class: 'step-head-name' }, row.tool_name || row.model || row.name || '(unnamed)'),
        signalMark(ctx.marksOf(row.span_id)),
        h('span', { class: 'step-head-meta' }, h('span', { class: 'num' }, spanDuration(row)))));
    near.observe(el2);
    return el2;
  }

  function pump() {
    while (reading < PARALLEL && queue.length) {
      const target = queue.shift();
      if (!target.isConnected) continue;
      reading += 1;
      api.get(`${runPath}/spans/${encodeURIComponent(target.dataset.spanId)}`)
        .then(({ span }) => {
          if (disposed || !target.isConnected) return;
          for (const [k, v] of toolNamesOfSpans([span])) ctx.toolNames.set(k, v);
          const drawn = renderStep(stepOf(span), ctx);
          drawn.dataset.position = target.dataset.position;
          drawn.classList.toggle('selected', span.span_id === model.selected);
          target.replaceWith(drawn);
        })
        .catch((err) => { if (target.isConnected) target.append(errorState(err)); })
        .finally(() => { reading -= 1; pump(); });
    }
  }

  /** Starts the window at a position (a span chosen elsewhere, or the start). */
  async function startAt(position) {
    generation += 1;
    busy = false;
    list.replaceChildren();
    first = position;
    next = position;
    earlier.hidden = position <= 0;
    el.scrollTop = 0;
    if (position === 0 && run.input != null) list.append(renderStep({ type: 'input', value: run.input }, ctx));
    await loadLater();
  }

  function find(id) {
    for (const step of list.querySelectorAll('[data-span-id]')) if (step.dataset.spanId === id) return step;
    return null;
  }

  function setSelected(id) {
    for (const old of list.querySelectorAll('.step.selected')) old.classList.remove('selected');
    find(id)?.classList.add('selected');
  }

  async function reveal(id) {
    let target = find(id);
    if (!target) {
      const position = await outline.positionOf(id).catch(() => null);
      if (position == null || disposed) return;
      await startAt(position);
      target = find(id);
    }
    setSelected(id);
    target?.scrollIntoView({ block: 'nearest' });
  }

  if (!model.selected) startAt(0).catch((err) => list.replaceChildren(errorState(err)));

  return {
    el,
    setSelected,
    reveal,
    focus() {},
    refresh() {},
    dispose() {
      disposed = true;
      near.disconnect();
      bottom.disconnect();
    },
  };
}

function isStep(row) {
  if (!row) return false;
  return ['llm', 'tool', 'retrieval', 'agent'].includes(row.kind) || row.status === 'error' || row.descendants === 0;
}

/** A span read in full as the step transcript.js draws. */
function stepOf(span) {
  const own = { spanId: span.span_id, span, error: errorOf(span) };
  switch (span.kind) {
    case 'llm': return { ...own, type: 'model', messages: sinceLastReply(span) };
    case 'tool': return { ...own, type: 'tool', name: span.tool_name || span.name, args: span.tool_args ?? span.input, result: span.output };
    case 'retrieval': return { ...own, type: 'retrieval', query: span.input, documents: span.output };
    default: return { ...own, type: 'span' };
  }
}

/** The input messages after the model's last reply in them, then its output. */
function sinceLastReply(span) {
  const input = Array.isArray(span.input_messages) ? span.input_messages : [];
  let last = -1;
  input.forEach((m, i) => { if (m?.role === 'assistant') last = i; });
  const output = Array.isArray(span.output_messages) ? span.output_messages : [];
  return [...input.slice(last + 1), ...output];
}
