// The alerts page's history: what the rules raised, newest first, with a link to the run an
// event is about (each-run rules), the measured value (window rules), and what became of each
// notification (delivered, still being tried, or failed, with the receiver's answer). alerts.js
// reads the events again every few seconds and hands them to `show`, which redraws only when
// something changed, so a reader's focus stays where it is.
import { h, link, replace } from '../dom.js';
import { ago, dateTime, time } from '../format.js';
import { empty, errorState, loading } from '../components/states.js';
import { deliveryWords, eventsSignature, measureValue } from './alerts-data.js';

export function historySection({ state, onFilter }) {
  const filter = h('select', { class: 'settings-select', id: 'alerts-history-rule', 'data-testid': 'history-rule', onchange: () => onFilter(filter.value) });
  // Not a live region: it changes every few seconds.
  const updated = h('span', { class: 'muted small', 'data-testid': 'history-updated' });
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'history-error' });
  const list = h('div', { class: 'alerts-history', 'data-testid': 'history' }, loading('Loading the history…'));
  const el = h('div', { class: 'card settings-card', 'data-testid': 'alerts-history' },
    h('div', { class: 'card-header' }, h('h2', null, 'History'), updated, h('span', { class: 'spacer' }),
      h('label', { for: 'alerts-history-rule', class: 'small' }, 'Rule'), filter),
    h('div', { class: 'card-body' }, problem, list));
  let shown = null; // the signature of the events on screen
  render();

  /** The filter's choices (the rules may have changed), and a fresh read to come. */
  function render() {
    const rule = state.rule;
    const known = state.rules.some((r) => r.id === rule);
    replace(filter,
      h('option', { value: '' }, 'All rules'),
      state.rules.map((r) => h('option', { value: r.id }, r.name)),
      // A deleted rule's events stay: its id still filters them.
      rule && !known ? h('option', { value: rule }, `${rule} (deleted)`) : null);
    filter.value = rule;
    if (shown !== null && filter.dataset.rule !== rule) {
      shown = null;
      replace(list, loading('Loading the history…'));
    }
    filter.dataset.rule = rule;
  }

  function show(events) {
    problem.textContent = '';
    updated.textContent = `read at ${time(new Date())}, again every few seconds`;
    const signature = `${state.rule}\n${channelNames()}\n${eventsSignature(events)}`;
    if (signature === shown) {
      // Nothing new: only "how long ago" moves on.
      for (const cell of list.querySelectorAll('[data-at]')) cell.textContent = ago(cell.dataset.at);
      return;
    }
    shown = signature;
    if (!events.length) {
      replace(list, empty(state.rule ? 'This rule has raised nothing yet' : 'Nothing has fired yet',
        'Events appear here when a rule starts or stops firing.'));
      return;
    }
    replace(list, h('div', { class: 'table-wrap settings-table' },
      h('table', { class: 'table alerts-table', 'data-testid': 'history-table' },
        h('thead', null, h('tr', null, ['When', 'Rule', 'State', 'What', 'Notifications'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, events.map(row)))));
  }

  function channelNames() {
    return state.channels.map((c) => `${c.id}=${c.name}`).join(' ');
  }

  function row(event) {
    const rule = state.rules.find((r) => r.id === event.rule_id);
    const measure = rule?.condition?.type === 'window' ? rule.condition.measure : null;
    const firing = event.state === 'firing';
    return h('tr', { 'data-testid': 'alert-event', dataset: { eventId: event.id, ruleId: event.rule_id, state: event.state } },
      h('td', { class: 'nowrap', title: dateTime(event.at_unix_nano), dataset: { at: event.at_unix_nano } }, ago(event.at_unix_nano)),
      h('td', { 'data-testid': 'alert-event-rule' }, event.rule_name),
      h('td', null, h('span', { class: ['badge', firing ? 'status-error' : 'status-ok'], 'data-testid': 'alert-event-state' }, firing ? 'Firing' : 'Resolved')),
      h('td', { class: 'alerts-what' },
        h('div', { 'data-testid': 'alert-event-message' }, event.message),
        event.run_id ? link(`/runs/${encodeURIComponent(event.run_id)}`, { class: 'small mono', 'data-testid': 'alert-event-run', title: `Run ${event.run_id}` }, `Open run ${event.run_id.slice(0, 12)}${event.run_id.length > 12 ? '…' : ''}`) : null,
        event.value !== undefined && event.value !== null
          ? h('div', { class: 'small', 'data-testid': 'alert-event-value' }, 'Value: ', h('strong', null, measureValue(measure, event.value)))
          : null),
      h('td', null, deliveries(event.deliveries || [])));
  }

  function deliveries(list) {
    if (!list.length) return h('span', { class: 'muted small' }, 'no channel');
    return h('ul', { class: 'alerts-deliveries' }, list.map((d) => {
      const name = state.channels.find((c) => c.id === d.channel_id)?.name ?? d.channel_id;
      const tone = d.status === 'delivered' ? 'status-ok' : d.status === 'failed' ? 'status-error' : 'status-unset';
      return h('li', { 'data-testid': 'alert-delivery', dataset: { channelId: d.channel_id, status: d.status } },
        h('span', { class: ['badge', tone] }, d.status),
        ' ', h('span', { class: 'alerts-delivery-channel' }, name),
        ' ', h('div', { class: 'muted small', 'data-testid': 'alert-delivery-words' }, deliveryWords(d)),
        d.error ? h('div', { class: 'small alerts-delivery-error', 'data-testid': 'alert-delivery-error' }, d.error) : null);
    }));
  }

  return {
    el,
    render,
    show,
    setProblem(err) {
      if (shown === null) replace(list, errorState(err));
      else problem.textContent = `The history could not be read again: ${err.message}`;
    },
  };
}
