// The first-run experience: how to send a first trace to this server, per SDK, with snippets
// to copy, `lemma demo` for sample runs, and a live status that notices the first run arriving.
// `/welcome` shows it as a page; the runs page shows `welcomePanel()` while a project is empty.
import { h, icon, link, replace, svg } from '../dom.js';
import * as api from '../api.js';
import { href } from '../router.js';
import * as format from '../format.js';
import * as session from '../session.js';
import { copyButton, snippet } from '../components/copy.js';
import { demoCommand, endpoints, KEY_VAR, sdkTabs } from './welcome-snippets.js';

const POLL_MS = 3000;

export function mount(root, ctx) {
  const welcome = createWelcome({
    tab: ctx.query.get('sdk'),
    onTab: (id) => ctx.navigate(href('/welcome', { sdk: id }), { replace: true }),
    heading: 'Send traces to Lemma',
  });
  replace(root, welcome.el);
  ctx.setTitle('Send traces');
  return {
    update(next) {
      welcome.selectTab(next.query.get('sdk'));
    },
    dispose: welcome.dispose,
  };
}

/**
 * The onboarding panel as one element, for pages that show it in place of an empty list. It
 * polls for runs while it is in the document and offers to open the first one when it arrives.
 */
export function welcomePanel() {
  return createWelcome({ heading: 'No runs yet: send your first trace' }).el;
}

function createWelcome({ tab, onTab, heading }) {
  const origin = window.location.origin;
  const tabs = sdkTabs(origin);
  const status = liveStatus(origin);
  const picker = sdkPicker(tabs, { selected: tab, onTab });

  const el = h('section', { class: 'welcome', 'data-testid': 'welcome' },
    h('header', { class: 'welcome-hero' },
      status.pill,
      h('h1', null, heading),
      h('p', { class: 'welcome-lede' },
        'Lemma speaks OpenTelemetry. Point any exporter at this server and every agent execution shows up as a run: its model calls, tool calls and sub-agents, with inputs, outputs, tokens, cost and errors.')),
    h('div', { class: 'welcome-grid' },
      h('ol', { class: 'welcome-steps' },
        step(1, 'Set your API key', [
          h('p', { class: 'muted' }, 'Every snippet below reads the key from ', h('code', null, `$${KEY_VAR}`),
            '. The key you signed in with works; ', h('code', null, 'lemma keys create --project <name>'), ' makes another.'),
          snippet(`export ${KEY_VAR}=lm_...   # your API key`, { language: 'sh', testid: 'snippet-key' }),
        ]),
        step(2, 'Instrument your agent', [picker.el]),
        step(3, 'Run it and watch it arrive', [status.panel])),
      h('aside', { class: 'welcome-aside' },
        demoCard(origin),
        connectionCard(origin))));

  return {
    el,
    selectTab: picker.select,
    dispose: status.stop,
  };
}

function step(n, title, body) {
  return h('li', { class: 'welcome-step' },
    h('div', { class: 'welcome-step-marker', 'aria-hidden': 'true' }, String(n)),
    h('div', { class: 'welcome-step-body' }, h('h2', null, title), body));
}

/** Tabs per SDK; inside a tab, a switch between its languages when it has several. */
function sdkPicker(tabs, { selected, onTab }) {
  const buttons = tabs.map((t) => h('button', {
    type: 'button', class: 'tab', role: 'tab', id: `sdk-tab-${t.id}`, 'aria-controls': 'sdk-panel',
    'data-sdk': t.id, onclick: () => choose(t.id),
  }, t.label));
  const list = h('div', { class: 'tabs welcome-tabs', role: 'tablist', 'aria-label': 'SDK', onkeydown: moveFocus }, buttons);
  const panel = h('div', { class: 'welcome-sdk', role: 'tabpanel', id: 'sdk-panel', tabindex: -1 });
  let current = null;
  const variantOf = new Map();

  function choose(id) {
    select(id);
    onTab?.(current);
  }

  function select(id) {
    const next = tabs.find((t) => t.id === id) || tabs[0];
    if (current === next.id) return;
    current = next.id;
    for (const b of buttons) {
      const on = b.dataset.sdk === current;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', `sdk-tab-${current}`);
    render(next);
  }

  function render(t) {
    const index = Math.min(variantOf.get(t.id) || 0, t.variants.length - 1);
    const variant = t.variants[index];
    const switcher = t.variants.length > 1 && h('div', { class: 'tabs welcome-variants', role: 'group', 'aria-label': 'Language' },
      t.variants.map((v, i) => h('button', {
        type: 'button', class: ['tab', i === index && 'active'], 'aria-pressed': String(i === index),
        onclick: () => {
          variantOf.set(t.id, i);
          render(t);
        },
      }, v.label)));
    replace(panel,
      h('div', { class: 'welcome-sdk-head' }, h('p', { class: 'welcome-blurb' }, t.blurb), switcher),
      snippet(variant.install, { language: 'sh', title: 'Install', testid: 'snippet-install' }),
      snippet(variant.code, { language: variant.language, title: variant.label, testid: 'snippet-code' }),
      variant.notes.map((note) => h('p', { class: 'welcome-note' }, icon('chevronRight', { size: 14 }), h('span', null, richText(note)))));
  }

  function moveFocus(event) {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = buttons[(moves[event.key] + buttons.length) % buttons.length];
    next.focus();
    choose(next.dataset.sdk);
  }

  select(selected);
  return { el: h('div', { class: 'welcome-picker' }, list, panel), select };
}

/** A note's pieces: strings as text, `{code}` as inline code. */
function richText(pieces) {
  return pieces.map((p) => (typeof p === 'string' ? p : h('code', null, p.code)));
}

function demoCard(origin) {
  return h('div', { class: 'card welcome-card welcome-demo', 'data-testid': 'welcome-demo' },
    h('div', { class: 'welcome-card-title' }, glyph('play'), h('h2', null, 'Just looking around?')),
    h('p', { class: 'muted' }, 'Load realistic sample runs into this project and see everything Lemma shows at once:'),
    h('ul', { class: 'welcome-list' },
      h('li', null, 'agents handing work to sub-agents, with tools and retrieval'),
      h('li', null, 'a long run caught in a tool loop'),
      h('li', null, 'a run that fails, with its error'),
      h('li', null, 'a conversation over several turns')),
    snippet(demoCommand(origin), { language: 'sh', testid: 'snippet-demo' }));
}

function connectionCard(origin) {
  const e = endpoints(origin);
  const row = (label, value, what) => h('div', { class: 'welcome-endpoint' },
    h('div', { class: 'welcome-endpoint-label' }, label),
    h('div', { class: 'welcome-endpoint-value' },
      h('code', null, value),
      copyButton(value, { compact: true, what })));
  return h('div', { class: 'card welcome-card', 'data-testid': 'welcome-endpoints' },
    h('div', { class: 'welcome-card-title' }, glyph('plug'), h('h2', null, 'Connection details')),
    row('OTLP/HTTP traces', e.traces, 'the traces endpoint'),
    row('Header', e.header, 'the header'),
    row('Langfuse SDKs', e.langfuse, 'the Langfuse endpoint'),
    row('OTLP logs (GenAI events)', e.logs, 'the logs endpoint'),
    h('p', { class: 'muted small' },
      'Protobuf or JSON, gzip welcome. OTLP/gRPC listens on its own port (4317 unless the server was started with ', h('code', null, '--grpc-addr'), ').'));
}

/** Two pictures the shared icon set lacks: sample data ("play") and endpoints ("plug"). */
const GLYPHS = {
  play: 'M7 5v14l12-7z',
  plug: 'M9 3v5M15 3v5M6 8h12v3a6 6 0 0 1-12 0zM12 17v4',
};

function glyph(name) {
  return svg('svg', { viewBox: '0 0 24 24', class: 'icon', width: 15, height: 15, 'aria-hidden': 'true' },
    svg('path', { d: GLYPHS[name], fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }));
}

/**
 * Watches for runs while the panel is in the document: a pill for the header and a panel for
 * step 3, which offers to open the first run when a project that had none gets one.
 */
function liveStatus(origin) {
  const pill = h('div', { class: 'welcome-pill', 'data-testid': 'welcome-status' });
  const panel = h('div', { class: 'welcome-live', 'aria-live': 'polite' });
  let hadRuns = null; // unknown until the first answer
  let timer = 0;
  let stopped = false;
  let attached = false;

  function render(run, err) {
    if (err) {
      replace(pill, icon('alert', { size: 14 }), 'Could not check for runs');
      pill.dataset.state = 'error';
      replace(panel, h('p', { class: 'muted' }, err.message, ' Retrying…'));
      return;
    }
    if (!run) {
      pill.dataset.state = 'waiting';
      replace(pill, h('span', { class: 'pulse', 'aria-hidden': 'true' }), 'Waiting for the first run');
      replace(panel,
        h('div', { class: 'welcome-waiting' },
          h('span', { class: 'pulse', 'aria-hidden': 'true' }),
          h('div', null,
            h('strong', null, 'Listening for runs…'),
            h('p', { class: 'muted' }, 'Runs sent to ', h('code', null, origin), ' with this project\'s key appear here within seconds. This page checks every few seconds.'))));
      return;
    }
    const first = hadRuns === false;
    pill.dataset.state = 'received';
    replace(pill, icon('check', { size: 14 }), first ? 'First run received' : 'Receiving runs');
    replace(panel,
      h('div', { class: ['welcome-arrived', first && 'is-first'], 'data-testid': 'welcome-arrived' },
        h('div', { class: 'welcome-arrived-text' },
          h('strong', null, first ? 'Your first run arrived.' : `${session.project() || 'This project'} already has runs.`),
          h('p', { class: 'muted' },
            first ? '' : 'Latest: ',
            h('span', { class: 'welcome-run-name' }, run.name || run.agent || run.run_id),
            ' · ', format.ago(run.start_time || run.start_time_unix_nano))),
        link(`/runs/${encodeURIComponent(run.run_id)}`, { class: 'button primary', 'data-testid': 'open-first-run' },
          first ? 'Open your first run' : 'Open the latest run', icon('chevronRight')),
        link('/runs', { class: 'button' }, 'All runs')));
  }

  async function check() {
    timer = 0;
    if (stopped) return;
    if (!pill.isConnected) {
      // Not shown yet (the caller is still building the page), or taken away: then stop.
      if (attached) return stop();
      timer = setTimeout(check, 200);
      return;
    }
    attached = true;
    if (!document.hidden) {
      try {
        const body = await api.get('/runs', { limit: 1 });
        const run = body.runs?.[0] || null;
        if (hadRuns === null) hadRuns = Boolean(run);
        render(run, null);
        if (run) return stop();
      } catch (err) {
        if (stopped) return;
        render(null, err);
      }
    }
    if (!stopped) timer = setTimeout(check, POLL_MS);
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
  }

  replace(pill, h('span', { class: 'spinner small', 'aria-hidden': 'true' }), 'Checking for runs');
  replace(panel, h('p', { class: 'muted' }, 'Checking for runs…'));
  check();
  return { pill, panel, stop };
}
