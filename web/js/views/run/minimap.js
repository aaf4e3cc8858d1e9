// The overview strip beside the tree: the whole run top to bottom in equal slices of the tree's
// order (GET /runs/{id}/overview), each slice marked where it holds failed spans, tool calls of a
// loop or slow spans, and a frame where the view is. A click jumps to the slice (to its first
// failed span when it has one), so a 100k-span run's trouble is one click away.
import { h, replace } from '../../dom.js';
import * as api from '../../api.js';
import * as fmt from '../../format.js';

const BUCKETS = 200;

/** `onJump(position, {select})`. Returns `{el, setView(fromPosition, toPosition), dispose()}`. */
export function createMinimap(runId, total, onJump) {
  const marks = h('div', { class: 'minimap-marks' });
  const frame = h('div', { class: 'minimap-frame', 'aria-hidden': 'true' });
  const el = h('div', { class: 'minimap', 'data-testid': 'minimap', role: 'navigation', 'aria-label': 'Where errors, loops and slow spans are' }, marks, frame);
  let buckets = [];
  let disposed = false;

  if (total > 0) {
    api.get(`/runs/${encodeURIComponent(runId)}/overview`, { buckets: Math.min(BUCKETS, total) })
      .then((overview) => {
        if (disposed) return;
        buckets = overview.buckets || [];
        draw(overview);
      })
      .catch(() => { el.hidden = true; });
  }

  function draw(overview) {
    const top = (p) => `${(p / total) * 100}%`;
    const height = (b) => `max(3px, ${((b.to - b.from) / total) * 100}%)`;
    replace(marks, buckets.filter((b) => b.errors || b.loops || b.slow).map((b) => {
      const kind = b.errors ? 'error' : b.loops ? 'loop' : 'slow';
      const what = [
        b.errors && `${fmt.count(b.errors)} failed`,
        b.loops && `${fmt.count(b.loops)} in a loop`,
        b.slow && `${fmt.count(b.slow)} slow (≥ ${fmt.duration(overview.slow_threshold_ns / 1e6)})`,
      ].filter(Boolean).join(', ');
      return h('button', {
        type: 'button',
        class: ['minimap-mark', `minimap-${kind}`],
        'data-testid': `minimap-${kind}`,
        dataset: { from: b.from, to: b.to },
        title: `Spans ${fmt.count(b.from + 1)}–${fmt.count(b.to)}: ${what}`,
        'aria-label': `Spans ${b.from + 1} to ${b.to}: ${what}`,
        style: { top: top(b.from), height: height(b) },
        onclick: (event) => {
          event.stopPropagation();
          jumpTo(b);
        },
      });
    }));
  }

  function jumpTo(b) {
    if (b.first_error != null) onJump(b.first_error, { select: true });
    else onJump(b.from, { select: false });
  }

  // A click between marks jumps to that place in the run.
  el.addEventListener('click', (event) => {
    const box = el.getBoundingClientRect();
    const position = Math.floor(((event.clientY - box.top) / box.height) * total);
    onJump(Math.max(0, Math.min(total - 1, position)), { select: false });
  });

  return {
    el,
    setView(from, to) {
      if (!total) return;
      frame.style.setProperty('top', `${(from / total) * 100}%`);
      frame.style.setProperty('height', `max(2px, ${((to - from + 1) / total) * 100}%)`);
    },
    dispose() {
      disposed = true;
    },
  };
}
