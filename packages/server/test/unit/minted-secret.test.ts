import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  hashesEqual,
  isWellFormedSecret,
  keyedHash,
  mintSecret,
  SECRET_PREFIX,
  secretHint,
} from '../../src/crypto/minted-secret.js'

describe('minted secrets', () => {
  it('carry their prefix, 256 bits in base62 and a checksum', () => {
    const secret = mintSecret(SECRET_PREFIX.clientSecret)
    expect(secret).toMatch(/^srcs_[0-9A-Za-z]{49}$/)
    expect(isWellFormedSecret(secret, SECRET_PREFIX.clientSecret)).toBe(true)
    expect(isWellFormedSecret(secret, SECRET_PREFIX.adminToken)).toBe(false)
    expect(new Set(Array.from({ length: 200 }, () => mintSecret('srat_'))).size).toBe(200)
  })

  it('reject any single-character change through the checksum', () => {
    const secret = mintSecret(SECRET_PREFIX.adminToken)
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: secret.length - 1 }),
        fc.constantFrom(...'0123456789abcXYZ'),
        (at, ch) => {
          fc.pre(secret[at] !== ch)
          const changed = secret.slice(0, at) + ch + secret.slice(at + 1)
          expect(isWellFormedSecret(changed, SECRET_PREFIX.adminToken)).toBe(false)
        },
      ),
    )
    expect(isWellFormedSecret(`${secret}x`, SECRET_PREFIX.adminToken)).toBe(false)
    expect(isWellFormedSecret(secret.replace(/.$/, '!'), SECRET_PREFIX.adminToken)).toBe(false)
  })

  it('are stored as keyed hashes compared in constant time', () => {
    const key = Buffer.alloc(32, 7)
    const secret = mintSecret('srat_')
    const hash = keyedHash(key, secret)
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    expect(hash).not.toContain(secret)
    expect(keyedHash(key, secret)).toBe(hash)
    expect(keyedHash(Buffer.alloc(32, 8), secret)).not.toBe(hash)
    expect(hashesEqual(hash, keyedHash(key, secret))).toBe(true)
    expect(hashesEqual(hash, keyedHash(key, mintSecret('srat_')))).toBe(false)
    expect(hashesEqual(hash, 'abcd')).toBe(false)
    expect(secretHint(secret)).toBe(`…${secret.slice(-4)}`)
  })
})
