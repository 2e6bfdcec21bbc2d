/**
 * Duplicate keys in JSON text. `JSON.parse` keeps the last of `{"a": 1, "a": 2}` without a word,
 * so a body could say one thing to a proxy or an audit reader and another to the server. Both
 * functions take text `JSON.parse` has already accepted, and run in time linear in its length.
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a

/** JSON's whitespace: space, tab, line feed, carriage return. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

/** The index of the quote that closes the string whose opening quote is at `open`. */
function closingQuote(text: string, open: number): number {
  let end = text.indexOf('"', open + 1)
  for (;;) {
    // A quote preceded by an odd run of backslashes is escaped. Each run is walked once, by the
    // quote that ends it, so the walk stays linear.
    let backslashes = 0
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
}

/** The index of the first character at or after `from` that is not whitespace. */
function skipSpace(text: string, from: number): number {
  let i = from
  while (i < text.length && isSpace(text.charCodeAt(i))) i++
  return i
}

/**
 * How many member names the text holds: strings followed by a colon. A body without duplicates
 * holds exactly as many as its parsed objects have keys; the hot path compares the two counts and
 * only a mismatch pays for `findDuplicateKey`. Native `indexOf` does most of the walking.
 */
export function countMemberNames(text: string): number {
  let names = 0
  let open = text.indexOf('"')
  while (open !== -1) {
    const close = closingQuote(text, open)
    const next = skipSpace(text, close + 1)
    if (text.charCodeAt(next) === COLON) names++
    open = text.indexOf('"', next)
  }
  return names
}

interface Frame {
  /** The path of the object or array, as `checkValue` names fields (`a.b[2]`), `''` for the body. */
  path: string
  /** The keys seen so far, for an object; `null` for an array. */
  keys: Set<string> | null
  /** The index of the current element, for an array. */
  index: number
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`)

/**
 * The path of the first key given twice in one object (`value.apiKey`), or `null`. Keys compare
 * as decoded strings: `"a"` and `"\u0061"` are the same key.
 */
export function findDuplicateKey(text: string): string | null {
  const stack: Frame[] = []
  // The path of the value that starts next: the key just read, or the array's current element.
  let valuePath = ''
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const top = stack[stack.length - 1]
    if (c === QUOTE) {
      const close = closingQuote(text, i)
      const next = skipSpace(text, close + 1)
      if (top?.keys != null && text.charCodeAt(next) === COLON) {
        const raw = text.slice(i + 1, close)
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw
        if (top.keys.has(key)) return join(top.path, key)
        top.keys.add(key)
        valuePath = join(top.path, key)
        i = next
      } else {
        i = close
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (c === 0x7b) {
        stack.push({ path: valuePath, keys: new Set(), index: 0 })
      } else {
        // Elements of a top-level array are `body[0]`…, as `checkValue` names them.
        const path = valuePath === '' ? 'body' : valuePath
        stack.push({ path, keys: null, index: 0 })
        valuePath = `${path}[0]`
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop()
    } else if (c === 0x2c /* , */ && top !== undefined && top.keys === null) {
      top.index++
      valuePath = `${top.path}[${top.index}]`
    }
  }
  return null
}
