import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/audit/canonical-json.js'
import { eventHash, GENESIS_HASH } from '../../src/audit/chain.js'

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
