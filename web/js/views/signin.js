// Sign-in: as a person, with a user name and password (the server answers with an HttpOnly
// session cookie, and nothing secret is kept in the page), or with an API key, as every other
// client does, kept for this browser tab only. One form, one button: whichever was filled in.
// When the server has an OpenID Connect provider, a link above the form goes through it: the
// server sends the browser there and back, sets the same cookie, and returns here with `next`
// (app.js then finds the session) or with the `reason` it was refused.
import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { safeNext, signinChoice, signinError, ssoHref } from './signin-data.js';

export function mount(root, ctx) {
  const next = safeNext(ctx.query.get('next'), window.location.origin);
  const username = h('input', {
    type: 'text', name: 'username', id: 'signin-user', autocomplete: 'username', autocapitalize: 'off',
    spellcheck: 'false', 'data-testid': 'username',
  });
  const password = h('input', {
    type: 'password', name: 'password', id: 'signin-password', autocomplete: 'current-password',
    'data-testid': 'password',
  });
  const key = h('input', {
    type: 'password', name: 'key', id: 'api-key', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'lm_…', 'data-testid': 'api-key', 'aria-describedby': 'api-key-note',
  });
  const fields = { username, password, key };
  const error = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'signin-error' });
  const button = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'signin-submit' }, 'Sign in');
  if (ctx.query.get('reason')) error.textContent = ctx.query.get('reason');

  async function submit(event) {
    event.preventDefault();
    error.textContent = '';
    const choice = signinChoice({ username: username.value, password: password.value, key: key.value });
    if (choice.error) {
      error.textContent = choice.error;
      fields[choice.field]?.focus();
      return;
    }
    button.disabled = true;
    try {
      if (choice.mode === 'key') {
        const project = await api.whoami(choice.key);
        session.signIn(choice.key, project.name);
      } else {
        session.signInAccount(await api.login(choice.username, choice.password));
      }
      password.value = '';
      key.value = '';
      ctx.navigate(next, { replace: true });
    } catch (err) {
      error.textContent = signinError(choice.mode, err);
      button.disabled = false;
      const field = choice.mode === 'key' ? key : password;
      field.focus();
      field.select();
    }
  }

  // Filled in once the server says it has a provider (no button flashes in when it has none).
  const sso = h('div', { class: 'signin-sso', hidden: true });
  api.signInMethods().then((methods) => {
    if (!methods?.oidc) return;
    replace(sso,
      h('a', { class: 'button primary signin-sso-button', href: ssoHref(next), 'data-testid': 'signin-sso' },
        `Sign in with ${methods.oidc.name}`),
      h('div', { class: 'signin-or', 'aria-hidden': 'true' }, h('span', null, 'or')));
    sso.hidden = false;
  }).catch(() => { /* an older server: the form alone */ });

  replace(root, h('section', { class: 'signin' },
    h('form', { class: 'card signin-card', novalidate: true, onsubmit: submit, 'data-testid': 'signin-form' },
      h('h1', null, 'Sign in to Lemma'),
      sso,
      h('fieldset', { class: 'signin-fields' },
        h('legend', null, 'With your account'),
        h('label', { for: 'signin-user' }, 'User name'),
        username,
        h('label', { for: 'signin-password' }, 'Password'),
        password),
      h('div', { class: 'signin-or', 'aria-hidden': 'true' }, h('span', null, 'or')),
      h('fieldset', { class: 'signin-fields' },
        h('legend', { class: 'visually-hidden' }, 'With an API key'),
        h('label', { for: 'api-key' }, 'API key'),
        key,
        h('p', { class: 'muted small', id: 'api-key-note' }, 'A key of the project you want to look at, kept for this browser tab only.')),
      error,
      button,
      h('p', { class: 'muted small' },
        'An operator creates accounts with ', h('code', null, 'lemma users create'), ' and gives them a project with ',
        h('code', null, 'lemma users grant'), '. The first start of ', h('code', null, 'lemma serve'), ' prints a key; create more with ',
        h('code', null, 'lemma keys create --project <name>'), '.'))));
  username.focus();
}
