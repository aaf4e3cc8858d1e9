// The dashboard's entry point: the page frame (header, navigation, theme), sign-in, and which
// view each URL shows. Views are loaded on first use.
import { h, icon, link, replace, visibleText } from './dom.js';
import * as api from './api.js';
import * as session from './session.js';
import { createRouter, href } from './router.js';
import { errorState } from './components/states.js';
import * as theme from './theme.js';

const routes = [
  { pattern: /^\/$/, redirect: '/runs' },
  { pattern: /^\/signin$/, load: () => import('./views/signin.js'), public: true, title: 'Sign in' },
  { pattern: /^\/runs$/, load: () => import('./views/runs.js'), nav: 'runs', title: 'Runs' },
  { pattern: /^\/runs\/(?<runId>[^/]+)$/, load: () => import('./views/run/index.js'), nav: 'runs', title: 'Run' },
  { pattern: /^\/threads$/, load: () => import('./views/threads.js'), nav: 'threads', title: 'Threads' },
  { pattern: /^\/threads\/(?<threadId>[^/]+)$/, load: () => import('./views/thread.js'), nav: 'threads', title: 'Thread' },
  { pattern: /^\/stats$/, load: () => import('./views/stats.js'), nav: 'stats', title: 'Stats' },
  { pattern: /^\/health$/, load: () => import('./views/health.js'), nav: 'health', title: 'Ingestion health' },
  { pattern: /^\/settings$/, load: () => import('./views/settings.js'), nav: 'settings', title: 'Settings' },
  { pattern: /^\/welcome$/, load: () => import('./views/welcome.js'), nav: 'welcome', title: 'Send traces' },
];
routes.notFound = { load: async () => ({ mount: notFound }), title: 'Not found' };

const root = document.getElementById('app');
const nav = h('nav', { class: 'nav', 'aria-label': 'Main' });
const projectBadge = h('span', { class: 'project-badge', title: 'Project of the key you signed in with' });
const main = h('main', { class: 'view', id: 'view', tabindex: '-1' });
let mounted = null;

theme.apply();
replace(root, header(), main);

const router = createRouter(routes, { onRoute: show });
window.addEventListener(api.SIGNED_OUT, (event) => {
  session.signOut();
  const here = window.location.pathname + window.location.search;
  router.navigate(href('/signin', { next: here, reason: event.detail }), { replace: true });
});
document.addEventListener('keydown', (event) => {
  // "/" jumps to the search bar, as in most log and trace tools.
  if (event.key !== '/' || event.metaKey || event.ctrlKey || isTyping(event.target)) return;
  const input = main.querySelector('[data-search-input]');
  if (input) {
    event.preventDefault();
    input.focus();
    input.select();
  }
});
router.resolve();

function header() {
  return h('header', { class: 'topbar' },
    link('/runs', { class: 'brand', 'aria-label': 'Lemma home' },
      h('img', { src: '/favicon.ico', alt: '', width: 22, height: 22 }),
      h('span', null, 'Lemma')),
    nav,
    h('div', { class: 'topbar-end' },
      projectBadge,
      h('a', { class: 'topbar-link', href: '/api/v1/openapi.json', target: '_blank', rel: 'noopener', title: 'The REST API, described as an OpenAPI document (JSON)', 'data-testid': 'openapi-link' },
        'API', icon('external', { size: 12 })),
      h('button', { type: 'button', class: 'icon-button', title: 'Switch light / dark', 'aria-label': 'Switch light or dark theme', onclick: () => theme.toggle() },
        icon('moon', { class: 'only-light' }), icon('sun', { class: 'only-dark' })),
      h('button', { type: 'button', class: 'icon-button', title: 'Sign out', 'aria-label': 'Sign out', 'data-testid': 'sign-out', onclick: signOut },
        icon('logout'))));
}

function renderNav(active) {
  const signedIn = Boolean(session.apiKey());
  replace(nav, signedIn && [
    navLink('/runs', 'Runs', active === 'runs'),
    navLink('/threads', 'Threads', active === 'threads'),
    navLink('/stats', 'Stats', active === 'stats'),
    navLink('/health', 'Health', active === 'health'),
    navLink('/settings', 'Settings', active === 'settings'),
    navLink('/welcome', 'Send traces', active === 'welcome'),
  ]);
  projectBadge.textContent = signedIn ? visibleText(session.project() || '') : '';
  projectBadge.hidden = !signedIn;
  root.classList.toggle('signed-out', !signedIn);
}

function navLink(path, label, active) {
  return link(path, { class: ['nav-link', active && 'active'], 'aria-current': active ? 'page' : null }, label);
}

async function show(route, params, query, previous) {
  if (route.redirect) {
    router.navigate(route.redirect, { replace: true });
    return;
  }
  if (!route.public && !session.apiKey()) {
    const here = window.location.pathname + window.location.search;
    router.navigate(href('/signin', { next: here }), { replace: true });
    return;
  }
  renderNav(route.nav);
  document.title = `${route.title} · Lemma`;
  const ctx = {
    params,
    query,
    navigate: router.navigate,
    setTitle: (title) => { document.title = `${visibleText(title)} · Lemma`; },
  };

  if (mounted && previous && previous.route === route && sameParams(previous.params, params) && mounted.update) {
    if (mounted.update(ctx) !== false) return;
  }
  mounted?.dispose?.();
  mounted = null;
  const container = h('div', { class: 'view-body' });
  replace(main, container);
  try {
    const module = await route.load();
    if (main.firstChild !== container) return; // navigated away while loading
    const handle = (await module.mount(container, ctx)) || null;
    // A view that awaited the network may finish after the user moved on: drop it.
    if (main.firstChild !== container) {
      handle?.dispose?.();
      return;
    }
    mounted = handle;
  } catch (err) {
    console.error(err);
    replace(container, errorState(err));
  }
}

function sameParams(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function signOut() {
  session.signOut();
  router.navigate('/signin', { replace: true });
}

function notFound(container) {
  replace(container, h('section', { class: 'empty-state' },
    h('h1', null, 'Nothing here'),
    h('p', null, 'This address is not a page of the dashboard.'),
    link('/runs', { class: 'button primary' }, 'Go to runs')));
}

function isTyping(el) {
  return el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}
