// Sign-in: the dashboard reads with an API key, as every other client does, and keeps it for
// this browser tab only.
import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';

export function mount(root, ctx) {
  const next = safeNext(ctx.query.get('next'));
  const input = h('input', {
    type: 'password', name: 'key', id: 'api-key', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'lm_…', required: true, 'data-testid': 'api-key',
  });
  const error = h('div', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'button primary' }, 'Sign in');
  if (ctx.query.get('reason')) error.textContent = ctx.query.get('reason');

  async function submit(event) {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    button.disabled = true;
    error.textContent = '';
    try {
      const project = await api.whoami(key);
      session.signIn(key, project.name);
      ctx.navigate(next, { replace: true });
    } catch (err) {
      error.textContent = err.status === 401
        ? 'That key was not accepted. Check it, or create one with `lemma keys create`.'
        : err.message;
      button.disabled = false;
      input.focus();
    }
  }

  replace(root, h('section', { class: 'signin' },
    h('form', { class: 'card signin-card', onsubmit: submit },
      h('h1', null, 'Sign in to Lemma'),
      h('p', { class: 'muted' }, 'Use an API key of the project you want to look at. The key is kept for this browser tab only.'),
      h('label', { for: 'api-key' }, 'API key'),
      input,
      error,
      button,
      h('p', { class: 'muted small' },
        'The first start of ', h('code', null, 'lemma serve'), ' prints a key. Create more with ',
        h('code', null, 'lemma keys create --project <name>'), '.'))));
  input.focus();
}

/** Only a page of this server: `next` comes from the URL, which anyone can craft. */
function safeNext(next) {
  if (!next) return '/runs';
  try {
    const url = new URL(next, window.location.origin);
    if (url.origin === window.location.origin && url.pathname !== '/signin') return url.pathname + url.search;
  } catch {
    // not a URL: fall through
  }
  return '/runs';
}
