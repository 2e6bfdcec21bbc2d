import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/audit/canonical-json.js'
import { canonicalEventJson, eventHash, GENESIS_HASH } from '../../src/audit/chain.js'

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops no value', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: null, y: 'x' }], c: true } })).toBe(
      '{"a":{"c":true,"d":[3,{"y":"x","z":null}]},"b":1}',
    )
  })

  it('is independent of key order and stable through a parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = canonicalJson(value)
        expect(canonicalJson(JSON.parse(once))).toBe(once)
        if (value && typeof value === 'object' && !Array.isArray(value)) {
          const reversed = Object.fromEntries(Object.entries(value).reverse())
          expect(canonicalJson(reversed)).toBe(once)
        }
      }),
    )
  })

  it('writes an audit event exactly as the general canonical JSON does (the appender’s fast path)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 30 })
    const nullable = fc.option(text, { nil: null })
    const scalar = fc.oneof(
      text,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
    )
    const event = fc.record({
      instanceId: text,
      seq: fc.nat(),
      time: fc.nat(),
      actorType: text,
      actorId: text,
      action: text,
      resourceType: nullable,
      resourceId: nullable,
      outcome: fc.constantFrom('success' as const, 'failure' as const, 'denied' as const),
      reason: nullable,
      requestId: nullable,
      sourceIp: nullable,
      userAgent: nullable,
      details: fc.dictionary(text, scalar, { maxKeys: 6 }),
    })
    fc.assert(
      fc.property(event, (e) => {
        expect(canonicalEventJson(e)).toBe(canonicalJson(e))
        expect(canonicalEventJson(e, canonicalJson(e.details))).toBe(canonicalJson(e))
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses what JSON cannot carry', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError)
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError)
  })

  it('makes a hash chain where any change to an event or its predecessor changes the hash', () => {
    const event = {
      instanceId: 'i',
      seq: 1,
      time: 1,
      actorType: 'system',
      actorId: 'bootstrap',
      action: 'instance.create',
      resourceType: null,
      resourceId: null,
      outcome: 'success' as const,
      reason: null,
      requestId: null,
      sourceIp: null,
      userAgent: null,
      details: {},
    }
    const h = eventHash(GENESIS_HASH, event)
    expect(h).toMatch(/^[0-9a-f]{64}$/)
    expect(eventHash(GENESIS_HASH, { ...event, actorId: 'other' })).not.toBe(h)
    expect(eventHash('1'.repeat(64), event)).not.toBe(h)
    expect(eventHash(GENESIS_HASH, { ...event })).toBe(h)
  })
})
