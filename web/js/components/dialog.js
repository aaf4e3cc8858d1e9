// A modal dialog on the native <dialog>: showModal() makes the rest of the page inert (so the
// focus stays inside) and Escape closes it. Closing, however it happens, runs `onClose` once,
// removes the dialog and gives the focus back to where it was.
import { h, replace } from '../dom.js';

let seq = 0;

/**
 * `title` names the dialog; `testid` marks it for tests. Returns `{el, body, actions, setBody,
 * setActions, close, isOpen}`: the caller fills `body` and `actions` (the button row).
 */
export function openDialog({ title, testid, onClose, className = '' }) {
  const titleId = `dialog-title-${++seq}`;
  const body = h('div', { class: 'dialog-body' });
  const actions = h('div', { class: 'dialog-actions' });
  const el = h('dialog', { class: ['dialog', className], 'aria-labelledby': titleId, 'data-testid': testid },
    h('h2', { class: 'dialog-title', id: titleId }, title), body, actions);
  const previous = document.activeElement;
  let open = true;

  el.addEventListener('close', () => {
    if (!open) return;
    open = false;
    el.remove();
    onClose?.();
    if (previous && previous.isConnected) previous.focus();
  });
  // Escape inside a nested widget (an input's own Escape) must not leak to the page behind.
  el.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') event.stopPropagation();
  });
  document.body.appendChild(el);
  el.showModal();

  return {
    el,
    body,
    actions,
    setBody: (...children) => replace(body, ...children),
    /** Replaces the buttons; `focus` (one of them) gets the focus. */
    setActions(buttons, focus) {
      replace(actions, ...buttons);
      (focus || buttons.find(Boolean))?.focus();
    },
    close: () => { if (open) el.close(); },
    isOpen: () => open,
  };
}

/** A dialog button: `kind` is `primary`, `danger` or nothing. */
export function dialogButton(label, onclick, { kind, testid, disabled } = {}) {
  return h('button', { type: 'button', class: ['button', kind], 'data-testid': testid, disabled, onclick }, label);
}
