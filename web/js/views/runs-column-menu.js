// "Columns": shows or hides the runs list's columns, and adds a column for any metadata key
// (suggested from the project's runs). `onChange(keys)` gets the new list of column keys.
import { h, icon, replace } from '../dom.js';
import { combobox } from '../components/combobox.js';
import { menuButton } from '../components/menu-button.js';
import { valueSource } from '../components/value-source.js';
import { BUILT_IN, META, metaColumn, toggleColumn } from './runs-columns.js';

export function columnMenu({ columns, fetchValues, onChange }) {
  let keys = columns;
  let combo = null;
  let metaKeys = null; // one source per opening, so its cache serves every re-render
  const body = h('div', { class: 'column-menu-body' });
  const button = h('button', { type: 'button', class: 'button', 'data-testid': 'columns-button', title: 'Choose the columns' },
    'Columns', icon('chevronDown', { class: 'menu-caret' }));
  const menu = menuButton({
    button, panel: body, label: 'Columns', className: 'column-menu',
    onOpen: () => {
      metaKeys = valueSource({ fetchPage: (prefix, signal) => fetchValues('meta', prefix, signal) });
      listed = keys.filter((k) => k.startsWith(META));
      render();
    },
    onClose: () => combo?.cancel(),
  });

  let listed = []; // metadata columns listed while the menu is open, unchecked ones too

  function set(next, redraw) {
    keys = next;
    onChange(keys);
    if (redraw) render();
  }

  function checkbox(key, label, { disabled = false, title } = {}) {
    const box = h('input', {
      type: 'checkbox', checked: keys.includes(key), disabled, 'data-column': key,
      // The box already shows the change: the list stays as it is, so a key unticked by
      // mistake can be ticked again.
      onchange: (event) => set(toggleColumn(keys, key, event.target.checked), false),
    });
    return h('label', { class: ['column-option', disabled && 'is-fixed'], title: title || label }, box, h('span', { class: 'ellipsis' }, label));
  }

  function render() {
    combo?.cancel();
    combo = combobox({
      label: 'Add a metadata column', placeholder: 'Metadata key…', testid: 'column-meta',
      source: metaKeys,
      onPick: (key) => {
        if (!listed.includes(metaColumn(key))) listed.push(metaColumn(key));
        set(toggleColumn(keys, metaColumn(key), true), true);
        combo.focus();
      },
    });
    const meta = [...new Set([...listed, ...keys.filter((k) => k.startsWith(META))])];
    replace(body,
      h('div', { class: 'column-list', role: 'group', 'aria-label': 'Columns' },
        BUILT_IN.map((c) => checkbox(c.key, c.label, { disabled: c.fixed, title: c.fixed ? 'Always shown: it opens the run' : null }))),
      h('div', { class: 'menu-section-title' }, 'Metadata'),
      meta.length ? h('div', { class: 'column-list', role: 'group', 'aria-label': 'Metadata columns' },
        meta.map((k) => checkbox(k, k.slice(META.length), { title: `meta.${k.slice(META.length)}` }))) : null,
      combo.el,
      h('div', { class: 'muted menu-note' }, 'Saved in this browser, for this project.'));
    combo.reset();
  }

  return {
    el: menu.el,
    setColumns(next) {
      keys = next;
      if (menu.isOpen()) render();
    },
    close: () => menu.close(),
  };
}
