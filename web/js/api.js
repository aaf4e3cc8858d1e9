// The REST API client: every call carries the signed-in credentials, and every failure becomes
// an ApiError with the server's own message (which says what to fix). With a key, that is the
// Authorization header; as a person, the browser sends the session cookie itself and each call
// names the project (X-Lemma-Project) and, if it changes something, carries the CSRF token.
import * as session from './session.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Fires when the server refuses the key or the session, so the app can ask to sign in again. */
export const SIGNED_OUT = 'lemma:signed-out';

/** `GET /api/v1{path}` with query parameters (empty ones left out). */
export function get(path, params, options = {}) {
  return request('GET', path, params, undefined, options);
}

export function post(path, body, options = {}) {
  return request('POST', path, undefined, body, options);
}

export function put(path, body, options = {}) {
  return request('PUT', path, undefined, body, options);
}

export function del(path, options = {}) {
  return request('DELETE', path, undefined, undefined, options);
}

/**
 * `POST` of a body as it is (JSON lines, CSV), with its content type: for endpoints that read
 * more than JSON. Answers are still JSON.
 */
export function postText(path, params, text, contentType, options = {}) {
  return request('POST', path, params, undefined, { ...options, raw: { text, contentType } });
}

/** `GET` of an answer that is not JSON (an export as JSON lines or CSV): resolves to its text. */
export function getText(path, params, options = {}) {
  return request('GET', path, params, undefined, { ...options, asText: true });
}

/** Checks a key without storing it: resolves to the project it belongs to. */
export async function whoami(key) {
  const body = await request('GET', '/project', undefined, undefined, { key });
  return body.project;
}

/** Signs in as a person: the server sets the session cookie; resolves to the session answer. */
export function login(username, password) {
  return request('POST', '/auth/login', undefined, { username, password }, { anonymous: true });
}

/** The session the cookie holds (`{user, projects, csrf_token, expires_at}`); 401 when none. */
export function currentSession() {
  return request('GET', '/auth/session', undefined, undefined, { anonymous: true });
}

/** How this server signs people in: `{password, oidc: {name} | null}`. */
export function signInMethods() {
  return request('GET', '/auth/methods', undefined, undefined, { anonymous: true });
}

/** Ends the session (and clears the cookie). */
export function logout(csrfToken) {
  return request('POST', '/auth/logout', undefined, undefined, { anonymous: true, headers: { 'X-CSRF-Token': csrfToken } });
}

/** Methods that change nothing, so carry no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);
/** What a header value may hold; other project names cannot be named in a request. */
const HEADER_TEXT = /^[\x20-\x7e]*$/;

/** Who a request is made as: a key given, nobody (`anonymous`), or the signed-in session. */
function caller(options) {
  if (options.key !== undefined) return { mode: 'key', key: options.key };
  if (options.anonymous) return { mode: null };
  return session.credentials();
}

async function request(method, path, params, body, options = {}) {
  const { signal } = options;
  const as = caller(options);
  const url = new URL(`/api/v1${path}`, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = { Accept: options.asText ? '*/*' : 'application/json', ...options.headers };
  if (as.mode === 'key' && as.key) headers.Authorization = `Bearer ${as.key}`;
  if (as.mode === 'account') {
    if (as.project) {
      if (!HEADER_TEXT.test(as.project)) {
        throw new ApiError(400, 'project', `The project name “${as.project}” cannot be sent in the X-Lemma-Project header (only plain ASCII can): sign in with an API key of that project instead.`);
      }
      headers['X-Lemma-Project'] = as.project;
    }
    if (!SAFE_METHODS.has(method) && as.csrf) headers['X-CSRF-Token'] = as.csrf;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.raw) headers['Content-Type'] = options.raw.contentType;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.raw ? options.raw.text : body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'unreachable', 'The Lemma server did not answer. Is it still running?');
  }
  const text = await response.text();
  if (options.asText && response.ok) return text;
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // a proxy's HTML error page, say
  }
  if (!response.ok) {
    const message = json?.error?.message || `${response.status} ${response.statusText}`;
    const error = new ApiError(response.status, json?.error?.code || 'http', message);
    // Only the signed-in key's or session's refusal signs out: a check of a typed key, a
    // sign-in with a wrong password, or a request still in flight after signing out, must not.
    if (response.status === 401 && isCurrent(as)) {
      window.dispatchEvent(new CustomEvent(SIGNED_OUT, { detail: message }));
    }
    throw error;
  }
  return json;
}

/** Whether a request was made as who is still signed in. */
function isCurrent(as) {
  if (as.mode === 'key') return Boolean(as.key) && as.key === session.apiKey();
  if (as.mode === 'account') return session.mode() === 'account' && as.user === session.user();
  return false;
}
