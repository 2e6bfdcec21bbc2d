/**
 * Characters that change what a terminal shows without being seen themselves: the bidirectional
 * controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) reorder a line, so that
 * `exe.txt` reads as `txt.exe`. Anyone can plant them in what the CLI prints, e.g. in the user
 * agent or client id of an audit event.
 */
const BIDI = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069'

/** The bidi controls and the line and paragraph separators, for table cells and error lines. */
export const INVISIBLE_CONTROLS = new RegExp(`[${BIDI}\\u2028\\u2029]`, 'g')

/**
 * What `JSON.stringify` leaves raw and a terminal acts on: U+007F, the C1 controls
 * (U+0080–U+009F), the line and paragraph separators and the bidi controls. (It escapes only
 * U+0000–U+001F.)
 */
const JSON_UNSAFE = new RegExp(`[\\u007f-\\u009f\\u2028\\u2029${BIDI}]`, 'g')

/** `\u202e`: a character as a visible JSON/JavaScript escape. */
export function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/**
 * `JSON.stringify(value, null, indent)` with the characters above written as `\uXXXX` escapes:
 * the same JSON to any parser, and nothing a terminal acts on. Such characters only ever appear
 * inside JSON strings, where the escape means the same. Every JSON the CLI prints goes through
 * here.
 */
export function toJson(value: unknown, indent?: number): string {
  return escapeJsonText(JSON.stringify(value, null, indent))
}

/** Escapes the characters above in serialised JSON. */
export function escapeJsonText(json: string): string {
  return json.replace(JSON_UNSAFE, unicodeEscape)
}
