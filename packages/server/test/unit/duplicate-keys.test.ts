import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { countMemberNames, findDuplicateKey } from '../../src/http/duplicate-keys.js'
import { checkJsonBody } from '../../src/http/json-body.js'

/** Keys with quotes, backslashes, colons, braces and non-ASCII: what a naive scanner trips on. */
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('"', '\\', '\\"', ':', '{', '}', '[', ']', ',', 'é', '😀', ' '),
)
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1.5, 1e21),
    fc.string({ maxLength: 8 }),
    fc.constantFrom('\\', '"', '":', '\\":'),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
})).value

/** Total keys of the parsed value, as the body check counts them. */
function keysIn(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + keysIn(v), 0)
  if (typeof value !== 'object' || value === null) return 0
  return Object.entries(value).reduce((n, [, v]) => n + 1 + keysIn(v), 0)
}

/** `\u0061`-style escapes for every UTF-16 code unit: the same key, spelled differently. */
const escaped = (k: string) =>
  `"${Array.from({ length: k.length }, (_, i) => `\\u${k.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`

/**
 * Serializes like JSON.stringify, but the `target`-th non-empty object (in text order) repeats its
 * first key at its end; returns the text and the path of that key, or null when there is no such
 * object.
 */
function withDuplicate(value: unknown, target: number, spelling: 'plain' | 'escaped') {
  let seen = 0
  let found: string | null = null
  const join = (path: string, k: string) => (path === '' ? k : `${path}.${k}`)
  const write = (v: unknown, path: string): string => {
    if (Array.isArray(v)) {
      const base = path === '' ? 'body' : path
      return `[${v.map((item, i) => write(item, `${base}[${i}]`)).join(',')}]`
    }
    if (typeof v !== 'object' || v === null) return JSON.stringify(v)
    const entries = Object.entries(v)
    const mine = entries.length > 0 && seen++ === target
    const members = entries.map(([k, item]) => `${JSON.stringify(k)} : ${write(item, join(path, k))}`)
    if (mine) {
      const first = entries[0]![0]
      found = join(path, first)
      members.push(`${spelling === 'plain' ? JSON.stringify(first) : escaped(first)}:null`)
    }
    return `{${members.join(',')}}`
  }
  const text = write(value, '')
  return { text, path: found as string | null }
}

describe('duplicate JSON keys', () => {
  it('finds none, and counts exactly the parsed keys, in anything JSON.stringify writes', () => {
    fc.assert(
      fc.property(json, fc.constantFrom(undefined, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent)
        expect(findDuplicateKey(text)).toBeNull()
        expect(countMemberNames(text)).toBe(keysIn(JSON.parse(text)))
      }),
      { numRuns: 2000 },
    )
  })

  it('names the path of a key repeated in any object at any depth, however the repeat is spelled', () => {
    fc.assert(
      fc.property(json, fc.nat(20), fc.constantFrom('plain', 'escaped'), (value, target, spelling) => {
        const { text, path } = withDuplicate(value, target, spelling as 'plain' | 'escaped')
        JSON.parse(text)
        expect(findDuplicateKey(text)).toBe(path)
        if (path !== null) expect(countMemberNames(text)).toBeGreaterThan(keysIn(JSON.parse(text)))
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses a body with a repeated key naming it, and passes the same body without the repeat', () => {
    const twice = '{"value": {"apiKey": "a", "apiKey": "b"}, "credentialType": "api_key"}'
    expect(checkJsonBody(twice, JSON.parse(twice))).toMatchObject({
      status: 400,
      code: 'InvalidParameter.Body',
      field: 'value.apiKey',
      rule: 'is given more than once in one object',
    })
    const top = '[{"a": 1}, {"b": [{"c": 1, "\\u0063": 2}]}]'
    expect(checkJsonBody(top, JSON.parse(top))?.field).toBe('body[1].b[0].c')
    const once =
      '{"value": {"apiKey": "a"}, "note": "\\"apiKey\\": x", "list": [{"apiKey": 1}, {"apiKey": 2}]}'
    expect(checkJsonBody(once, JSON.parse(once))).toBeNull()
  })

  it('stays linear on text built to make a scanner backtrack', () => {
    // 120,000 backslashes before one closing quote, then 20,000 strings holding an escaped quote.
    const strings = Array.from({ length: 20_000 }, (_, i) => `{"a${i}":"\\""}`).join(',')
    const many = `{"k":"${'\\\\'.repeat(60_000)}","x":[${strings}]}`
    const started = performance.now()
    expect(checkJsonBody(many, JSON.parse(many))).toBeNull()
    expect(performance.now() - started).toBeLessThan(500)
  })
})
