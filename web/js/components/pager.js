// Cursor pagination kept in the URL, so any page can be shared and Previous works after a
// reload: `cursor` is the current page's cursor (none on the first page) and `back` the cursors
// of the pages before it (not counting the first), comma-separated. Cursors are base64url, so a
// comma never occurs in one.
import { h, icon, link } from '../dom.js';
import { count } from '../format.js';
import { href } from '../router.js';

/** The page a URL query stands for: `{cursor, back: [...]}`. */
export function readPage(query) {
  const cursor = query.get('cursor') || null;
  const back = cursor ? (query.get('back') || '').split(',').filter(Boolean) : [];
  return { cursor, back };
}

export function nextPage(page, nextCursor) {
  return { cursor: nextCursor, back: page.cursor ? [...page.back, page.cursor] : [] };
}

export function previousPage(page) {
  if (!page.cursor) return page;
  const back = page.back.slice(0, -1);
  return { cursor: page.back[page.back.length - 1] || null, back };
}

/** 1 for the first page. */
export function pageNumber(page) {
  return page.cursor ? page.back.length + 2 : 1;
}

/** URL parameters of a page, to merge into the view's query. */
export function pageParams(page) {
  return { cursor: page.cursor || '', back: page.cursor ? page.back.join(',') : '' };
}

/**
 * The URL state of a searchable, paged list page (runs, threads): its query, time range and
 * page. `defaultRange` is left out of URLs so the plain page stays a plain URL.
 */
export function readListState(query, defaultRange) {
  return { q: query.get('q') || '', range: query.get('range') || defaultRange, page: readPage(query) };
}

export function listHref(path, { q, range, page }, defaultRange) {
  return href(path, { q, range: range === defaultRange ? '' : range, ...pageParams(page) });
}

/**
 * Previous / Next as real links. `hrefFor(page)` builds the URL of another page; `shown` is how
 * many items this page holds, `size` the page size (for the "51–100" label).
 */
export function pager({ page, nextCursor, shown, size, hrefFor, noun = 'runs' }) {
  const number = pageNumber(page);
  const first = (number - 1) * size + 1;
  const label = shown ? `${count(first)}–${count(first + shown - 1)} ${noun}` : `No ${noun}`;
  const prev = page.cursor
    ? link(hrefFor(previousPage(page)), { class: 'button small', rel: 'prev', 'data-testid': 'page-prev' }, icon('chevronRight', { class: 'flip' }), 'Previous')
    : h('button', { type: 'button', class: 'button small', disabled: true, 'data-testid': 'page-prev' }, icon('chevronRight', { class: 'flip' }), 'Previous');
  const next = nextCursor
    ? link(hrefFor(nextPage(page, nextCursor)), { class: 'button small', rel: 'next', 'data-testid': 'page-next' }, 'Next', icon('chevronRight'))
    : h('button', { type: 'button', class: 'button small', disabled: true, 'data-testid': 'page-next' }, 'Next', icon('chevronRight'));
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('span', { class: 'pager-label muted', 'data-testid': 'page-label' }, label, number > 1 ? ` · page ${number}` : ''),
    h('div', { class: 'pager-buttons' }, prev, next));
}
