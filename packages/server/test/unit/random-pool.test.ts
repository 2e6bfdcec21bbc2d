import { describe, expect, it } from 'vitest'
import { randomBase64url } from '../../src/crypto/random-pool.js'

describe('random identifiers from the pool', () => {
  it('are never repeated, across many refills of the pool, and have the length asked for', () => {
    const seen = new Set<string>()
    // 12 and 16 bytes, as request ids and jtis take them: 20,000 of them go through the 4 KiB
    // pool about 70 times, and straddle its end at every offset.
    for (let i = 0; i < 10_000; i++) {
      for (const bytes of [12, 16]) {
        const id = randomBase64url(bytes)
        expect(Buffer.from(id, 'base64url')).toHaveLength(bytes)
        seen.add(id)
      }
    }
    expect(seen.size).toBe(20_000)
  })

  it('refuses a length it does not serve', () => {
    for (const bytes of [0, -1, 65, 1.5, Number.NaN]) {
      expect(() => randomBase64url(bytes)).toThrow(RangeError)
    }
  })
})
