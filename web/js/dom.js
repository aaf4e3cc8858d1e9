// Building DOM without markup strings. Everything a span carries (names, inputs, outputs,
// attributes) is hostile: it only ever reaches the page as text nodes or attribute values set
// through the DOM, never through innerHTML, so it cannot become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Bidirectional formatting controls (embeddings, overrides, isolates, marks). In span content
// they could reorder what surrounds them or make a name read as something else
// (`safe\u202Egnp.exe` shows as "safeexe.png"), so every text this module puts in the page shows
// them as visible markers instead; copy buttons still copy the raw value. Elements also isolate
// their text (`unicode-bidi: isolate` in base.css), so right-to-left text stays in its own box.
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** `text` with every bidi control shown as a marker such as `⟨U+202E⟩`. */
export function visibleText(text) {
  const s = String(text);
  if (!BIDI_CONTROL.test(s)) return s;
  return s.replace(BIDI_CONTROLS, (c) => `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

/** Sets an element's text, bidi controls made visible. */
export function setText(el, text) {
  el.textContent = visibleText(text);
  return el;
}

// Attributes a person reads (tooltips, labels) get the same treatment as text.
const READ_ATTRIBUTES = new Set(['title', 'aria-label', 'alt', 'placeholder']);

/** Creates an HTML element: `h('a', {href, class: 'x', onclick: fn}, 'text', child, [more])`. */
export function h(tag, props, ...children) {
  return build(document.createElement(tag), props, children);
}

/** Creates an SVG element (for icons and charts). */
export function svg(tag, props, ...children) {
  return build(document.createElementNS(SVG_NS, tag), props, children);
}

function build(el, props, children) {
  if (props) {
    for (const [key, value] of Object.entries(props)) setProp(el, key, value);
  }
  append(el, children);
  return el;
}

function setProp(el, key, value) {
  if (value === undefined || value === null || value === false) return;
  if (key === 'class') {
    const names = classNames(value);
    if (names) el.setAttribute('class', names);
  } else if (key === 'style' && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined && v !== null) el.style.setProperty(k, String(v));
    }
  } else if (key === 'dataset') {
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined && v !== null) el.dataset[k] = String(v);
    }
  } else if (key.startsWith('on') && typeof value === 'function') {
    el.addEventListener(key.slice(2).toLowerCase(), value);
  } else if (key === 'text') {
    el.textContent = visibleText(value);
  } else if (key === 'value' && 'value' in el) {
    el.value = String(value);
  } else if (key === 'href' || key === 'src') {
    el.setAttribute(key, safeUrl(value));
  } else if (value === true) {
    el.setAttribute(key, '');
  } else {
    el.setAttribute(key, READ_ATTRIBUTES.has(key) ? visibleText(value) : String(value));
  }
}

/** `'a b'`, `['a', cond && 'b']` or `{a: true, b: false}` to a class attribute. */
export function classNames(value) {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter(Boolean).join(' ');
  return Object.entries(value)
    .filter(([, on]) => on)
    .map(([name]) => name)
    .join(' ');
}

/** Only http(s), mailto and same-page URLs survive: a `javascript:` URL from span content never does. */
export function safeUrl(value) {
  const url = String(value);
  try {
    const parsed = new URL(url, window.location.href);
    if (['http:', 'https:', 'mailto:'].includes(parsed.protocol)) return url;
  } catch {
    // not a URL at all
  }
  return '#';
}

/** Appends children: strings and numbers as text, arrays flattened, null/false skipped. */
export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(visibleText(child)));
  }
  return parent;
}

/** Replaces an element's children. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A link the router handles without reloading the page. */
export function link(href, props, ...children) {
  return h('a', { ...props, href, 'data-link': true }, ...children);
}

/** Small inline icons drawn as SVG paths (24×24 grid, stroked). */
const ICONS = {
  chevronRight: 'M9 6l6 6-6 6',
  chevronDown: 'M6 9l6 6 6-6',
  search: 'M11 4a7 7 0 1 1 0 14 7 7 0 0 1 0-14zM20 20l-4-4',
  copy: 'M9 9h10v10H9zM5 15V5h10',
  check: 'M5 12l5 5 9-10',
  x: 'M6 6l12 12M18 6L6 18',
  sun: 'M12 4v2M12 18v2M4 12h2M18 12h2M6.3 6.3l1.4 1.4M16.3 16.3l1.4 1.4M6.3 17.7l1.4-1.4M16.3 7.7l1.4-1.4M12 9a3 3 0 1 1 0 6 3 3 0 0 1 0-6z',
  moon: 'M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z',
  alert: 'M12 4l9 16H3zM12 10v4M12 17v.5',
  refresh: 'M20 12a8 8 0 1 1-2.3-5.7M20 4v4h-4',
  external: 'M14 4h6v6M20 4l-9 9M18 14v5H5V6h5',
  logout: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  clock: 'M12 3a9 9 0 1 1 0 18 9 9 0 0 1 0-18zM12 7v5l3 2',
  flag: 'M6 21V4M6 4h11l-2.5 4.5L17 13H6',
};

export function icon(name, props = {}) {
  return svg(
    'svg',
    { viewBox: '0 0 24 24', class: ['icon', props.class], 'aria-hidden': 'true', width: props.size || 16, height: props.size || 16 },
    svg('path', { d: ICONS[name] || '', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }),
  );
}

/**
 * Arrow keys (and j/k) move the focus among the `selector` elements of `container`, as in a
 * list of links: for tables whose rows are links.
 */
export function moveFocusAmong(event, container, selector) {
  const step = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[event.key];
  if (!step || event.altKey || event.ctrlKey || event.metaKey) return;
  const items = [...container.querySelectorAll(selector)];
  const i = items.indexOf(document.activeElement);
  if (i < 0) return;
  event.preventDefault();
  items[Math.max(0, Math.min(items.length - 1, i + step))].focus();
}

/** Runs `fn` at most once per animation frame (scroll and resize handlers). */
export function rafThrottle(fn) {
  let queued = false;
  return (...args) => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn(...args);
    });
  };
}
