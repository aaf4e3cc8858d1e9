// A tiny stand-in for the DOM, enough for web/js/dom.js's `h()` and what is built with it: elements
// with attributes, children, text, listeners. Not a test file (node --test skips this name); unit
// tests of DOM-building code call `installDom()` and inspect what was built.

export class FakeNode {
  get parentElement() {
    return this.parentNode || null;
  }

  remove() {
    const siblings = this.parentNode?.childNodes;
    if (siblings) siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }
}

class FakeText extends FakeNode {
  constructor(data) {
    super();
    this.nodeType = 3;
    this.data = String(data);
  }

  get textContent() {
    return this.data;
  }
}

export class FakeElement extends FakeNode {
  constructor(tag) {
    super();
    this.nodeType = 1;
    this.localName = tag.toLowerCase();
    this.tagName = tag.toUpperCase();
    this.attrs = new Map();
    this.childNodes = [];
    this.listeners = new Map();
    this.dataset = {};
    const styles = new Map();
    this.style = { setProperty: (k, v) => styles.set(k, String(v)), getPropertyValue: (k) => styles.get(k) ?? '' };
  }

  setAttribute(name, value) {
    this.attrs.set(name, String(value));
  }

  getAttribute(name) {
    return this.attrs.has(name) ? this.attrs.get(name) : null;
  }

  get className() {
    return this.getAttribute('class') || '';
  }

  get classList() {
    const names = () => this.className.split(' ').filter(Boolean);
    const set = (list) => this.setAttribute('class', list.join(' '));
    return {
      contains: (name) => names().includes(name),
      add: (name) => { if (!names().includes(name)) set([...names(), name]); },
      remove: (name) => set(names().filter((n) => n !== name)),
      toggle: (name, on = !names().includes(name)) => {
        set(on ? [...new Set([...names(), name])] : names().filter((n) => n !== name));
        return on;
      },
    };
  }

  appendChild(node) {
    if (node.parentNode) node.remove();
    this.childNodes.push(node);
    node.parentNode = this;
    return node;
  }

  append(...nodes) {
    for (const node of nodes) this.appendChild(node instanceof FakeNode ? node : new FakeText(node));
  }

  replaceChildren(...nodes) {
    for (const child of this.childNodes) child.parentNode = null;
    this.childNodes = [];
    this.append(...nodes);
  }

  get children() {
    return this.childNodes.filter((n) => n instanceof FakeElement);
  }

  get textContent() {
    return this.childNodes.map((n) => n.textContent).join('');
  }

  set textContent(text) {
    this.replaceChildren(String(text));
  }

  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }

  click() {
    for (const fn of this.listeners.get('click') || []) fn({ stopPropagation() {}, preventDefault() {}, altKey: false });
  }

  /** Every element below this one, depth first. */
  * descendants() {
    for (const child of this.children) {
      yield child;
      yield* child.descendants();
    }
  }

  /** Elements below this one with a tag name (`'a'`) or a class (`'.md-code'`). */
  all(selector) {
    const match = selector.startsWith('.')
      ? (el) => el.className.split(' ').includes(selector.slice(1))
      : (el) => el.localName === selector;
    return [...this.descendants()].filter(match);
  }
}

/** Puts `document`, `Node` and `window` on the global object, as dom.js expects them. */
export function installDom() {
  globalThis.Node = FakeNode;
  globalThis.document = {
    createElement: (tag) => new FakeElement(tag),
    createElementNS: (_ns, tag) => new FakeElement(tag),
    createTextNode: (text) => new FakeText(text),
  };
  globalThis.window = { location: { href: 'http://localhost:7070/runs/abc' }, isSecureContext: false };
}
