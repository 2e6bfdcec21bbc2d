import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hasEmptyOrDotSegment, isIdentifier, isIdentifierPrefix } from '../src/identifiers.js'

/** The grammar in plain code, to check the patterns against. */
function reference(value: string): boolean {
  const segments = value.split('/')
  return (
    value.length >= 1 &&
    value.length <= 128 &&
    /^[A-Za-z0-9]/.test(value) &&
    segments.every((s) => s !== '' && s !== '.' && s !== '..' && /^[A-Za-z0-9._:-]+$/.test(s))
  )
}

/** Short strings over the characters that matter: dots, slashes, a letter, an allowed sign, one refused. */
const names = fc.string({ unit: fc.constantFrom('a', '.', '/', '_', '-', '@', '0'), maxLength: 12 })

describe('the identifier grammar', () => {
  it('accepts exactly the names whose segments are non-empty, not "." or "..", of the allowed characters', () => {
    fc.assert(
      fc.property(names, (name) => {
        expect(isIdentifier(name)).toBe(reference(name))
      }),
      { numRuns: 20_000 },
    )
  })

  it('takes as a prefix exactly what some identifier starts with', () => {
    fc.assert(
      fc.property(names, (prefix) => {
        // Any start of an identifier can be finished with one letter: the letter completes its
        // last segment (`a/` + `a`, `a/..` + `a`), so this is the definition, decidable.
        expect(isIdentifierPrefix(prefix)).toBe(prefix !== '' && reference(`${prefix}a`))
      }),
      { numRuns: 20_000 },
    )
  })

  it('sees an empty, "." or ".." segment in any name the grammar refuses for its segments', () => {
    fc.assert(
      fc.property(names, (name) => {
        const segments = name.split('/')
        expect(hasEmptyOrDotSegment(name)).toBe(segments.some((s) => s === '' || s === '.' || s === '..'))
      }),
    )
    for (const name of ['a/../../b', 'a//b', 'a/.', '/a', 'a/']) expect(hasEmptyOrDotSegment(name)).toBe(true)
    for (const name of ['DB-SERVER/admin', 'a/.cache', 'svc@corp/x'])
      expect(hasEmptyOrDotSegment(name)).toBe(false)
  })
})
