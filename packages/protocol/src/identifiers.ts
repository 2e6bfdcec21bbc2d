import { Type } from '@sinclair/typebox'

// The identifier grammar of credentials and credential providers. An identifier is one or more
// segments separated by single slashes (`team/db/password`). A segment is letters, digits and
// `._:-`; the first segment starts with a letter or digit; no segment is empty, `.` or `..`.
// Identifiers read like paths and prefix grants match them as text (`team/` grants
// `team/db/password`), so a segment that would mean "here" or "up" to a reader, a shell or a URL
// resolver (`team/../other/key`) is refused rather than matched under a prefix it escapes.

const SEGMENT_CHARS = '[A-Za-z0-9._:-]'
/** A segment after a slash: not `.` or `..` (a lookahead on what follows the dots), not empty. */
const LATER_SEGMENT = `(?!\\.\\.?(?:/|$))${SEGMENT_CHARS}+`

/** Source of the identifier pattern (anchored). */
export const IDENTIFIER_PATTERN = `^[A-Za-z0-9]${SEGMENT_CHARS}*(?:/${LATER_SEGMENT})*$`

/**
 * Source of the identifier-prefix pattern (anchored): the start of some identifier. Whole
 * segments follow the grammar; the last, unfinished one may be empty (`team/`) or any start of a
 * segment (`team/.c` can start `team/.cache`), but `team/../` and `team//` start no identifier.
 */
export const IDENTIFIER_PREFIX_PATTERN = `^[A-Za-z0-9]${SEGMENT_CHARS}*(?:/${LATER_SEGMENT}(?=/))*(?:/${SEGMENT_CHARS}*)?$`

export const IDENTIFIER_RULE =
  'must be segments of letters, digits and ._:- separated by single slashes, starting with a letter or digit, with no empty, "." or ".." segment'
export const IDENTIFIER_PREFIX_RULE =
  'must be the start of an identifier: segments of letters, digits and ._:- separated by single slashes, starting with a letter or digit, with no empty, "." or ".." segment before the last slash'

const identifierRegExp = new RegExp(IDENTIFIER_PATTERN)
const prefixRegExp = new RegExp(IDENTIFIER_PREFIX_PATTERN)

/** Whether `value` is an identifier (at most 128 characters, and the grammar above). */
export function isIdentifier(value: string): boolean {
  return value.length <= 128 && identifierRegExp.test(value)
}

const EMPTY_OR_DOT_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/

/**
 * Whether a slash-separated name has an empty, `.` or `..` segment: the part of the grammar that
 * matters to prefix matching, and holds for account names (`TARGET/account`) too.
 */
export function hasEmptyOrDotSegment(value: string): boolean {
  return EMPTY_OR_DOT_SEGMENT.test(value)
}

/** Whether `value` can start an identifier: what a prefix grant or `identifierPrefix` may hold. */
export function isIdentifierPrefix(value: string): boolean {
  return value.length <= 128 && prefixRegExp.test(value)
}

/**
 * The schema of an identifier. `x-rule` is the rule the server names when the pattern fails,
 * instead of the pattern itself.
 */
export const Identifier = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: IDENTIFIER_PATTERN,
  'x-rule': IDENTIFIER_RULE,
})

/** The start of an identifier (`identifierPrefix`). */
export const IdentifierPrefix = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: IDENTIFIER_PREFIX_PATTERN,
  'x-rule': IDENTIFIER_PREFIX_RULE,
})

/** A resource named by its id (`cred_…`, `atp_…`) or its identifier, in a path or a field. */
export const idOrIdentifier = (idPrefix: string, description: string) =>
  Type.String({
    minLength: 1,
    maxLength: 128,
    pattern: `^(?:${idPrefix}_[0-9a-z]{26}|${IDENTIFIER_PATTERN.slice(1, -1)})$`,
    'x-rule': `must be an id (${idPrefix}_…) or an identifier: ${IDENTIFIER_RULE.replace(/^must be /, '')}`,
    description,
  })
