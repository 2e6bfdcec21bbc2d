import { describe, expect, it, vi } from 'vitest'
import { randomBase64url } from '../../src/crypto/random-pool.js'

// Every fill of the pool, recorded, so that each identifier can be traced to the bytes it took.
const { fills } = vi.hoisted(() => ({ fills: [] as Buffer[] }))
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>()
  return {
    ...real,
    randomFillSync: (buffer: Buffer) => {
      real.randomFillSync(buffer)
      fills.push(Buffer.from(buffer))
      return buffer
    },
  }
})

describe('random identifiers from the pool', () => {
  it('take each byte of the generator once, in order, across many refills, at the length asked for', () => {
    const sizes = [12, 16, 5, 64, 1]
    const ids = Array.from({ length: 10_000 }, (_, i) =>
      Buffer.from(randomBase64url(sizes[i % sizes.length]!), 'base64url'),
    )
    expect(fills.length).toBeGreaterThan(30)
    // Walk the fills: each id is the next bytes of the current fill, or the first of the next fill
    // when too few are left (those are never used). No byte twice, none skipped within a fill.
    let fill = 0
    let offset = 0
    for (const [i, id] of ids.entries()) {
      expect(id).toHaveLength(sizes[i % sizes.length]!)
      if (offset + id.length > fills[fill]!.length) {
        fill++
        offset = 0
      }
      expect(id.equals(fills[fill]!.subarray(offset, offset + id.length)), `id ${i}`).toBe(true)
      offset += id.length
    }
    expect(fill).toBe(fills.length - 1)
  })

  it('refuses a length it does not serve', () => {
    for (const bytes of [0, -1, 65, 1.5, Number.NaN]) {
      expect(() => randomBase64url(bytes)).toThrow(RangeError)
    }
  })
})
