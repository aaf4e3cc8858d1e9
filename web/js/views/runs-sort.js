// The runs list's order, kept in the URL (`?sort=cost&order=asc`) so a sorted list can be
// shared; newest first is the default and stays out of the URL. The API sorts
// (`GET /runs?sort=&order=`), and a cursor only continues the order it came from.

/** The orders the API takes, by the column that shows them. */
export const SORTS = ['start_time', 'duration', 'cost', 'tokens', 'spans', 'errors'];
export const DEFAULT_SORT = Object.freeze({ by: 'start_time', order: 'desc' });

/** The order a URL asks for; anything unknown is the default. */
export function readSort(query) {
  const by = query.get('sort');
  const order = query.get('order');
  return {
    by: SORTS.includes(by) ? by : DEFAULT_SORT.by,
    order: order === 'asc' || order === 'desc' ? order : DEFAULT_SORT.order,
  };
}

export function isDefaultSort(sort) {
  return sort.by === DEFAULT_SORT.by && sort.order === DEFAULT_SORT.order;
}

/** URL and API parameters of an order: none for the default. */
export function sortParams(sort) {
  return isDefaultSort(sort) ? { sort: '', order: '' } : { sort: sort.by, order: sort.order };
}

/** A click on a column's header: that column, largest (or newest) first; again flips it. */
export function nextSort(sort, by) {
  if (sort.by === by) return { by, order: sort.order === 'desc' ? 'asc' : 'desc' };
  return { by, order: 'desc' };
}

/** `aria-sort` of a column sorting by `by`: null unless it is the active one. */
export function ariaSort(sort, by) {
  if (sort.by !== by) return null;
  return sort.order === 'asc' ? 'ascending' : 'descending';
}
