// One thread as the conversation across its runs, turn by turn, oldest first: what the user
// said, what the agent answered (or how it failed), and what each turn cost.
// URL: /threads/:threadId
import { h, icon, link, replace } from '../dom.js';
import * as api from '../api.js';
import { href } from '../router.js';
import * as format from '../format.js';
import * as badges from '../components/badges.js';
import { errorState, loading } from '../components/states.js';
import { renderMessages } from '../components/messages.js';
import { agentSide, asMessages, userSide } from './thread-turns.js';

export function mount(root, ctx) {
  const threadId = ctx.params.threadId;
  const controller = new AbortController();
  ctx.setTitle(`Thread ${threadId}`);

  async function load() {
    replace(root, loading('Loading the thread…'));
    try {
      const body = await api.get(`/threads/${encodeURIComponent(threadId)}`, null, { signal: controller.signal });
      replace(root, page(body.thread, body.runs || []));
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(root, h('section', { class: 'thread-page' }, backLink(), errorState(err, err.status === 404 ? null : load)));
    }
  }

  load();
  return { dispose: () => controller.abort() };
}

function backLink() {
  return link('/threads', { class: 'back-link' }, icon('chevronRight', { class: 'flip', size: 14 }), 'Threads');
}

function page(thread, runs) {
  return h('section', { class: 'thread-page', 'data-testid': 'thread' },
    backLink(),
    header(thread, runs),
    h('ol', { class: 'turns', 'aria-label': 'Turns' }, runs.map((run, i) => turn(run, i, runs.length))));
}

function header(thread, runs) {
  const span = runs.length ? Math.max(0, (thread.end_time_unix_nano - thread.start_time_unix_nano) / 1e6) : null;
  return h('header', { class: 'thread-header card' },
    h('div', { class: 'thread-title' },
      h('span', { class: 'thread-eyebrow' }, 'Thread'),
      h('h1', { class: 'thread-id mono', title: thread.thread_id }, thread.thread_id),
      h('div', { class: 'spacer' }),
      link(href('/runs', { q: `thread:${quoteValue(thread.thread_id)}` }), { class: 'button small' }, 'Runs of this thread', icon('chevronRight'))),
    h('dl', { class: 'thread-stats' },
      stat('User', thread.user_id || '—'),
      stat('Runs', format.count(thread.run_count)),
      stat('Errors', format.count(thread.error_count), thread.error_count ? 'is-error' : null),
      stat('Tokens', format.count(thread.total_tokens)),
      stat('Cost', format.cost(thread.cost_usd)),
      stat('Time span', span === null ? '—' : format.duration(span)),
      stat('Started', format.dateTime(thread.start_time_unix_nano)),
      stat('Agents', (thread.agent_names || []).length ? thread.agent_names.join(', ') : '—')));
}

function stat(label, value, cls) {
  return h('div', { class: ['thread-stat', cls] }, h('dt', null, label), h('dd', { title: value }, value));
}

/** A value as the query language reads it: quoted when it has spaces or quotes. */
function quoteValue(value) {
  return /[\s",:<>=!*]/.test(value) ? `"${value.replace(/[\\"]/g, '\\$&')}"` : value;
}

function turn(run, index, total) {
  const agent = run.agent_name || run.name || 'Agent';
  const user = asMessages(userSide(run.input), 'user');
  const answer = asMessages(agentSide(run.output), 'assistant', agent);
  const failed = run.status === 'error';
  return h('li', { class: ['turn', failed && 'is-error'], 'data-run-id': run.run_id, 'data-testid': 'turn' },
    h('div', { class: 'turn-rail', 'aria-hidden': 'true' }, h('span', { class: 'turn-number' }, String(index + 1))),
    h('article', { class: 'turn-card card', 'aria-label': `Turn ${index + 1} of ${total}` },
      h('div', { class: 'turn-head' },
        h('span', { class: 'turn-agent' }, agent),
        badges.status(run.status, run.status_message),
        (run.signals || []).map((sig) => badges.signal(sig)),
        h('span', { class: 'turn-meta' },
          h('span', null, format.dateTime(run.start_time_unix_nano)),
          h('span', null, format.duration(run.duration_ms)),
          run.total_tokens ? h('span', null, `${format.count(run.total_tokens)} tokens`) : null,
          run.cost_usd !== null && run.cost_usd !== undefined ? h('span', null, format.cost(run.cost_usd)) : null),
        h('div', { class: 'spacer' }),
        link(`/runs/${encodeURIComponent(run.run_id)}`, { class: 'turn-open', 'data-testid': 'turn-run-link' }, 'Open run', icon('chevronRight', { size: 14 }))),
      h('div', { class: 'turn-body' },
        h('div', { class: 'turn-side turn-user', 'data-testid': 'turn-input' },
          user.length ? renderMessages(user, { compact: true, open: 2 }) : h('div', { class: 'turn-empty' }, 'No input recorded')),
        h('div', { class: 'turn-side turn-agent-side', 'data-testid': 'turn-output' },
          answer.length ? renderMessages(answer, { compact: true, open: 2 }) : failed ? null : h('div', { class: 'turn-empty' }, run.has_root ? 'No output recorded' : 'No answer yet: the run is still going')),
        failed ? h('div', { class: 'turn-error', role: 'note', 'data-testid': 'turn-error' },
          icon('alert'),
          h('div', null,
            h('strong', null, 'The run failed'),
            h('div', { class: 'turn-error-message' }, run.status_message || `${format.count(run.error_count)} failed ${run.error_count === 1 ? 'span' : 'spans'}`))) : null,
        (run.tools || []).length ? h('div', { class: 'turn-tools' },
          h('span', { class: 'muted' }, 'Tools'), run.tools.map((tool) => badges.tag(tool))) : null)));
}
