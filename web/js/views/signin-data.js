// What the sign-in form asks the server, from what was typed (pure, for the unit tests). The
// form takes a user name and password, or an API key: one or the other.

/**
 * `{mode: 'account', username, password}`, `{mode: 'key', key}` or `{error, field}` (the field to
 * put the focus in). The user name and key are trimmed; a password goes as typed.
 */
export function signinChoice({ username = '', password = '', key = '' } = {}) {
  const user = String(username).trim();
  const pass = String(password);
  const apiKey = String(key).trim();
  if (apiKey && (user || pass)) {
    return { error: 'Fill in a user name and password, or an API key, not both.', field: 'key' };
  }
  if (apiKey) return { mode: 'key', key: apiKey };
  if (!user && !pass) return { error: 'Enter your user name and password, or an API key.', field: 'username' };
  if (!user) return { error: 'Enter your user name.', field: 'username' };
  if (!pass) return { error: 'Enter your password.', field: 'password' };
  return { mode: 'account', username: user, password: pass };
}

/** What a refused sign-in says. */
export function signinError(mode, err) {
  if (err?.status === 401) {
    return mode === 'key'
      ? 'That key was not accepted. Check it, or create one with `lemma keys create`.'
      : 'Wrong user name or password.';
  }
  if (err?.status === 429) return err.message || 'Too many attempts: wait a moment and try again.';
  return err?.message || String(err);
}

/** Only a page of this server: `next` comes from the URL, which anyone can craft. */
export function safeNext(next, origin) {
  if (!next) return '/runs';
  try {
    const url = new URL(next, origin);
    if (url.origin === origin && url.pathname !== '/signin') return url.pathname + url.search;
  } catch {
    // not a URL: fall through
  }
  return '/runs';
}

/** Where the single sign-on button goes: the server's OpenID Connect start, back to `next`. */
export function ssoHref(next) {
  return `/api/v1/auth/oidc/start?${new URLSearchParams({ next })}`;
}
