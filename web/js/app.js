// The dashboard's entry point: the page frame (header, navigation, theme), sign-in, and which
// view each URL shows. Views are loaded on first use.
import { h, icon, link, replace, visibleText } from './dom.js';
import * as api from './api.js';
import * as session from './session.js';
import { projectLabel } from './roles.js';
import { createRouter, href } from './router.js';
import { safeNext } from './views/signin-data.js';
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
  { pattern: /^\/alerts$/, load: () => import('./views/alerts.js'), nav: 'alerts', title: 'Alerts' },
  { pattern: /^\/experiments$/, load: () => import('./views/experiments.js'), nav: 'experiments', title: 'Experiments' },
  { pattern: /^\/datasets\/(?<name>[^/]+)$/, load: () => import('./views/dataset.js'), nav: 'experiments', title: 'Dataset' },
  { pattern: /^\/compare$/, load: () => import('./views/compare.js'), nav: 'experiments', title: 'Compare experiments' },
  { pattern: /^\/health$/, load: () => import('./views/health.js'), nav: 'health', title: 'Ingestion health' },
  { pattern: /^\/settings$/, load: () => import('./views/settings.js'), nav: 'settings', title: 'Settings' },
  { pattern: /^\/welcome$/, load: () => import('./views/welcome.js'), nav: 'welcome', title: 'Send traces' },
];
routes.notFound = { load: async () => ({ mount: notFound }), title: 'Not found' };

const root = document.getElementById('app');
const nav = h('nav', { class: 'nav', 'aria-label': 'Main' });
// The project shown: a badge, or (signed in as a person with several projects) a switcher.
const projectBadge = h('span', { class: 'project-badge', 'data-testid': 'project-badge' });
const projectSwitcher = h('select', {
  class: 'project-switcher', 'aria-label': 'Project', 'data-testid': 'project-switcher',
  title: 'The project this dashboard shows, and your role in it', onchange: switchProject,
});
const userLabel = h('span', { class: 'topbar-user', 'data-testid': 'signed-in-user' });
const main = h('main', { class: 'view', id: 'view', tabindex: '-1' });
let mounted = null;
/** Set when the view must be mounted afresh even if only its query changed (a new project). */
let remount = false;

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
start();

/**
 * Signed in as a person, the page keeps no secret: the session cookie is checked, and gives back
 * the projects, roles and CSRF token. With nothing stored, a still-valid cookie signs in without
 * typing. A stored key needs no check (a 401 on the first request signs out).
 */
async function start() {
  const stored = session.mode();
  if (stored !== 'key') {
    try {
      const answer = await api.currentSession();
      // Unless someone signed in (or out) in the meantime.
      if (session.mode() === stored) {
        session.signInAccount(answer);
        if (!stored && window.location.pathname === '/signin') {
          const next = safeNext(new URL(window.location.href).searchParams.get('next'), window.location.origin);
          history.replaceState(null, '', next);
        }
      }
    } catch (err) {
      // The session ended: sign in again. (Unreachable: keep it, the views say so.)
      if (err.status === 401 && stored === 'account' && session.mode() === 'account') session.signOut();
    }
  }
  router.resolve();
}

function header() {
  return h('header', { class: 'topbar' },
    link('/runs', { class: 'brand', 'aria-label': 'Lemma home' },
      h('img', { src: '/favicon.ico', alt: '', width: 22, height: 22 }),
      h('span', null, 'Lemma')),
    nav,
    h('div', { class: 'topbar-end' },
      projectBadge,
      projectSwitcher,
      userLabel,
      h('a', { class: 'topbar-link', href: '/api/v1/openapi.json', target: '_blank', rel: 'noopener', title: 'The REST API, described as an OpenAPI document (JSON)', 'data-testid': 'openapi-link' },
        'API', icon('external', { size: 12 })),
      h('button', { type: 'button', class: 'icon-button', title: 'Switch light / dark', 'aria-label': 'Switch light or dark theme', onclick: () => theme.toggle() },
        icon('moon', { class: 'only-light' }), icon('sun', { class: 'only-dark' })),
      h('button', { type: 'button', class: 'icon-button', title: 'Sign out', 'aria-label': 'Sign out', 'data-testid': 'sign-out', onclick: signOut },
        icon('logout'))));
}

function renderNav(active) {
  const signedIn = session.signedIn();
  replace(nav, signedIn && [
    navLink('/runs', 'Runs', active === 'runs'),
    navLink('/threads', 'Threads', active === 'threads'),
    navLink('/experiments', 'Experiments', active === 'experiments'),
    navLink('/stats', 'Stats', active === 'stats'),
    navLink('/health', 'Health', active === 'health'),
    navLink('/alerts', 'Alerts', active === 'alerts'),
    navLink('/settings', 'Settings', active === 'settings'),
    navLink('/welcome', 'Send traces', active === 'welcome'),
  ]);
  renderProject(signedIn);
  root.classList.toggle('signed-out', !signedIn);
}

function renderProject(signedIn) {
  const account = session.mode() === 'account';
  const projects = session.projects();
  const current = session.project() || '';
  const switching = account && projects.length > 1;
  if (account) {
    const role = session.role();
    replace(projectBadge, current || 'no project',
      role ? h('span', { class: 'role-badge', 'data-testid': 'project-role' }, role) : null);
    projectBadge.setAttribute('title', current
      ? `The project you are looking at${role ? `; you are its ${role}` : ''}`
      : 'You are in no project yet: an admin can add you');
  } else {
    projectBadge.textContent = visibleText(current);
    projectBadge.setAttribute('title', 'Project of the key you signed in with');
  }
  projectBadge.hidden = !signedIn || switching;
  projectSwitcher.hidden = !signedIn || !switching;
  if (switching) {
    replace(projectSwitcher, projects.map((p) => h('option', { value: p.name, dataset: { role: p.role } }, projectLabel(p))));
    projectSwitcher.value = current;
  } else {
    projectSwitcher.replaceChildren();
  }
  const user = session.user();
  replace(userLabel, user || '');
  userLabel.setAttribute('title', user ? visibleText(`Signed in as ${user}`) : '');
  userLabel.hidden = !signedIn || !user;
}

/**
 * Another project: the page shows it. A run, thread, dataset or comparison belongs to one
 * project, so its list is shown.
 */
function switchProject() {
  session.setProject(projectSwitcher.value);
  const path = window.location.pathname;
  const list = path.startsWith('/runs/') ? '/runs' : path.startsWith('/threads/') ? '/threads'
    : path.startsWith('/datasets/') || path === '/compare' ? '/experiments' : null;
  remount = true;
  if (list) router.navigate(list);
  else router.resolve();
}

function navLink(path, label, active) {
  return link(path, { class: ['nav-link', active && 'active'], 'aria-current': active ? 'page' : null }, label);
}

async function show(route, params, query, previous) {
  if (route.redirect) {
    router.navigate(route.redirect, { replace: true });
    return;
  }
  if (!route.public && !session.signedIn()) {
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

  const fresh = remount;
  remount = false;
  if (!fresh && mounted && previous && previous.route === route && sameParams(previous.params, params) && mounted.update) {
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

async function signOut() {
  // As a person, the server ends the session and clears the cookie, so a reload does not sign
  // in again. Signed out here whatever it answers.
  const csrf = session.csrfToken();
  if (session.mode() === 'account') {
    try {
      await api.logout(csrf);
    } catch {
      // already ended, or the server is gone: nothing more to do here
    }
  }
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
