// The alerts page: the project's rules (a query and a condition), the channels they notify (with a
// test send), and the history of what fired, each delivery's outcome included. Rules and
// channels have their own modules (alerts-rules.js, alerts-channels.js), and so does the history
// (alerts-history.js), which is read again every few seconds while the page is visible.
// `/alerts?rule=ID` shows that rule's events only.
//
// As on the settings page, a person who is not an admin of the project sees everything with no
// control to change it, and the page says why; with a key, everything is offered and a refusal
// shows the server's message. Names, queries, URLs, messages and errors all come from the
// server and may be anyone's text: dom.js puts them in as text only.
import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { refusal } from '../roles.js';
import { errorState, loading } from '../components/states.js';
import { firingByRule } from './alerts-data.js';
import { rulesSection } from './alerts-rules.js';
import { channelsSection } from './alerts-channels.js';
import { historySection } from './alerts-history.js';

const POLL_MS = 3000;
/** The events read for the firing counts: a key whose newest event is older is not counted. */
const COUNT_EVENTS = 1000;
/** The events the history lists. */
const HISTORY_EVENTS = 200;

export function mount(root, ctx) {
  ctx.setTitle('Alerts');
  const controller = new AbortController();
  const { signal } = controller;
  const admin = session.can('admin');
  const state = { rules: [], channels: [], rule: ctx.query?.get('rule') || '' };
  const body = h('div', { class: 'alerts-body' }, loading('Loading the alert rules…'));
  let sections = null;
  let timer = null;
  let polling = false;
  let again = false;

  replace(root, h('section', { class: 'alerts-page', 'data-testid': 'alerts' },
    h('div', { class: 'page-header' }, h('h1', null, 'Alerts')),
    h('p', { class: 'muted alerts-lede' },
      'A rule watches the runs its query matches: it fires for each run that matches, or when a measure over the recent ones passes a threshold. Each change is an event, kept in the history below and sent to the rule’s channels.'),
    body));
  load();

  async function load() {
    replace(body, loading('Loading the alert rules…'));
    try {
      const [rules, channels] = await Promise.all([
        api.get('/alerts/rules', null, { signal }),
        api.get('/alerts/channels', null, { signal }),
      ]);
      state.rules = rules.rules || [];
      state.channels = channels.channels || [];
      render();
    } catch (err) {
      if (err.name !== 'AbortError') replace(body, errorState(err, load));
    }
  }

  function render() {
    const changed = () => {
      sections.rules.render();
      sections.history.render();
    };
    sections = {
      rules: rulesSection({ state, admin, signal, onChanged: changed }),
      channels: channelsSection({ state, admin, signal, onChanged: changed }),
      history: historySection({ state, onFilter: (rule) => ctx.navigate(rule ? `/alerts?rule=${encodeURIComponent(rule)}` : '/alerts', { replace: true }) }),
    };
    replace(body,
      admin ? null : h('p', { class: 'settings-locked', 'data-testid': 'alerts-locked' },
        refusal(session.role(), session.project(), 'admin', 'change its alerts'), ' They are shown here as they are set.'),
      sections.rules.el,
      sections.channels.el,
      sections.history.el);
    poll();
    timer = setInterval(poll, POLL_MS);
  }

  /** Reads the events again: the history, and how many keys each rule is firing for. */
  async function poll() {
    if (!sections || document.hidden || signal.aborted) return;
    // A filter chosen during a read is read once that one ends.
    if (polling) {
      again = true;
      return;
    }
    polling = true;
    again = false;
    const rule = state.rule;
    try {
      const all = await api.get('/alerts/events', { limit: COUNT_EVENTS }, { signal });
      const shown = rule ? await api.get('/alerts/events', { rule, limit: HISTORY_EVENTS }, { signal }) : null;
      if (rule !== state.rule) return;
      sections.rules.setFiring(firingByRule(all.events));
      sections.history.show(shown ? shown.events : (all.events || []).slice(0, HISTORY_EVENTS));
    } catch (err) {
      // The next read may work: the history says what went wrong meanwhile.
      if (err.name !== 'AbortError') sections.history.setProblem(err);
    } finally {
      polling = false;
      if (again) poll();
    }
  }

  function onVisibility() {
    if (!document.hidden) poll();
  }
  document.addEventListener('visibilitychange', onVisibility);

  return {
    update(next) {
      const rule = next.query?.get('rule') || '';
      if (rule !== state.rule) {
        state.rule = rule;
        sections?.history.render();
        poll();
      }
      return true;
    },
    dispose() {
      controller.abort();
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibility);
      sections?.rules.dispose();
    },
  };
}
