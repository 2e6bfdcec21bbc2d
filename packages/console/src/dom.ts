// DOM building without HTML parsing. The console's CSP enforces Trusted Types with no policy, so
// innerHTML, outerHTML, insertAdjacentHTML, document.write and eval throw: every element is made
// with createElement, every text with a text node, every handler with addEventListener.

/** What `h` accepts as a child: nodes, text, nothing (skipped), or arrays of these. */
export type Child = Node | string | number | null | undefined | false | readonly Child[]

/**
 * Attributes and handlers. `on<event>` takes a listener; `class`, `for` and `aria-*`/`data-*` are
 * attributes; `value`, `checked`, `disabled`, `hidden` and `open` are set as properties; `true`
 * sets an empty attribute; `false`, `null` and `undefined` set nothing.
 */
export type Props = Record<string, unknown>

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'open', 'selected', 'indeterminate'])

/** `h('button', { type: 'button', onclick: go }, 'Sign in')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) {
        if (PROPERTIES.has(key) && value === false) Reflect.set(el, key, false)
        continue
      }
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value as EventListener)
      } else if (PROPERTIES.has(key)) {
        // The defaults too, so that `form.reset()` goes back to them, not to blank.
        if (key === 'checked') Reflect.set(el, 'defaultChecked', value)
        if (key === 'selected') Reflect.set(el, 'defaultSelected', value)
        if (key === 'value' && (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement))
          el.defaultValue = String(value)
        Reflect.set(el, key, value)
      } else {
        el.setAttribute(key, value === true ? '' : String(value))
      }
    }
  }
  append(el, children)
  return el
}

/** Append children, flattening arrays and skipping empty ones. */
export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(parent, child)
    else if (child instanceof Node) parent.appendChild(child)
    else parent.appendChild(document.createTextNode(String(child)))
  }
}

/** Replace every child of `parent` with `children`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild)
  append(parent, children)
}

let idCounter = 0
/** A document-unique id for `<label for>` and `aria-describedby`. */
export function uid(prefix: string): string {
  idCounter += 1
  return `${prefix}-${idCounter}`
}
