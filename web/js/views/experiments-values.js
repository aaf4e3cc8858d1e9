// Values of `experiment:`, `dataset:` and `case:` for the query box's completion and the filter
// builder. `/values` counts fields over runs, and these are the project's own lists, so they are
// read from `/experiments` and `/datasets` (a case's from the experiment or dataset the query
// names) once per field and narrowed as the user types.
import * as api from '../api.js';
import { count, preview } from '../format.js';
import { parseTerms } from './runs-terms.js';

/** The fields answered here rather than by `/values`. */
export const NAMED_FIELDS = new Set(['experiment', 'dataset', 'case']);

/**
 * A value source (as value-source.js) over a list read once by `load(signal)`: the values
 * starting with what was typed. Only the newest request is answered.
 */
export function listSource(load) {
  let list = null;
  let pending = null;
  let latest = 0;
  const controller = new AbortController();
  return {
    request(prefix, onAnswer) {
      const token = ++latest;
      const answer = (values) => {
        if (token !== latest) return;
        const p = String(prefix).toLowerCase();
        onAnswer({ prefix, values: values.filter((v) => v.value.toLowerCase().startsWith(p)), answer: null });
      };
      if (list) {
        answer(list);
        return;
      }
      pending ||= load(controller.signal).then((values) => { list = values; return values; });
      pending.then(answer, (error) => {
        pending = null;
        if (token === latest && error?.name !== 'AbortError') onAnswer({ prefix, error });
      });
    },
    cancel() {
      latest += 1;
    },
  };
}

/** The first plain value of a field's term in a query (`experiment:a,b` → `a`), or null. */
export function termValue(query, field) {
  const term = parseTerms(query).find((t) => t.field === field && !t.negated && (t.op === ':' || t.op === '='));
  const value = term?.value.split(',').map((v) => v.trim()).find((v) => v && !v.includes('*'));
  return value || null;
}

/** The source for one of NAMED_FIELDS; `query` is the query typed so far (for `case:`). */
export function namedSource(field, query = '') {
  if (field === 'experiment') {
    return listSource(async (signal) => ((await api.get('/experiments', null, { signal })).experiments || [])
      .map((e) => ({ value: e.name, hint: `${e.dataset} v${e.dataset_version}` })));
  }
  if (field === 'dataset') {
    return listSource(async (signal) => ((await api.get('/datasets', null, { signal })).datasets || [])
      .map((d) => ({ value: d.name, hint: `${count(d.cases)} ${d.cases === 1 ? 'case' : 'cases'}` })));
  }
  // A case's id means something within an experiment or a dataset: the query's own.
  const experiment = termValue(query, 'experiment');
  const dataset = termValue(query, 'dataset');
  return listSource(async (signal) => {
    if (experiment) {
      const { runs } = await api.get(`/experiments/${encodeURIComponent(experiment)}`, null, { signal });
      return [...new Set((runs || []).map((r) => r.case_id))].map((value) => ({ value, hint: `in ${experiment}` }));
    }
    if (dataset) {
      const { cases } = await api.get(`/datasets/${encodeURIComponent(dataset)}`, null, { signal });
      return (cases || []).map((c) => ({ value: c.id, hint: preview(c.input, 60) }));
    }
    return [];
  });
}
