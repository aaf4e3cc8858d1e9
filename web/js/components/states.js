// Loading, empty and error states, the same everywhere.
import { h } from '../dom.js';

export function loading(label = 'Loading…') {
  return h('div', { class: 'state loading', role: 'status', 'aria-live': 'polite' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), label);
}

export function empty(title, ...body) {
  return h('div', { class: 'state empty', 'data-testid': 'empty' }, h('strong', null, title), body.length ? h('div', null, ...body) : null);
}

/** An error with the server's message; `retry` adds a button that calls it. */
export function errorState(err, retry) {
  const title = err?.status === 404 ? 'Not found'
    : err?.status === 400 ? 'That request was not valid'
      : err?.status === 0 ? 'Server unreachable' : 'Something went wrong';
  return h('div', { class: 'state error', role: 'alert', 'data-testid': 'error' },
    h('strong', null, title),
    h('div', { class: 'state-message' }, err?.message || String(err)),
    retry ? h('button', { type: 'button', class: 'button', onclick: retry }, 'Try again') : null);
}
