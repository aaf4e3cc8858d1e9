// Who the dashboard is signed in as, for this browser tab. Two ways:
//
// - With an API key ("key" mode): the key is kept in sessionStorage and sent in the
//   Authorization header; it never leaves this origin otherwise.
// - As a person ("account" mode): the server's HttpOnly session cookie authenticates, and no
//   secret is kept here. sessionStorage holds only the mode, the user name, the chosen project
//   and the CSRF token (sent in X-CSRF-Token on requests that change something, which a page of
//   another origin cannot read). The user's projects and roles are kept in memory only: on a
//   reload, GET /api/v1/auth/session gives them back (app.js asks at start).
import { chooseProject, roleAllows, roleIn } from './roles.js';

const MODE = 'lemma.mode';
const KEY = 'lemma.apiKey';
const PROJECT = 'lemma.project';
const USER = 'lemma.user';
const CSRF = 'lemma.csrf';

/** The account's projects with their roles (account mode), from the last session answer. */
let projectList = [];

/** `key`, `account`, or null when signed out. A key stored without a mode is key mode. */
export function mode() {
  const stored = sessionStorage.getItem(MODE);
  if (stored === 'account') return sessionStorage.getItem(USER) ? 'account' : null;
  return sessionStorage.getItem(KEY) ? 'key' : null;
}

export function signedIn() {
  return mode() !== null;
}

export function apiKey() {
  return mode() === 'key' ? sessionStorage.getItem(KEY) : null;
}

export function project() {
  return sessionStorage.getItem(PROJECT);
}

/** The signed-in person's name (account mode). */
export function user() {
  return mode() === 'account' ? sessionStorage.getItem(USER) : null;
}

export function csrfToken() {
  return mode() === 'account' ? sessionStorage.getItem(CSRF) : null;
}

/** The account's projects, `[{name, role}]`; empty in key mode. */
export function projects() {
  return mode() === 'account' ? projectList : [];
}

/** The role in the current project (account mode), or null (key mode: the key's scope rules). */
export function role() {
  return mode() === 'account' ? roleIn(projectList, project()) : null;
}

/**
 * Whether the controls for `access` (`read`, `write`, `admin`) should be offered. With a key,
 * always: the server's 403 says what the key may not do. As a person, as the role allows.
 */
export function can(access) {
  if (mode() !== 'account') return true;
  const r = role();
  return r === null ? true : roleAllows(r, access);
}

/** What a request is made with: `{mode: 'key', key}`, `{mode: 'account', user, project, csrf}`. */
export function credentials() {
  const m = mode();
  if (m === 'key') return { mode: 'key', key: apiKey() };
  if (m === 'account') return { mode: 'account', user: user(), project: project(), csrf: csrfToken() };
  return { mode: null };
}

/** Signs in with an API key of `projectName`. */
export function signIn(key, projectName) {
  clear();
  sessionStorage.setItem(MODE, 'key');
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(PROJECT, projectName);
}

/**
 * Signs in (or refreshes) as a person from a session answer (`{user, projects, csrf_token}`).
 * The project stays the one chosen before if it is the same user and they are still in it.
 */
export function signInAccount(answer) {
  const keep = mode() === 'account' && sessionStorage.getItem(USER) === answer.user ? project() : null;
  clear();
  projectList = (answer.projects || []).map((p) => ({ name: String(p.name), role: String(p.role) }));
  sessionStorage.setItem(MODE, 'account');
  sessionStorage.setItem(USER, answer.user);
  sessionStorage.setItem(CSRF, answer.csrf_token);
  const chosen = chooseProject(projectList, keep);
  if (chosen !== null) sessionStorage.setItem(PROJECT, chosen);
}

/** Chooses another of the account's projects. */
export function setProject(name) {
  if (mode() === 'account' && projectList.some((p) => p.name === name)) sessionStorage.setItem(PROJECT, name);
}

export function signOut() {
  clear();
}

function clear() {
  projectList = [];
  for (const name of [MODE, KEY, PROJECT, USER, CSRF]) sessionStorage.removeItem(name);
}
