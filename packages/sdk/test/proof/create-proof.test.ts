import { createHash } from 'node:crypto'
import { compactVerify, decodeJwt, decodeProtectedHeader, EmbeddedJWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { createProof } from '../../src/proof/create-proof.js'
import { createProofKey } from '../../src/proof/proof-key.js'
import { normalizedHtu } from '../../src/proof/request-target.js'
import { NOW, NOW_S, URL_ } from './support.js'

describe('createProof', () => {
  it('makes an RFC 9449 §4.2 proof: dpop+jwt, alg, public jwk; jti, htm, htu, iat, ath', async () => {
    const key = await createProofKey('ES256')
    const proof = await createProof(key, {
      method: 'get',
      url: `${URL_}?secret=1#frag`,
      accessToken: 'token-abc',
      now: NOW,
    })
    const header = decodeProtectedHeader(proof)
    expect(header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })
    const claims = decodeJwt(proof)
    expect(claims).toEqual({
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      htm: 'GET',
      htu: URL_,
      iat: NOW_S,
      ath: createHash('sha256').update('token-abc').digest('base64url'),
    })
    await expect(compactVerify(proof, EmbeddedJWK)).resolves.toBeDefined()
  })

  it('has no ath without a token, and carries the nonce when given', async () => {
    const key = await createProofKey('EdDSA')
    const claims = decodeJwt(await createProof(key, { method: 'POST', url: URL_, nonce: 'n-1', now: NOW }))
    expect(claims.ath).toBeUndefined()
    expect(claims.nonce).toBe('n-1')
  })

  it('uses a new jti of 128 random bits every time', async () => {
    const key = await createProofKey('EdDSA')
    const jtis = await Promise.all(
      Array.from(
        { length: 200 },
        async () => decodeJwt(await createProof(key, { method: 'GET', url: URL_ })).jti,
      ),
    )
    expect(new Set(jtis).size).toBe(200)
    for (const jti of jtis) expect(Buffer.from(String(jti), 'base64url')).toHaveLength(16)
  })

  it('signs with RSA keys too', async () => {
    const key = await createProofKey('PS256')
    const proof = await createProof(key, { method: 'GET', url: URL_ })
    expect(decodeProtectedHeader(proof).alg).toBe('PS256')
    await expect(compactVerify(proof, EmbeddedJWK)).resolves.toBeDefined()
  })

  it.each([
    ['HTTPS://API.Example:443/v1/./x/../things?q#f', 'https://api.example/v1/things'],
    ['http://api.example:80', 'http://api.example/'],
    ['http://api.example:8080/a', 'http://api.example:8080/a'],
    ['https://user:pw@api.example/a', 'https://api.example/a'],
    ['https://api.example/%7euser/%2f%c3%a9', 'https://api.example/~user/%2F%C3%A9'],
  ])('normalises htu %s → %s (RFC 9449 §4.3, RFC 3986 §6.2)', (url, htu) => {
    expect(normalizedHtu(url)).toBe(htu)
  })

  it('refuses a method that is no HTTP token and a URL that is not absolute http(s)', async () => {
    const key = await createProofKey()
    for (const [method, url] of [
      ['GET /', URL_],
      ['', URL_],
      ['GET', '/relative'],
      ['GET', 'ftp://api.example/x'],
      ['GET', 'not a url'],
    ] as const) {
      await expect(createProof(key, { method, url })).rejects.toMatchObject({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_VALUE',
      })
    }
    await expect(createProof({ ...key } as never, { method: 'GET', url: URL_ })).rejects.toThrow(TypeError)
  })
})
