// "Views": saves what the runs list shows (query, time range, order, columns) under a name in
// this browser, lists the saved ones to apply, rename or delete. The query, range and order are
// also the page's URL, so a view can be shared as a link.
import { h, icon, replace } from '../dom.js';
import { menuButton } from '../components/menu-button.js';
import { currentView, deleteView, loadViews, MAX_NAME, renameView, saveView, storeViews } from './runs-saved.js';

/** `current()` is the page's `{q, range, sort, columns}`; `onApply(view)` shows a view. */
export function savedViewsMenu({ current, onApply }) {
  let views = loadViews();
  let editing = null; // the name being renamed
  const label = h('span', { class: 'views-label ellipsis' });
  const button = h('button', { type: 'button', class: 'button views-button', 'data-testid': 'views-button', title: 'Saved views' },
    label, icon('chevronDown', { class: 'menu-caret' }));
  const body = h('div', { class: 'views-body' });
  const menu = menuButton({ button, panel: body, label: 'Saved views', className: 'views-menu', onOpen: () => { views = loadViews(); editing = null; render(); } });

  function commit(next, problem) {
    views = next;
    if (!storeViews(views)) problem.textContent = 'This browser would not store it (storage full or disabled).';
    sync();
    render();
  }

  function render() {
    const active = currentView(views, current());
    const problem = h('div', { class: 'filter-problem', role: 'alert', 'data-testid': 'views-problem' });
    const name = h('input', {
      type: 'text', class: 'input', 'aria-label': 'Name of the view', placeholder: 'Name this view…',
      maxlength: MAX_NAME, 'data-testid': 'view-name', value: active?.name || '',
    });
    const save = (event) => {
      event.preventDefault();
      const { views: next, error } = saveView(views, { ...current(), name: name.value });
      if (error) problem.textContent = error;
      else commit(next, problem);
    };
    replace(body,
      h('div', { class: 'menu-section-title' }, 'Saved views'),
      views.length
        ? h('ul', { class: 'views-list', 'data-testid': 'views-list' }, views.map((v) => row(v, v === active, problem)))
        : h('p', { class: 'muted views-empty' }, 'No saved views yet.'),
      h('form', { class: 'views-save', onsubmit: save },
        name, h('button', { type: 'submit', class: 'button primary small', 'data-testid': 'save-view' }, 'Save')),
      problem,
      h('div', { class: 'muted menu-note' }, 'Saves the query, time range, order and columns, in this browser only. The page’s link shares the query, range and order.'));
  }

  function row(view, isActive, problem) {
    if (editing === view.name) {
      const input = h('input', { type: 'text', class: 'input', 'aria-label': `New name for ${view.name}`, value: view.name, maxlength: MAX_NAME, 'data-testid': 'view-rename-input' });
      const done = (event) => {
        event.preventDefault();
        const { views: next, error } = renameView(views, view.name, input.value);
        if (error) {
          problem.textContent = error;
          return;
        }
        editing = null;
        commit(next, problem);
        body.querySelector(`[data-view-name="${CSS.escape(input.value.trim())}"]`)?.focus();
      };
      input.addEventListener('keydown', (event) => {
        if (event.key !== 'Escape') return;
        event.preventDefault(); // cancels the rename, not the menu
        editing = null;
        render();
      });
      requestAnimationFrame(() => { input.focus(); input.select(); });
      return h('li', { class: 'views-row is-editing' }, h('form', { class: 'views-rename', onsubmit: done }, input,
        h('button', { type: 'submit', class: 'button small' }, 'Rename')));
    }
    return h('li', { class: ['views-row', isActive && 'is-active'], 'data-view': view.name },
      h('button', {
        type: 'button', class: 'views-apply', 'data-view-name': view.name, title: view.q || 'All runs',
        'aria-current': isActive ? 'true' : null,
        onclick: () => { menu.close(); onApply(view); },
      }, h('span', { class: 'ellipsis' }, view.name), isActive ? icon('check', { size: 14 }) : null),
      h('button', {
        type: 'button', class: 'icon-button', title: 'Rename', 'aria-label': `Rename ${view.name}`, 'data-action': 'rename',
        onclick: () => { editing = view.name; render(); },
      }, pencil()),
      h('button', {
        type: 'button', class: 'icon-button', title: 'Delete', 'aria-label': `Delete ${view.name}`, 'data-action': 'delete',
        onclick: () => { commit(deleteView(views, view.name), problem); button.focus(); },
      }, icon('x', { size: 14 })));
  }

  /** The button names the saved view on screen, if one is. */
  function sync() {
    const active = currentView(views, current());
    label.textContent = '';
    replace(label, active ? active.name : 'Views');
    button.classList.toggle('is-set', Boolean(active));
  }

  sync();
  return { el: menu.el, sync, close: () => menu.close() };
}

function pencil() {
  return h('span', { class: 'views-pencil', 'aria-hidden': 'true' }, '✎');
}
