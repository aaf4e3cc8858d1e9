// The REST API client: every call carries the signed-in key, and every failure becomes an
// ApiError with the server's own message (which says what to fix).
import * as session from './session.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Fires when the server refuses the key, so the app can ask for a new one. */
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

/** Checks a key without storing it: resolves to the project it belongs to. */
export async function whoami(key) {
  const body = await request('GET', '/project', undefined, undefined, { key });
  return body.project;
}

async function request(method, path, params, body, { key = session.apiKey(), signal } = {}) {
  const url = new URL(`/api/v1${path}`, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'unreachable', 'The Lemma server did not answer. Is it still running?');
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // a proxy's HTML error page, say
  }
  if (!response.ok) {
    const message = json?.error?.message || `${response.status} ${response.statusText}`;
    const error = new ApiError(response.status, json?.error?.code || 'http', message);
    // Only the signed-in key's refusal signs out: a check of a typed key, or a request still in
    // flight after signing out, must not.
    if (response.status === 401 && key && key === session.apiKey()) {
      window.dispatchEvent(new CustomEvent(SIGNED_OUT, { detail: message }));
    }
    throw error;
  }
  return json;
}
