import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextPage, pageNumber, pageParams, previousPage, readPage } from '../../../web/js/components/pager.js';

const query = (params) => new URLSearchParams(params);

test('paging forward keeps the cursors needed to come back', () => {
  let page = readPage(query({}));
  assert.equal(pageNumber(page), 1);
  page = nextPage(page, 'c1');
  assert.deepEqual(page, { cursor: 'c1', back: [] });
  page = nextPage(page, 'c2');
  page = nextPage(page, 'c3');
  assert.deepEqual(page, { cursor: 'c3', back: ['c1', 'c2'] });
  assert.equal(pageNumber(page), 4);
});

test('paging back walks the stack down to the first page', () => {
  let page = { cursor: 'c3', back: ['c1', 'c2'] };
  page = previousPage(page);
  assert.deepEqual(page, { cursor: 'c2', back: ['c1'] });
  page = previousPage(page);
  assert.deepEqual(page, { cursor: 'c1', back: [] });
  page = previousPage(page);
  assert.deepEqual(page, { cursor: null, back: [] });
  assert.deepEqual(previousPage(page), page);
});

test('the page survives a trip through the URL', () => {
  const page = { cursor: 'c3', back: ['c1', 'c2'] };
  const params = pageParams(page);
  assert.deepEqual(params, { cursor: 'c3', back: 'c1,c2' });
  assert.deepEqual(readPage(query(params)), page);
  // `back` without a cursor means nothing.
  assert.deepEqual(readPage(query({ back: 'c1' })), { cursor: null, back: [] });
  assert.deepEqual(pageParams({ cursor: null, back: [] }), { cursor: '', back: '' });
});
