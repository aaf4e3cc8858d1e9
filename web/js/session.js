// The API key the dashboard signed in with. Kept in sessionStorage: it lives as long as the
// browser tab and never leaves this origin except in the Authorization header.

const KEY = 'lemma.apiKey';
const PROJECT = 'lemma.project';

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function project() {
  return sessionStorage.getItem(PROJECT);
}

export function signIn(key, projectName) {
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(PROJECT, projectName);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(PROJECT);
}
