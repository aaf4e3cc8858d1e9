// Which transcript a run gets. A run the server answers whole (up to 5,000 spans) is read whole
// once the transcript is opened, and reads as before: steps built across the whole run, the
// conversation de-duplicated, repeated tool calls folded (fold.js, transcript.js). A longer run
// has no whole to build from, so its transcript is read in windows (transcript-window.js).
import { h } from '../../dom.js';
import * as api from '../../api.js';
import { errorState, loading } from '../../components/states.js';
import { buildTree } from './spantree.js';
import { buildSteps } from './fold.js';
import { createTranscriptView } from './transcript.js';
import { createWindowedTranscript } from './transcript-window.js';

/** The most spans GET /runs/{id} answers whole (MAX_WHOLE_RUN_SPANS on the server). */
export const MAX_WHOLE_RUN_SPANS = 5000;

const whole = new Map(); // run id → promise of its steps, for switching views back and forth

/** Drops a run's steps read before (it gained spans): the next transcript reads it again. */
export function forgetTranscript(runId) {
  whole.delete(runId);
}

function readWhole(runId) {
  if (!whole.has(runId)) {
    whole.set(runId, api.get(`/runs/${encodeURIComponent(runId)}`).then((data) => {
      const tree = buildTree(data.spans || []);
      return { tree, steps: buildSteps(data.run, tree) };
    }));
    // Only the latest run is kept.
    for (const id of whole.keys()) if (id !== runId) whole.delete(id);
  }
  return whole.get(runId);
}

/** A transcript view handle right away; a short run's steps are filled in when they arrive. */
export function createTranscript(run, outline, model, actions) {
  if (run.span_count > MAX_WHOLE_RUN_SPANS) return createWindowedTranscript(run, outline, model, actions);
  const el = h('div', { class: 'transcript-host' }, loading('Loading transcript…'));
  let inner = null;
  let disposed = false;
  let generation = 0;
  // `keep`: the transcript drawn before, left in place (and its scroll kept) until the new one is.
  const load = (keep = false) => {
    const mine = ++generation;
    readWhole(run.run_id).then(({ tree, steps }) => {
      if (disposed || mine !== generation) return;
      const scrollTop = keep && inner ? inner.el.scrollTop : null;
      inner?.dispose();
      const source = { tree, get selected() { return model.selected; }, marksOf: (id) => model.marks?.get(id) };
      inner = createTranscriptView(steps, source, actions, { all: scrollTop !== null });
      el.replaceChildren(inner.el);
      if (scrollTop !== null) inner.el.scrollTop = scrollTop;
      if (model.selected && scrollTop === null) {
        inner.setSelected(model.selected);
        inner.reveal(model.selected);
      }
    }).catch((err) => {
      whole.delete(run.run_id);
      if (!disposed && mine === generation && !(keep && inner)) el.replaceChildren(errorState(err, () => load()));
    });
  };
  load();
  return {
    el,
    setSelected: (id) => inner?.setSelected(id),
    reveal: (id) => inner?.reveal(id),
    /** The run changed (it is still arriving): read it again, in place. */
    reload(next) {
      run = next;
      forgetTranscript(run.run_id);
      load(true);
    },
    focus() {},
    refresh() {},
    dispose() {
      disposed = true;
      inner?.dispose();
    },
  };
}
