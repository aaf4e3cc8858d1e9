// History-based routing: every page of the dashboard is a real URL that can be shared.
//
// A view module exports `mount(root, ctx)`; it may return `{update(ctx), dispose()}`. When only
// the query string changes and the view has `update`, it is updated in place (so selecting a
// span does not rebuild a 1,000-span tree); `update` returning false asks for a fresh mount.

export function createRouter(routes, { onRoute }) {
  let current = null;

  function match(pathname) {
    for (const route of routes) {
      const m = route.pattern.exec(pathname);
      if (m) return { route, params: (m.groups && decodeParams(m.groups)) || {} };
    }
    return null;
  }

  function resolve() {
    const url = new URL(window.location.href);
    const found = match(url.pathname) || { route: routes.notFound, params: {} };
    onRoute(found.route, found.params, url.searchParams, current);
    current = { route: found.route, params: found.params };
  }

  function navigate(href, { replace = false } = {}) {
    const url = new URL(href, window.location.href);
    if (url.origin !== window.location.origin) {
      window.location.assign(url);
      return;
    }
    if (url.href === window.location.href) return;
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    resolve();
  }

  document.addEventListener('click', (event) => {
    const a = event.target.closest('a[data-link]');
    if (!a || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || a.target) return;
    event.preventDefault();
    navigate(a.getAttribute('href'));
  });
  window.addEventListener('popstate', resolve);

  return { navigate, resolve };
}

function decodeParams(groups) {
  const out = {};
  for (const [k, v] of Object.entries(groups)) {
    try {
      out[k] = decodeURIComponent(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

/** Builds `path?query` from an object, leaving out empty values. */
export function href(path, query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, v);
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}
