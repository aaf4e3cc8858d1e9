// The runs table's head and rows for the chosen columns. Every value is span data: text nodes
// and attributes only (dom.js), long values clamped to one line with the whole in the tooltip.
import { h, icon, link } from '../dom.js';
import * as format from '../format.js';
import * as badges from '../components/badges.js';
import { signalBadge, worst } from '../components/signals.js';
import { href } from '../router.js';
import { buildTerm } from './runs-terms.js';
import { ariaSort } from './runs-sort.js';

const PREVIEW_CHARS = 200;
const TITLE_CHARS = 1000;
const MAX_TAGS = 3;

/** `<colgroup>` and `<thead>` for the columns; sortable headers are buttons calling `onSort(by)`. */
export function tableHead(columns, sort, onSort) {
  return [
    h('colgroup', null, columns.map((c) => h('col', { class: colClass(c) }))),
    h('thead', null, h('tr', null, columns.map((c) => {
      const aria = c.sort ? ariaSort(sort, c.sort) : null;
      return h('th', { class: [colClass(c), c.num && 'num', aria && 'is-sorted'], scope: 'col', 'aria-sort': aria, 'data-column': c.key, title: c.metaKey ? `meta.${c.metaKey}` : null },
        c.sort
          ? h('button', {
            type: 'button', class: 'sort-button', 'data-sort': c.sort,
            title: aria ? `Sorted ${aria}; click to reverse` : `Sort by ${c.label.toLowerCase()}`,
            onclick: () => onSort(c.sort),
          }, h('span', null, c.label), h('span', { class: 'sort-arrow', 'aria-hidden': 'true' }, aria === 'ascending' ? '▲' : aria === 'descending' ? '▼' : '↕'))
          : c.label);
    }))),
  ];
}

function colClass(column) {
  return column.metaKey !== undefined ? 'col-meta' : `col-${column.key}`;
}

export function runRow(run, columns, now) {
  return h('tr', { class: ['run-row', run.status === 'error' && 'is-error'], 'data-run-id': run.run_id },
    columns.map((c) => h('td', { class: [colClass(c), c.num && 'num'], 'data-column': c.key }, cell(run, c, now))));
}

function cell(run, column, now) {
  if (column.metaKey !== undefined) return metaCell(run.metadata, column.metaKey);
  switch (column.key) {
    case 'time': return timeCell(run, now);
    case 'agent': return agentCell(run);
    case 'status': return [
      badges.status(run.status, run.status_message),
      run.has_root ? null : h('span', { class: 'run-partial', title: 'The root span has not arrived yet: the run may still be going' }, 'in progress'),
    ];
    case 'input': return previewCell(run.input, 'run-input');
    case 'output': return previewCell(run.output, 'run-output');
    case 'models': return listCell(run.models);
    case 'duration': return format.duration(run.duration_ms);
    case 'tokens': return run.total_tokens
      ? h('span', { title: `${format.count(run.input_tokens)} in · ${format.count(run.output_tokens)} out` }, format.compact(run.total_tokens))
      : dash();
    case 'cost': return run.cost_usd === null || run.cost_usd === undefined ? dash() : h('span', { class: 'run-cost' }, format.cost(run.cost_usd));
    case 'spans': return format.count(run.span_count);
    case 'errors': return run.error_count
      ? h('span', { class: 'run-errors', title: `${format.count(run.error_count)} failed ${run.error_count === 1 ? 'span' : 'spans'}` }, icon('alert', { size: 12 }), format.count(run.error_count))
      : h('span', { class: 'muted' }, '0');
    case 'signals': return signals(run.signals || []) || dash();
    case 'tags': return tagsCell(run.tags);
    case 'thread': return run.thread_id
      ? link(`/threads/${encodeURIComponent(run.thread_id)}`, { class: 'cell-link ellipsis', title: `Thread ${clamp(run.thread_id)}` }, clamp(run.thread_id, PREVIEW_CHARS))
      : dash();
    case 'user': return textCell(run.user_id);
    case 'env': return textCell(run.environment);
    default: return dash();
  }
}

function timeCell(run, now) {
  const url = `/runs/${encodeURIComponent(run.run_id)}`;
  const agent = agentOf(run);
  return link(url, { class: 'row-link', 'data-testid': 'run-link', 'aria-label': `${clamp(agent, PREVIEW_CHARS)}, ${format.dateTime(run.start_time_unix_nano)}` },
    h('span', { class: 'run-time', 'data-t': run.start_time_unix_nano, title: format.dateTime(run.start_time_unix_nano) }, format.ago(run.start_time_unix_nano, now)));
}

function agentOf(run) {
  return run.agent_name || run.name || 'Unnamed run';
}

function agentCell(run) {
  const agent = agentOf(run);
  return [
    h('div', { class: 'run-agent ellipsis', title: clamp(agent) }, clamp(agent, PREVIEW_CHARS)),
    showName(run.name, agent) ? h('div', { class: 'run-name ellipsis', title: clamp(run.name) }, clamp(run.name, PREVIEW_CHARS)) : null,
  ];
}

/** The run's name under its agent, unless it only repeats it (GenAI's `invoke_agent <agent>`). */
function showName(name, agent) {
  return Boolean(name) && name !== agent && name !== `invoke_agent ${agent}`;
}

function previewCell(value, cls) {
  const text = format.preview(value, PREVIEW_CHARS);
  return text ? h('div', { class: [cls, 'ellipsis'], title: text }, text) : dash();
}

function textCell(value) {
  if (value === null || value === undefined || value === '') return dash();
  return h('div', { class: 'ellipsis', title: clamp(value) }, clamp(value, PREVIEW_CHARS));
}

function listCell(values) {
  if (!Array.isArray(values) || !values.length) return dash();
  return textCell(values.join(', '));
}

function tagsCell(tags) {
  if (!Array.isArray(tags) || !tags.length) return dash();
  const more = tags.length - MAX_TAGS;
  return h('div', { class: 'run-tags ellipsis', title: clamp(tags.join(', ')) },
    tags.slice(0, MAX_TAGS).map((t) => h('span', { class: 'run-tag' }, clamp(t, 60))),
    more > 0 ? h('span', { class: 'muted' }, `+${more}`) : null);
}

/** A metadata value: text as it is, anything else as compact JSON. */
export function metaText(metadata, key) {
  if (!metadata || typeof metadata !== 'object' || !Object.hasOwn(metadata, key)) return null;
  const value = metadata[key];
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function metaCell(metadata, key) {
  const text = metaText(metadata, key);
  return text === null ? dash() : h('div', { class: 'run-meta ellipsis', title: clamp(text) }, clamp(format.oneLine(text), PREVIEW_CHARS));
}

function clamp(text, max = TITLE_CHARS) {
  return format.truncate(String(text), max);
}

/** The run's signals as one badge; a click lists the runs with its signal (runs.js). */
function signals(list) {
  if (!list.length) return null;
  const top = worst(list);
  return signalBadge(list, { href: href('/runs', { q: buildTerm({ field: 'signal', value: top.kind }) }) });
}

export function refreshTime(tr, now) {
  const el = tr.querySelector('.run-time');
  if (el) el.textContent = format.ago(el.dataset.t, now);
}

function dash() {
  return h('span', { class: 'muted' }, '—');
}
