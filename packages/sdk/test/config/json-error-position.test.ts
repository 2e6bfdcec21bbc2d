import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { jsonErrorPosition } from '../../src/config/json-error-position.js'

describe('jsonErrorPosition', () => {
  it.each([
    ['{"a": 1,}', 1, 9, 'expected a double-quoted property name'],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, "expected ',' or '}' after a property value"],
    ['{"a" 1}', 1, 6, "expected ':' after a property name"],
    ['{"a": tru}', 1, 7, 'unexpected character where a value was expected'],
    ['{"a": "x', 1, 9, 'unterminated string'],
    ['{"a": "\\q"}', 1, 8, 'invalid escape in a string'],
    ['{"a": 01}', 1, 8, "expected ',' or '}' after a property value"],
    ['{"a": 1.}', 1, 9, 'invalid number: digits expected after the decimal point'],
    ['[1 2]', 1, 4, "expected ',' or ']' after an array element"],
    ['{} x', 1, 4, 'unexpected character after the end of the JSON value'],
    ['', 1, 1, 'unexpected end of input where a value was expected'],
  ])('finds the error in %j', (text, line, column, problem) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError)
    expect(jsonErrorPosition(text)).toEqual({ line, column, problem })
  })

  it('agrees with JSON.parse on which texts are valid', () => {
    const mutated = fc
      .tuple(fc.jsonValue(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', 'x', '\\', '\n', '0'))
      .map(([value, at, insert]) => {
        const text = JSON.stringify(value, null, 1) ?? 'null'
        const cut = at % (text.length + 1)
        return `${text.slice(0, cut)}${insert}${text.slice(cut + (insert === '' ? 1 : 0))}`
      })
    fc.assert(
      fc.property(mutated, (text) => {
        let valid = true
        try {
          JSON.parse(text)
        } catch {
          valid = false
        }
        expect(jsonErrorPosition(text) === undefined).toBe(valid)
      }),
      { numRuns: 2000 },
    )
  })

  it('gives up quietly on absurd nesting', () => {
    expect(jsonErrorPosition(`${'['.repeat(100_000)}x`)).toBeUndefined()
  })
})
