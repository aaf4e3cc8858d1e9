// Light and dark: the system's choice until the user picks one, remembered on this browser.

const KEY = 'lemma.theme';

export function apply() {
  const chosen = localStorage.getItem(KEY);
  if (chosen === 'light' || chosen === 'dark') document.documentElement.dataset.theme = chosen;
  else delete document.documentElement.dataset.theme;
}

export function current() {
  return document.documentElement.dataset.theme
    || (window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

export function toggle() {
  localStorage.setItem(KEY, current() === 'dark' ? 'light' : 'dark');
  apply();
}
