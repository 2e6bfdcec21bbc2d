// Text from the server as a person should read it. Anyone can plant characters that change what a
// page shows without being seen themselves: a right-to-left override (U+202E) makes
// "4711 tnedicni" read as "incident 1174", and an unauthenticated token request's client_id lands
// in the audit as an actor. The CLI escapes the same characters in its tables
// (packages/cli/src/safe-text.ts, table.ts); here each one is shown as its escape, marked.

import { type Child, h } from './dom.js'

/**
 * The characters shown escaped: the C0 controls (a newline included), DEL and the C1 controls,
 * the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line
 * and paragraph separators.
 */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/
/** The same, to find each one (global: `replace` and `matchAll` start from index 0 with it). */
const ESCAPED = new RegExp(HIDDEN.source, 'g')

/** A character's escape as the CLI writes it: `\n`, `\r`, `\t`, `\x1b` (controls), `\u202e` (the rest). */
export function escapeOf(char: string): string {
  if (char === '\n') return '\\n'
  if (char === '\r') return '\\r'
  if (char === '\t') return '\\t'
  const code = char.charCodeAt(0)
  const hex = code.toString(16)
  return code < 0xa0 ? `\\x${hex.padStart(2, '0')}` : `\\u${hex.padStart(4, '0')}`
}

/** Whether `text` holds a character that `visible` would escape. */
export function hasHiddenCharacters(text: string): boolean {
  return HIDDEN.test(text)
}

/**
 * `text` with each such character replaced by its escape, unmarked: for where only a string can
 * go (an `<option>`, an attribute, the page title).
 */
export function visibleString(text: string): string {
  return text.replace(ESCAPED, escapeOf)
}

/**
 * `text` for the page: as it is when it holds none of the characters above, else a `<bdi>` (its
 * direction cannot spill onto what follows) in which each one is its escape in a
 * `<span class="escaped">`, styled apart from the text so `\u202e` typed as six characters is told
 * from the character. Nothing is dropped.
 *
 * @example
 * table('Audit events', [{ header: 'Reason', cell: (e) => visible(e.reason ?? '') }], events)
 */
export function visible(text: string): Child {
  if (!hasHiddenCharacters(text)) return text
  const parts: Child[] = []
  let last = 0
  for (const match of text.matchAll(ESCAPED)) {
    if (match.index > last) parts.push(text.slice(last, match.index))
    const code = `U+${match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`
    parts.push(
      h(
        'span',
        { class: 'escaped', title: `${code}: an invisible control character, shown escaped` },
        escapeOf(match[0]),
      ),
    )
    last = match.index + match[0].length
  }
  if (last < text.length) parts.push(text.slice(last))
  return h('bdi', { class: 'visible-text' }, parts)
}

/**
 * `child` with every string in it (arrays walked) passed through `visible`: for the cells and
 * facts the shared components show, whatever the page put in them. Nodes are left as they are
 * (a page builds those from its own text, or with `visible`).
 */
export function visibleChild(child: Child): Child {
  if (typeof child === 'string') return visible(child)
  if (Array.isArray(child)) return (child as readonly Child[]).map(visibleChild)
  return child
}
