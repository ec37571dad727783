/**
 * Tiny DOM helpers instead of a framework: `h()` / `s()` build HTML / SVG elements, and `morph()`
 * patches the page in place from a freshly built tree. Views rebuild their whole tree on every
 * snapshot (simple, always consistent with the data); morphing keeps focus, scroll and running
 * charts, and touches only the text and attributes that changed, so a screen that is looked at all
 * day does not flicker once a second.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type AttrValue = string | number | boolean | null | undefined;
export type Handlers = Partial<Record<keyof HTMLElementEventMap, (event: Event) => void>>;
export type Attrs = { [name: string]: AttrValue | Handlers; on?: Handlers };

const SVG_NS = 'http://www.w3.org/2000/svg';

// Handlers live beside the element, not in listeners added per render: morph() swaps them in one
// step, and an element kept by morph() never carries the handler of a stale render.
const handlers = new WeakMap<Element, Handlers>();
const attached = new WeakMap<Element, Set<string>>();

function setHandlers(el: Element, next: Handlers | undefined): void {
  if (!next && !handlers.has(el)) return;
  handlers.set(el, next ?? {});
  let types = attached.get(el);
  if (!types) attached.set(el, (types = new Set()));
  for (const type of Object.keys(next ?? {})) {
    if (types.has(type)) continue;
    types.add(type);
    el.addEventListener(type, (event) => handlers.get(el)?.[type as keyof HTMLElementEventMap]?.(event));
  }
}

function build<E extends Element>(el: E, attrs: Attrs | null | undefined, children: readonly Child[]): E {
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (name === 'on' || typeof value === 'object') continue; // handlers, or null
      if (value === undefined || value === false) continue;
      el.setAttribute(name, value === true ? '' : String(value));
    }
    setHandlers(el, attrs.on);
  }
  append(el, children);
  return el;
}

function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (typeof child === 'string' || typeof child === 'number') {
      parent.appendChild(document.createTextNode(String(child)));
    } else if (child instanceof Node) parent.appendChild(child);
    else append(parent, child);
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  return build(document.createElement(tag), attrs, children);
}

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Turns `from` into `to` in place; returns the node now in the document. */
export function morph(from: Node, to: Node): Node {
  if (from.nodeType !== to.nodeType || from.nodeName !== to.nodeName) {
    from.parentNode?.replaceChild(to, from);
    return to;
  }
  if (from.nodeType === Node.TEXT_NODE || from.nodeType === Node.COMMENT_NODE) {
    if (from.nodeValue !== to.nodeValue) from.nodeValue = to.nodeValue;
    return from;
  }
  if (from instanceof Element && to instanceof Element) {
    if (from.namespaceURI !== to.namespaceURI) {
      from.replaceWith(to);
      return to;
    }
    syncAttributes(from, to);
    setHandlers(from, handlers.get(to));
    // `data-keep`: the element's content belongs to someone else (a uPlot chart): leave it alone.
    if (!from.hasAttribute('data-keep')) morphChildren(from, to);
  }
  return from;
}

export function morphChildren(from: Node, to: Node): void {
  const old = [...from.childNodes];
  const next = [...to.childNodes];
  next.forEach((node, i) => {
    const current = old[i];
    if (current) morph(current, node);
    else from.appendChild(node);
  });
  for (const extra of old.slice(next.length)) from.removeChild(extra);
}

function syncAttributes(from: Element, to: Element): void {
  for (const { name } of [...from.attributes]) if (!to.hasAttribute(name)) from.removeAttribute(name);
  for (const { name, value } of [...to.attributes]) {
    if (from.getAttribute(name) !== value) from.setAttribute(name, value);
  }
  // Form fields keep what the person typed: their `value` property is not an attribute.
}
