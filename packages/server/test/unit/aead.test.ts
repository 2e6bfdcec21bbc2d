import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { AeadError, bindingAad, open, seal } from '../../src/crypto/aead.js'
import { Keyring } from '../../src/crypto/keyring.js'

describe('AES-256-GCM boxes', () => {
  const key = randomBytes(32)
  const aad = bindingAad('value', 'idaas_x', 'credential_versions', 'cred_a', 'value', 1)

  it('round-trip with a fresh nonce each time', () => {
    const a = seal(key, Buffer.from('hello'), aad)
    const b = seal(key, Buffer.from('hello'), aad)
    expect(a.equals(b)).toBe(false)
    expect(open(key, a, aad).toString()).toBe('hello')
  })

  it('refuse another binding, another key, and any flipped bit', () => {
    const box = seal(key, Buffer.from('hello'), aad)
    const moved = bindingAad('value', 'idaas_x', 'credential_versions', 'cred_b', 'value', 1)
    expect(() => open(key, box, moved)).toThrow(AeadError)
    expect(() => open(randomBytes(32), box, aad)).toThrow(AeadError)
    for (let i = 0; i < box.length; i++) {
      const bad = Buffer.from(box)
      bad[i]! ^= 1
      expect(() => open(key, bad, aad)).toThrow(AeadError)
    }
    expect(() => open(key, box.subarray(0, 10), aad)).toThrow(/unknown format/)
  })

  it('length-prefix binding parts so that no two bindings collide', () => {
    expect(bindingAad('ab', 'c').equals(bindingAad('a', 'bc'))).toBe(false)
    expect(bindingAad('a', 1).equals(bindingAad('a', '1'))).toBe(true)
  })

  it('keep keys out of inspect and JSON output', () => {
    const root = randomBytes(32)
    const hashKey = randomBytes(32)
    const keyring = new Keyring(root, hashKey)
    const shown = inspect({ keyring }, { depth: 10, showHidden: true }) + JSON.stringify({ keyring })
    for (const k of [root, hashKey]) {
      expect(shown).not.toContain(k.toString('hex'))
      expect(shown).not.toContain(k.toString('base64'))
      expect(shown).not.toContain(inspect(k))
    }
    expect(shown).toContain('[REDACTED]')
  })
})
