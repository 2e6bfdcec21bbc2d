import { generateKeyPairSync } from 'node:crypto'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { calculateJwkThumbprint } from 'jose'
import { describe, expect, it } from 'vitest'
import { InvalidParameter } from '../../../src/errors.js'
import { confirmationFor } from '../../../src/oauth/proof-of-possession/confirmation-for.js'

describe('confirmationFor', () => {
  it.each([
    ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['Ed25519', () => generateKeyPairSync('ed25519')],
    ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ])('binds to a %s public key by its RFC 7638 thumbprint, from a JWK or a PEM', async (_, generate) => {
    const { publicKey } = generate()
    const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>
    const fromJwk = confirmationFor({ jwk: { ...jwk, kid: 'mine', use: 'sig' } })
    const fromPem = confirmationFor({ pem: publicKey.export({ type: 'spki', format: 'pem' }) as string })
    expect(fromJwk.cnf.jkt).toBe(await calculateJwkThumbprint(jwk as never, 'sha256'))
    expect(fromPem).toEqual(fromJwk)
    expect(fromJwk.publicJwk).toEqual(jwk) // the public members only: no kid, alg or use
  })

  it('refuses private, symmetric, weak and unsupported keys, naming the field and never the key', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const privateJwk = ec.privateKey.export({ format: 'jwk' }) as Record<string, unknown>
    const privatePem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    const inputs: unknown[] = [
      { jwk: privateJwk },
      { pem: privatePem },
      { jwk: { kty: 'oct', k: 'c2VjcmV0LXNlY3JldA' } },
      { jwk: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }) },
      { jwk: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) },
      { pem: generateKeyPairSync('ed448').publicKey.export({ type: 'spki', format: 'pem' }) },
      {
        pem: generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey.export({
          type: 'spki',
          format: 'pem',
        }),
      },
      { pem: generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }) },
      { jwk: { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' } },
      { jwk: [] },
      { jwk: null },
      { pem: 42 },
      { pem: 'x'.repeat(20_000) },
      { jwk: ec.publicKey.export({ format: 'jwk' }), pem: 'x' },
      {},
      null,
      'a string',
    ]
    for (const input of inputs) {
      let error: unknown
      try {
        confirmationFor(input as never)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidParameter)
      expect((error as InvalidParameter).field).toMatch(/^publicKey/)
      const text = `${(error as Error).message} ${inspect(error, { showHidden: true })}`
      expect(text).not.toContain(String(privateJwk.d))
      expect(text).not.toContain(privatePem.split('\n')[1])
    }
    expect(() => confirmationFor({ jwk: privateJwk }, 'dpop_jkt_key')).toThrow(/^dpop_jkt_key /)
  })

  it('throws nothing but InvalidParameter for random input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ jwk: fc.anything() }),
          fc.record({ pem: fc.anything() }),
          fc.record({
            jwk: fc.record(
              {
                kty: fc.constantFrom('EC', 'OKP', 'RSA', 'oct'),
                crv: fc.string(),
                x: fc.string(),
                y: fc.string(),
                n: fc.string(),
                e: fc.string(),
              },
              { requiredKeys: ['kty'] },
            ),
          }),
          fc.anything(),
        ),
        (input) => {
          try {
            confirmationFor(input as never)
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidParameter)
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})
