import { generateKeyPairSync } from 'node:crypto'
import { inspect } from 'node:util'
import { calculateJwkThumbprint } from 'jose'
import { describe, expect, it } from 'vitest'
import { ConfigurationError } from '../../src/errors.js'
import { createProofKey, importProofKey, type ProofAlgorithm } from '../../src/proof/proof-key.js'

describe('proof keys', () => {
  it.each<ProofAlgorithm>(['ES256', 'EdDSA', 'RS256', 'PS256'])(
    'generates an %s key whose thumbprint is the RFC 7638 hash of its public JWK',
    async (alg) => {
      const key = await createProofKey(alg)
      expect(key.alg).toBe(alg)
      expect(key.thumbprint).toBe(await calculateJwkThumbprint(key.publicJwk, 'sha256'))
      expect(key.thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(Object.keys(key.publicJwk).sort()).toEqual(
        {
          ES256: ['crv', 'kty', 'x', 'y'],
          EdDSA: ['crv', 'kty', 'x'],
          RS256: ['e', 'kty', 'n'],
          PS256: ['e', 'kty', 'n'],
        }[alg],
      )
    },
  )

  it('defaults to ES256', async () => {
    expect((await createProofKey()).alg).toBe('ES256')
  })

  it('matches the RFC 7638 §3.1 example thumbprint', async () => {
    // The RFC's RSA key, its private part from RFC 7515 A.2 is not needed for the hash.
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
    }
    expect(await calculateJwkThumbprint(jwk, 'sha256')).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  })

  it('imports a PEM or a private JWK, choosing the algorithm from the key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const ed = generateKeyPairSync('ed25519').privateKey
    const pem = (k: typeof rsa) => k.export({ type: 'pkcs8', format: 'pem' }) as string
    expect((await importProofKey(pem(rsa))).alg).toBe('RS256')
    expect((await importProofKey(pem(rsa), { alg: 'PS256' })).alg).toBe('PS256')
    expect((await importProofKey(rsa.export({ type: 'pkcs1', format: 'pem' }) as string)).alg).toBe('RS256')
    expect((await importProofKey(pem(ec))).alg).toBe('ES256')
    expect((await importProofKey(ec.export({ type: 'sec1', format: 'pem' }) as string)).alg).toBe('ES256')
    expect((await importProofKey(pem(ed))).alg).toBe('EdDSA')
    expect((await importProofKey(ed.export({ format: 'jwk' }))).alg).toBe('EdDSA')
    expect((await importProofKey(ec.export({ format: 'jwk' }))).alg).toBe('ES256')
    expect((await importProofKey(ed)).alg).toBe('EdDSA')
    const fromPem = await importProofKey(pem(ec))
    const fromJwk = await importProofKey(ec.export({ format: 'jwk' }))
    expect(fromPem.thumbprint).toBe(fromJwk.thumbprint)
  })

  it('refuses keys a proof cannot be signed with, never quoting them', async () => {
    const refused = [
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
      generateKeyPairSync('ed448').privateKey.export({ type: 'pkcs8', format: 'pem' }),
      generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }),
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
      'not a key',
      { kty: 'oct', k: 'c2VjcmV0' },
    ]
    for (const input of refused) {
      const error = await importProofKey(input as string).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigurationError)
      const text = `${String(error)} ${inspect(error, { showHidden: true })}`
      if (typeof input === 'string') expect(text).not.toContain(input.split('\n')[1] ?? input)
    }
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    await expect(importProofKey(ec.export({ format: 'jwk' }), { alg: 'RS256' })).rejects.toThrow(
      ConfigurationError,
    )
  })

  it('never prints its private key', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const jwk = ec.export({ format: 'jwk' })
    const pem = ec.export({ type: 'pkcs8', format: 'pem' }) as string
    const key = await importProofKey(pem)
    const printed = [
      inspect(key),
      inspect(key, { showHidden: true, depth: Number.POSITIVE_INFINITY, getters: true }),
      inspect(key, { customInspect: false, showHidden: true, depth: Number.POSITIVE_INFINITY }),
      JSON.stringify(key),
      JSON.stringify({ ...key }),
      String(key),
    ].join('\n')
    expect(printed).toContain('[REDACTED]')
    expect(printed).toContain(key.thumbprint)
    expect(printed).not.toContain(jwk.d)
    expect(printed).not.toContain(pem.split('\n')[1])
    expect(JSON.parse(JSON.stringify(key))).toEqual({
      alg: 'ES256',
      thumbprint: key.thumbprint,
      publicJwk: key.publicJwk,
      privateKey: '[REDACTED]',
    })
  })
})
