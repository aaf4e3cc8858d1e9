// A button that opens a panel under it (the runs list's filter builder, column chooser and saved
// views): it closes on Escape (focus back on the button), on a click outside and when the focus
// leaves, and keeps `aria-expanded` right.
import { h } from '../dom.js';

/**
 * `button` is the trigger, `panel` the popover's content. `onOpen()` runs before it shows
 * (render the panel there), `onClose()` after it hides. Returns `{el, open, close, isOpen}`.
 */
export function menuButton({ button, panel, label, className = '', onOpen, onClose }) {
  const popover = h('div', { class: ['popover', 'menu-panel', className && `${className}-panel`], role: 'dialog', 'aria-label': label, hidden: true }, panel);
  const el = h('div', { class: ['menu-button', className] }, button, popover);
  button.setAttribute('aria-haspopup', 'dialog');
  button.setAttribute('aria-expanded', 'false');

  function open() {
    if (!popover.hidden) return;
    onOpen?.();
    popover.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', outside, true);
  }

  function close({ focus = false } = {}) {
    if (popover.hidden) return;
    popover.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
    if (focus) button.focus();
    onClose?.();
  }

  function outside(event) {
    if (!el.contains(event.target)) close();
  }

  button.addEventListener('click', () => (popover.hidden ? open() : close()));
  el.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !popover.hidden && !event.defaultPrevented) {
      event.stopPropagation();
      close({ focus: true });
    }
  });
  el.addEventListener('focusout', (event) => {
    if (event.relatedTarget && !el.contains(event.relatedTarget)) close();
  });

  return { el, open, close, isOpen: () => !popover.hidden };
}
